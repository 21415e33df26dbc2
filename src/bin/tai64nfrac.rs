//! `tai64nfrac`: see `daemontools::filters::tai64nfrac`.
fn main() -> std::process::ExitCode {
    daemontools::filters::tai64nfrac::main()
}
