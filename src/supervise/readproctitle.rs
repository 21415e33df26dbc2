//! `readproctitle ARG... AREA`: show the newest bytes of stdin in `ps`
//! (ports `readproctitle.c`).
//!
//! The last argument is the display area. It is filled with `.`; for every
//! non-NUL input byte, bytes 4.. shift left by one and the byte goes last,
//! so the first three bytes stay `...`. Exit 100 silently without an argument
//! or with an area shorter than 5 bytes; 0 at EOF; 111 on a read error.
//!
//! Differences from daemontools: input is read in blocks rather than one
//! byte per `read(2)`; the area is updated once per block, with the same
//! final contents.

use std::io::{self, Read};

use crate::error::{EXIT_TEMP, EXIT_USAGE};
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

/// Feed `input` into the display `area` as readproctitle does.
pub(crate) fn push(area: &mut [u8], input: &[u8]) {
    let len = area.len();
    for &ch in input {
        if ch != 0 {
            area.copy_within(4..len, 3);
            area[len - 1] = ch;
        }
    }
}

/// This program's `SIGPIPE` policy (applied by its entry point).
pub const SIGPIPE: Sigpipe = Sigpipe::Inherit;

/// Entry point of the `readproctitle` binary: runs it and returns the exit code.
#[must_use]
pub fn run(mut main: MainArgs) -> u8 {
    if main.argv.len() < 2 {
        return EXIT_USAGE;
    }
    let Some(mut arg) = main.take_last_arg() else {
        return EXIT_USAGE;
    };
    let len = arg.len();
    if len < 5 {
        return EXIT_USAGE;
    }
    let mut area = vec![b'.'; len];
    arg.set(&area);
    let mut buf = [0u8; 1024];
    let mut stdin = io::stdin().lock();
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => return 0,
            Ok(n) => {
                push(&mut area, &buf[..n]);
                arg.set(&area);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return EXIT_TEMP,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_keeps_three_dots() {
        let mut a = vec![b'.'; 20];
        push(&mut a, b"hello\n");
        assert_eq!(&a, b"..............hello\n");
        let mut a = vec![b'.'; 5];
        push(&mut a, b"ab\0cd");
        assert_eq!(&a, b"...cd");
        let mut a = vec![b'.'; 8];
        push(&mut a, b"0123456789");
        assert_eq!(&a, b"...56789");
    }
}
