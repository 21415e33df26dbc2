//! The `svscanboot` program; see [`daemontools::supervise::svscanboot`].
fn main() -> std::process::ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    std::process::ExitCode::from(daemontools::supervise::svscanboot::run(&args))
}
