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

#[cfg(test)]
mod tests {
    use super::*;

    /// [`tail_start`] over several files, as the follower drives it: where the last `n` lines of `files` (sizes and files, oldest first, read
    /// as one stream) start: a file's index and an offset in it
    /// (`files.len()` when `n` is 0).
    ///
    /// # Errors
    /// A read error.
    fn find_tail(files: &[(u64, &File)], n: u64, buf: &mut [u8]) -> io::Result<(usize, u64)> {
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
    use std::io::Write;

    fn tmpfile(data: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(data).unwrap();
        f
    }

    /// The last `n` lines the slow way.
    fn last_lines(data: &[u8], n: usize) -> usize {
        if data.is_empty() {
            return 0;
        }
        let body = data.strip_suffix(b"\n").unwrap_or(data);
        let starts: Vec<usize> = std::iter::once(0)
            .chain(
                body.iter()
                    .enumerate()
                    .filter(|(_, &c)| c == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        if n >= starts.len() {
            0
        } else {
            starts[starts.len() - n]
        }
    }

    proptest::proptest! {
        #[test]
        fn tail_matches_forward(lines in proptest::collection::vec("[a-z]{0,30}", 0..60),
                                partial in proptest::bool::ANY,
                                cuts in proptest::collection::vec(0usize..2000, 0..5),
                                n in 0u64..80, block in 1usize..50) {
            let mut data = lines.join("\n").into_bytes();
            if !lines.is_empty() && !partial {
                data.push(b'\n');
            }
            // Cut the stream into files anywhere (multilog cuts long lines).
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (data.len() + 1)).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort_unstable();
            let files: Vec<(u64, File)> = cuts.windows(2)
                .map(|w| ((w[1] - w[0]) as u64, tmpfile(&data[w[0]..w[1]])))
                .collect();
            let refs: Vec<(u64, &File)> = files.iter().map(|(s, f)| (*s, f)).collect();
            let mut buf = vec![0u8; block];
            let (i, off) = find_tail(&refs, n, &mut buf).unwrap();
            let at = if i == refs.len() { data.len() } else { cuts[i] + off as usize };
            let want = if n == 0 { data.len() } else { last_lines(&data, n as usize) };
            proptest::prop_assert_eq!(at, want);
        }
    }
}
