//! `tai64nlocal`: see `daemontools::filters::tai64nlocal`.
fn main() -> std::process::ExitCode {
    daemontools::filters::tai64nlocal::main()
}
