//! `-n N`: where the last N lines start, reading the files backwards.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use memchr::memrchr;

/// Where, reading the files as one stream from the newest back, the line
/// after the `need`-th newline from the end starts in `f` (of `size`
/// bytes); `None` (with the newlines found taken off `need`) if `f` holds
/// fewer. `skip_nl` says the stream's last byte is still to be seen: a
/// newline there ends the last line and is not counted. A file need not
/// end with a newline (multilog cuts a long line across files).
///
/// # Errors
/// A read error.
pub(crate) fn tail_start(
    f: &File,
    size: u64,
    need: &mut u64,
    skip_nl: &mut bool,
    buf: &mut [u8],
) -> io::Result<Option<u64>> {
    let mut end = size;
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let len = (end - start) as usize;
        f.read_exact_at(&mut buf[..len], start)?;
        let mut hay = &buf[..len];
        if std::mem::take(skip_nl) && hay.last() == Some(&b'\n') {
            hay = &hay[..len - 1];
        }
        while let Some(i) = memrchr(b'\n', hay) {
            *need -= 1;
            if *need == 0 {
                return Ok(Some(start + i as u64 + 1));
            }
            hay = &hay[..i];
        }
        end = start;
    }
    Ok(None)
}

/// Where the last `n` lines of `files` (sizes and files, oldest first, read
/// as one stream) start: a file's index and an offset in it
/// (`files.len()` when `n` is 0).
///
/// # Errors
/// A read error.
pub(crate) fn find_tail(
    files: &[(u64, &File)],
    n: u64,
    buf: &mut [u8],
) -> io::Result<(usize, u64)> {
    if n == 0 {
        return Ok((files.len(), 0));
    }
    let mut need = n;
    let mut skip_nl = true;
    for (i, (size, f)) in files.iter().enumerate().rev() {
        if let Some(off) = tail_start(f, *size, &mut need, &mut skip_nl, buf)? {
            return Ok((i, off));
        }
    }
    Ok((0, 0))
}
