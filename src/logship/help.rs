//! logship's usage line and `--help` text, one line per option.

use super::PROG;

/// The usage line.
pub const USAGE: &str =
    "logship [-e] [-p fac.sev] [-H host] [-a app] [-c DIR] [-w N] [-m N] [-t SECS] [-T SECS] [--ca FILE] [--cert FILE --key FILE] [--server-name NAME] URL DIR...";
/// logship's `--help`.
pub(super) const CLI: crate::cli::Cli = crate::cli::Cli {
    prog: PROG,
    usage: USAGE,
    options: &[
        (
            "-p fac.sev",
            "facility and severity of the messages (user.notice)",
        ),
        ("-H host", "HOSTNAME of the messages (this host's name)"),
        (
            "-a app",
            "APP-NAME of the messages (the directory's service name)",
        ),
        ("-c DIR", "where the cursors are kept (.)"),
        (
            "-w N",
            "messages sent and not yet acknowledged, at most (1024)",
        ),
        (
            "-m N",
            "bytes of a message at most, longer lines are cut (8192)",
        ),
        (
            "-t SECS",
            "wait for an acknowledgement (30); also --ack-timeout",
        ),
        (
            "-T SECS",
            "connecting and opening (10); also --connect-timeout",
        ),
        (
            "--ca FILE",
            "certificate authorities, PEM (the system's); TLS only",
        ),
        (
            "--cert FILE",
            "client certificate chain, PEM, for mutual TLS (with --key)",
        ),
        ("--key FILE", "the client certificate's private key, PEM"),
        (
            "--server-name NAME",
            "name the server's certificate must have (the URL's host)",
        ),
        (
            "URL",
            "relp://, tcp://, tcp+lf://, relp+tls:// or tls://, then host:port",
        ),
        ("--help", "print this help and exit"),
        ("--version", "print the version and exit"),
    ],
};
