//! `svmetrics [-l ADDR:PORT] [DIR]`: serve the state of every service under
//! the scan directory DIR (default `/service`) to Prometheus, over HTTP on
//! `127.0.0.1:10707` by default. No counterpart in daemontools.
//!
//! Read-only: `GET /metrics` (a query string is ignored) answers with the
//! text exposition format ([`expo`]); `HEAD /metrics` with its head;
//! `/metrics` with another method gets 405, any other path 404. Nothing
//! can be controlled over HTTP. Each request reads the directories afresh
//! ([`collect`]); there is no cache.
//!
//! HTTP is our own, GET only, one request per connection: the request
//! head is read by [`http`], the connections are served by `server.rs`'s
//! single-threaded poll loop (connection cap, deadlines, no request body
//! ever read), the answers written by `reply.rs`.
//!
//! The default port: the Prometheus project's list of exporter ports
//! (9100–9999) is fully allocated, so any default inside it would collide
//! with some registered exporter (9273, for one, is Telegraf's); 10707 is
//! outside that range and not in `/etc/services`.
//!
//! `--help` and `--version` print to stdout and exit 0 ([`crate::cli`]); a
//! usage error (exit 100) says what was wrong, such as an address `-l`
//! cannot parse.

pub(crate) mod collect;
pub(crate) mod expo;
pub mod http;
mod logship;
mod rare;
mod reply;
mod server;

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::cli::Cli;
use crate::djb::getopt::Getopt;
use crate::error::{self, Fatal, Kind};
use crate::supervise::observe;
use crate::sys::cmain::MainArgs;
use crate::sys::signals::Sigpipe;

use reply::Reply;

const PROG: &str = "svmetrics";
const USAGE: &str = "svmetrics [ -l addr:port ] [ -c cursordir ] [ dir ]";

/// Where svmetrics listens unless `-l` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:10707";
/// The scan directory unless one is given (svscanboot's default).
pub const DEFAULT_DIR: &str = "/service";
/// The content type of the text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// This program's `SIGPIPE` policy: a scraper that hangs up must not kill
/// the server.
pub const SIGPIPE: Sigpipe = Sigpipe::Ignore;

struct Opts {
    listen: SocketAddr,
    dir: PathBuf,
    /// `-c`: more directories with logship's status files.
    cursors: Vec<PathBuf>,
}

/// `-l`'s argument: `addr:port` (`[v6]:port` for IPv6), or
/// `localhost:port` for `127.0.0.1:port` (no resolver is asked).
fn listen_addr(s: &str) -> Option<SocketAddr> {
    if let Some(port) = s.strip_prefix("localhost:") {
        return port
            .parse()
            .ok()
            .map(|p| SocketAddr::from((Ipv4Addr::LOCALHOST, p)));
    }
    s.parse().ok()
}

/// svmetrics' command line, for `--help` and its usage errors.
const CLI: Cli = Cli {
    prog: PROG,
    usage: USAGE,
    options: &[
        (
            "-l addr:port",
            "listen there (default 127.0.0.1:10707; [v6]:port, localhost:port)",
        ),
        (
            "-c cursordir",
            "also read logship's status files there (repeatable)",
        ),
        ("dir", "the scan directory (default /service)"),
        ("--help", "print this help and exit"),
        ("--version", "print the version and exit"),
    ],
};

fn parse(args: &[OsString]) -> Result<Opts, u8> {
    let mut g = Getopt::new(args, "l:c:");
    let mut listen = OsString::from(DEFAULT_LISTEN);
    let mut cursors = Vec::new();
    loop {
        let at = g.optind();
        match g.next_opt() {
            None => {
                // djb's getopt ends the options at any word starting with
                // `--` and drops it: only `--` itself may do that here, so
                // that `--port=1` is not taken for nothing.
                if let Some(w) = Cli::ended_options(args, at, g.optind()) {
                    return Err(CLI.long_option(w));
                }
                break;
            }
            Some(Ok((b'c', Some(a)))) => cursors.push(PathBuf::from(a)),
            Some(Ok((_, Some(a)))) => listen = a.to_os_string(),
            Some(Ok(_)) => return Err(CLI.usage()),
            Some(Err(e)) => {
                e.print(args);
                return Err(CLI.usage());
            }
        }
    }
    let Some(listen) = listen.to_str().and_then(listen_addr) else {
        let why: &[&[u8]] = &[b"-l: unable to parse address:port: ", listen.as_bytes()];
        return Err(CLI.usage_why(why));
    };
    let rest = args.get(g.optind()..).unwrap_or_default();
    let dir = match rest {
        [] => PathBuf::from(DEFAULT_DIR),
        [d] => PathBuf::from(d),
        [_, extra, ..] => {
            return Err(CLI.usage_why(&[b"more than one directory: ", extra.as_bytes()]))
        }
    };
    Ok(Opts {
        listen,
        dir,
        cursors,
    })
}

/// The answer to a well-formed request.
fn answer(req: http::Request<'_>, dir: &Path, cursors: &[PathBuf]) -> Reply {
    if req.path != b"/metrics" {
        return Reply::text(404, "Not Found", "not found\n");
    }
    if req.method == http::Method::Other {
        let mut r = Reply::text(405, "Method Not Allowed", "method not allowed\n");
        r.fields.push(("Allow", "GET, HEAD"));
        return r;
    }
    match observe::open_dir_at(rustix::fs::CWD, dir).and_then(|fd| collect::scrape(&fd, cursors)) {
        Ok(text) => Reply {
            code: 200,
            reason: "OK",
            fields: vec![("Content-Type", CONTENT_TYPE)],
            body: Rc::from(text.into_bytes()),
        },
        Err(e) => {
            let msg = format!(
                "unable to read directory {}: {}\n",
                dir.display(),
                error::reason_errno(e)
            );
            error::say(PROG, Kind::Warning, &[msg.trim_end().as_bytes()], None);
            Reply::text(500, "Internal Server Error", &msg)
        }
    }
}

/// Entry point of the `svmetrics` binary: runs it and returns the exit code.
#[must_use]
pub fn run(main: MainArgs) -> u8 {
    let o = match parse(&main.argv) {
        Ok(o) => o,
        Err(code) => return code,
    };
    if let Err(e) = observe::open_dir_at(rustix::fs::CWD, o.dir.as_path()) {
        let what = [b"unable to open directory ", o.dir.as_os_str().as_bytes()].concat();
        return Fatal::new(what, e).report(PROG);
    }
    let listener = match TcpListener::bind(o.listen).and_then(|l| {
        l.set_nonblocking(true)?;
        Ok(l)
    }) {
        Ok(l) => l,
        Err(e) => return Fatal::new(format!("unable to listen on {}", o.listen), e).report(PROG),
    };
    let (dir, cursors) = (o.dir, o.cursors);
    let mut handler = |req: http::Request<'_>| answer(req, &dir, &cursors);
    server::Server::new(listener.into(), &mut handler).run()
}
