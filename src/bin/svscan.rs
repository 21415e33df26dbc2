//! The `svscan` program; see [`daemontools::supervise::svscan`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::svscan::main()
}
