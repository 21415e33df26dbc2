//! `setuidgid`: see [`daemontools::supervise::setuidgid`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::setuidgid::main()
}
