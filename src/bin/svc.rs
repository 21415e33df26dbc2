//! The `svc` program; see [`daemontools::supervise::svc`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::svc::main()
}
