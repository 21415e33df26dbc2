//! `envdir`: see [`daemontools::supervise::envdir`].
fn main() -> std::process::ExitCode {
    daemontools::supervise::envdir::main()
}
