//! `fghack`: see [`daemontools::chain::fghack`].
fn main() -> std::process::ExitCode {
    daemontools::chain::fghack::main()
}
