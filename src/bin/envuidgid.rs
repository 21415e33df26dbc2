//! `envuidgid`: see [`daemontools::supervise::envuidgid`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::envuidgid::main()
}
