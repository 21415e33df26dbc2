//! `tai64n`: see `daemontools::filters::tai64n`.
fn main() -> std::process::ExitCode {
    daemontools::filters::tai64n::main()
}
