//! `svlog`: see `daemontools::svlog`.
fn main() -> std::process::ExitCode {
    daemontools::svlog::main()
}
