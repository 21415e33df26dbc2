//! `softlimit`: see [`daemontools::chain::softlimit`].
fn main() -> std::process::ExitCode {
    daemontools::chain::softlimit::main()
}
