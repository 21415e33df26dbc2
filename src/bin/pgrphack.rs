//! `pgrphack`: see [`daemontools::chain::pgrphack`].
fn main() -> std::process::ExitCode {
    daemontools::chain::pgrphack::main()
}
