//! `setuidgid`: see [`daemontools::chain::setuidgid`].
fn main() -> std::process::ExitCode {
    daemontools::chain::setuidgid::main()
}
