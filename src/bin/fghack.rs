//! `fghack`: see [`daemontools::supervise::fghack`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::fghack::main()
}
