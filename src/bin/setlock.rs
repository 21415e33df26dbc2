//! `setlock`: see [`daemontools::supervise::setlock`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::setlock::main()
}
