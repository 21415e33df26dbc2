//! The `readproctitle` program; see [`daemontools::supervise::readproctitle`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::readproctitle::main()
}
