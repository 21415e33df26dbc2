//! Tests of the follower on directories made by hand.

use super::*;

fn read_all(f: &mut Follower) -> (Vec<u8>, Option<Pos>) {
    let mut buf = vec![0u8; 7];
    let mut out = Vec::new();
    let mut end = None;
    while let Got::Data { n, at } = f.read(&mut buf).unwrap() {
        out.extend_from_slice(&buf[..n]);
        end = Some(Pos {
            off: at.off + n as u64,
            ..at
        });
    }
    (out, end)
}

fn stamp(n: i64) -> Tai64N {
    Tai64N::from_unix(1_796_117_068 + n, 0)
}

fn label(n: i64) -> String {
    format!("{}.s", String::from_utf8_lossy(&stamp(n).label()))
}

/// A position taken in `current` is found again in its archive after a
/// rotation; one whose file has gone goes on after its label, with the
/// loss noted.
#[test]
fn positions_survive_rotation() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join(label(0)), b"old\n").unwrap();
    std::fs::write(p.join("current"), b"a\nb\n").unwrap();
    let mut f = Follower::open("test", p, Start::All).unwrap();
    let (got, end) = read_all(&mut f);
    assert_eq!(got, b"old\na\nb\n");
    let mut pos = end.unwrap();
    assert_eq!(pos.off, 4);
    pos.off = 2;
    drop(f);
    // Rotations while nobody follows.
    std::fs::rename(p.join("current"), p.join(label(1))).unwrap();
    std::fs::write(p.join(label(2)), b"c\n").unwrap();
    std::fs::write(p.join("current"), b"d\n").unwrap();
    let mut f = Follower::open("test", p, Start::At(pos)).unwrap();
    assert_eq!(read_all(&mut f).0, b"b\nc\nd\n");
    assert!(f.take_lost().is_empty());
    // Its file deleted: the archives after its label, and the loss.
    std::fs::remove_file(p.join(label(1))).unwrap();
    let mut f = Follower::open("test", p, Start::At(pos)).unwrap();
    assert_eq!(read_all(&mut f).0, b"c\nd\n");
    assert!(f.take_lost().only_cursor());
}

/// `.s.zst` archives are listed with the others (the uncompressed
/// name first while both exist) and read decompressed; a position in
/// an archive goes on in its `.s.zst` at the same offset.
#[test]
fn compressed_archives() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let zst = |n: i64| p.join(format!("{}.zst", label(n)));
    let u = |n: i64| p.join(label(n)).with_extension("u");
    std::fs::write(zst(0), zstd::encode_all(&b"old\n"[..], 3).unwrap()).unwrap();
    std::fs::write(u(1), b"mid1\nmid2\n").unwrap();
    std::fs::write(zst(1), zstd::encode_all(&b"mid1\nmid2\n"[..], 3).unwrap()).unwrap();
    std::fs::write(p.join("current"), b"cur\n").unwrap();
    let names: Vec<_> = crate::logdir::archives(p)
        .unwrap()
        .into_iter()
        .map(|a| a.path)
        .collect();
    assert_eq!(names, [zst(0), u(1)]);
    let m = std::fs::metadata(u(1)).unwrap();
    let pos = Pos {
        dev: m.dev(),
        ino: m.ino(),
        off: 5,
        after: Some(stamp(1)),
        own: true,
        born: None,
        head: None,
        size: 10,
    };
    // The compressor's removal of the `.u`.
    std::fs::remove_file(u(1)).unwrap();
    let mut f = Follower::open("test", p, Start::All).unwrap();
    let (got, _) = read_all(&mut f);
    assert_eq!(got, b"old\nmid1\nmid2\ncur\n");
    assert!(f.take_lost().is_empty());
    let mut f = Follower::open("test", p, Start::At(pos)).unwrap();
    let (got, end) = read_all(&mut f);
    assert_eq!(got, b"mid2\ncur\n");
    assert!(f.take_lost().is_empty());
    // A position read in a `.s.zst` names the compressed file.
    let mut f = Follower::open("test", p, Start::At(pos)).unwrap();
    let mut buf = [0u8; 3];
    let Got::Data { at, .. } = f.read(&mut buf).unwrap() else {
        panic!("no data");
    };
    let z = std::fs::metadata(zst(1)).unwrap();
    assert_eq!((at.ino, at.off, at.own), (z.ino(), 5, true));
    let mut f = Follower::open("test", p, Start::At(Pos { off: 6, ..at })).unwrap();
    assert_eq!(read_all(&mut f).0, b"id2\ncur\n");
    assert!(f.take_lost().is_empty());
    assert!(end.is_some_and(|e| !e.own));
    // In `current`, AFTER is the label before: not the file's bytes.
    let mut f = Follower::open("test", p, Start::At(Pos { own: false, ..pos })).unwrap();
    assert_eq!(read_all(&mut f).0, b"cur\n");
    assert!(f.take_lost().only_cursor());
}

