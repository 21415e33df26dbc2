//! `softlimit`: see [`daemontools::supervise::softlimit`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::softlimit::main()
}
