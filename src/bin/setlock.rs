//! `setlock`: see [`daemontools::chain::setlock`].
fn main() -> std::process::ExitCode {
    daemontools::chain::setlock::main()
}