/// A position in `current` whose inode a later `current` got (retention
/// deleted the file's archive): not resumed in the new file at the old
/// offset, but after its label, with the loss counted.
#[test]
fn reused_inode_is_not_the_saved_file() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("current"), b"a\nb\n").unwrap();
    let mut f = Follower::open("test", p, Start::All).unwrap();
    let (_, end) = read_all(&mut f);
    let pos = end.unwrap();
    assert_eq!((pos.off, pos.size, pos.head.map(|h| h.0)), (4, 4, Some(4)));
    drop(f);
    std::fs::rename(p.join("current"), p.join(label(1))).unwrap();
    std::fs::write(p.join(label(2)), b"c\n").unwrap();
    std::fs::remove_file(p.join(label(1))).unwrap();
    // The new `current` as if it had the old inode: the same start, not
    // the same life.
    std::fs::write(p.join("current"), b"a\nb\nd\n").unwrap();
    let m = std::fs::metadata(p.join("current")).unwrap();
    let other = Pos {
        ino: m.ino(),
        dev: m.dev(),
        ..pos
    };
    let mut f = Follower::open("test", p, Start::At(other)).unwrap();
    assert_eq!(read_all(&mut f).0, b"c\na\nb\nd\n");
    let lost = f.take_lost().cursor.unwrap();
    assert!(lost.reused);
    // Written by an older logship (no birth time, no checksum): an
    // archive after its label says its file was rotated.
    let old = Pos {
        born: None,
        head: None,
        ..other
    };
    let mut f = Follower::open("test", p, Start::At(old)).unwrap();
    assert_eq!(read_all(&mut f).0, b"c\na\nb\nd\n");
    assert!(f.take_lost().cursor.is_some());
    // Without that archive, it is trusted.
    std::fs::remove_file(p.join(label(2))).unwrap();
    let mut f = Follower::open("test", p, Start::At(old)).unwrap();
    assert_eq!(read_all(&mut f).0, b"d\n");
    assert!(f.take_lost().is_empty());
    // Past the end of the file its birth time names: damaged.
    std::fs::write(p.join("current"), b"x\n").unwrap();
    let mut f = Follower::open("test", p, Start::All).unwrap();
    let (_, end) = read_all(&mut f);
    let pos = end.unwrap();
    if pos.born.is_some() {
        let f = Follower::open(
            "test",
            p,
            Start::At(Pos {
                off: 99,
                size: 99,
                ..pos
            }),
        )
        .unwrap();
        assert!(f.bad_position());
    }
}

/// A reader that listed the directory and read `current` to an offset
/// hands over to [`Watched::follow`]: with no rotation since, one, two
/// (its archive then one more), a processor's `previous` read by it, and
/// its file deleted by retention after its archive was made, the follower
/// prints exactly the bytes after that offset, once.
#[test]
fn watched_follow_goes_on_where_the_reader_stopped() {
    use std::io::Write;
    let write = |p: &std::path::Path, n: &str, b: &[u8]| std::fs::write(p.join(n), b).unwrap();
    for case in 0..5 {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        write(p, &label(0), b"old\n");
        write(p, "current", b"a\nb\n");
        let w = Follower::watch("test", p).unwrap();
        // The reader: `current` opened, the archives listed, 2 bytes read.
        let cur = File::open(p.join("current")).unwrap();
        let mut want: Vec<u8> = b"b\n".to_vec();
        let mut prev_read = false;
        match case {
            0 => {}
            1 | 4 => {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(p.join("current"))
                    .unwrap()
                    .write_all(b"c\n")
                    .unwrap();
                std::fs::rename(p.join("current"), p.join(label(1))).unwrap();
                write(p, "current", b"d\n");
                want.extend_from_slice(b"c\nd\n");
                if case == 4 {
                    // Retention deleted it; the descriptor still reads it.
                    std::fs::remove_file(p.join(label(1))).unwrap();
                }
            }
            2 => {
                std::fs::rename(p.join("current"), p.join(label(1))).unwrap();
                write(p, &label(2), b"e\n");
                write(p, "current", b"f\n");
                want.extend_from_slice(b"e\nf\n");
            }
            _ => {
                // `previous` (read by the reader) is processed after the
                // listing: its archive is not read again.
                write(p, "previous", b"p\n");
                prev_read = true;
                std::fs::rename(p.join("previous"), p.join(label(1))).unwrap();
                std::fs::rename(p.join("current"), p.join(label(2))).unwrap();
                write(p, "current", b"g\n");
                want.extend_from_slice(b"g\n");
            }
        }
        let mut f = w.follow(cur, 2, Some(stamp(0)), prev_read);
        let mut got = read_all(&mut f).0;
        if got != want {
            // A switch waits for the directory's events.
            f.events().unwrap();
            got.extend(read_all(&mut f).0);
        }
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "case {case}"
        );
        let lost = f.take_lost();
        assert!(lost.is_empty(), "case {case}: {lost:?}");
    }
}
