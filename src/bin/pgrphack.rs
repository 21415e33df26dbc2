//! `pgrphack`: see [`daemontools::supervise::pgrphack`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::pgrphack::main()
}
