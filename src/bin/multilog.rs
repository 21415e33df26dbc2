//! `multilog`: see [`daemontools::multilog`].
fn main() -> std::process::ExitCode {
    daemontools::multilog::main()
}
