//! The `supervise` program; see [`daemontools::supervise::supervise`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::supervise::main()
}
