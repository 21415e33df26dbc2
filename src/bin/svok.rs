//! The `svok` program; see [`daemontools::supervise::svok`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::svok::main()
}
