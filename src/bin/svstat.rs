//! The `svstat` program; see [`daemontools::supervise::svstat`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::svstat::main()
}
