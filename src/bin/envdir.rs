//! `envdir`: see [`daemontools::chain::envdir`].
fn main() -> std::process::ExitCode {
    daemontools::chain::envdir::main()
}
