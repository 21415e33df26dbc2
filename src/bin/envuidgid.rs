//! `envuidgid`: see [`daemontools::chain::envuidgid`].
fn main() -> std::process::ExitCode {
    daemontools::chain::envuidgid::main()
}
