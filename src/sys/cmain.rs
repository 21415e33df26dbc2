//! The C entry point for the supervision programs.
//!
//! std's runtime start-up sets SIGPIPE to ignored (which `exec` would pass on
//! to `./run` and every service below svscan, unlike daemontools), installs
//! stack-overflow handlers and reads `/proc/self/maps`, which costs resident
//! memory in every one of possibly hundreds of supervise processes. These
//! binaries therefore use `#![no_main]` and this macro: signal dispositions
//! are inherited unchanged, as with daemontools' C programs. `std::env::args_os`
//! still works (std captures argv through `.init_array` on glibc). Buffered
//! stdout is **not** flushed at exit: the programs flush explicitly.

/// Define the C `main` of a `#![no_main]` binary calling `$run() -> u8`.
#[macro_export]
macro_rules! c_main {
    ($run:path) => {
        /// C entry point.
        // SAFETY: the binary is `#![no_main]`, so this is the only `main`
        // symbol, and its signature is C's `int main(int, char **)`.
        #[unsafe(no_mangle)]
        pub extern "C" fn main(
            _argc: ::core::ffi::c_int,
            _argv: *const *const ::core::ffi::c_char,
        ) -> ::core::ffi::c_int {
            ::core::ffi::c_int::from($run())
        }
    };
}
