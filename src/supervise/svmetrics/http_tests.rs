use super::*;
use proptest::prelude::*;

fn done(b: &[u8]) -> Request<'_> {
    match parse(b) {
        Parse::Done(r) => r,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(b)),
    }
}

fn refused(b: &[u8]) -> Refusal {
    match parse(b) {
        Parse::Refused(r) => r,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(b)),
    }
}

#[test]
fn ordinary_requests() {
    let h = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\njunk";
    let r = done(h);
    assert_eq!(
        r,
        Request {
            method: Method::Get,
            path: b"/metrics",
            minor: 1,
            body: false,
            len: h.len() - 4,
        }
    );
    // Prometheus' own request head.
    let p = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:10707\r\nUser-Agent: Prometheus/2.45\r\n\
              Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\
              Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
    assert_eq!(done(p).path, b"/metrics");
    assert_eq!(done(b"HEAD /metrics?a=1 HTTP/1.0\n\n").method, Method::Head);
    assert_eq!(done(b"HEAD /metrics?a=1 HTTP/1.0\n\n").path, b"/metrics");
    assert_eq!(done(b"\r\n\nPOST / HTTP/1.0\r\n\r\n").method, Method::Other);
    assert_eq!(done(b"get /metrics HTTP/1.0\r\n\r\n").method, Method::Other);
    let abs = b"GET HTTP://h:1/metrics?x HTTP/1.1\r\nHost: h:1\r\n\r\n";
    assert_eq!(done(abs).path, b"/metrics");
    assert_eq!(done(b"GET http://h HTTP/1.0\r\n\r\n").path, b"/");
    assert_eq!(done(b"OPTIONS * HTTP/1.0\r\n\r\n").path, b"*");
    assert_eq!(done(b"GET / HTTP/1.0\r\nX: a\tb \xff\r\n\r\n").path, b"/");
}

#[test]
fn bodies_are_noted_never_sized() {
    let big = b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 9000000000000000000\r\n\r\n";
    assert!(done(big).body);
    let huge = b"GET / HTTP/1.0\r\nContent-Length: 99999999999999999999999999999999\r\n\r\n";
    assert!(done(huge).body);
    assert!(!done(b"GET / HTTP/1.0\r\nContent-Length:  000 \r\n\r\n").body);
    assert!(done(b"GET / HTTP/1.0\r\ntransfer-encoding: chunked\r\n\r\n").body);
    for bad in [
        &b"GET / HTTP/1.0\r\nContent-Length: -1\r\n\r\n"[..],
        b"GET / HTTP/1.0\r\nContent-Length: 1 2\r\n\r\n",
        b"GET / HTTP/1.0\r\nContent-Length: \r\n\r\n",
    ] {
        assert_eq!(refused(bad), Refusal::BadRequest);
    }
}

#[test]
fn malformed_heads_are_refused() {
    for bad in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n"[..],
        b"GET /metrics\r\n",
        b"GET  /metrics HTTP/1.0\r\n",
        b"GET /metrics HTTP/1.0 \r\n",
        b"GET /me trics HTTP/1.0\r\n",
        b"GET /m\x7f HTTP/1.0\r\n",
        b"G(T / HTTP/1.0\r\n",
        b"GET / HTTP/1\r\n",
        b"GET / http/1.1\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"GET / HTTP/1.0\r\nHost : a\r\n",
        b"GET / HTTP/1.0\r\nX: a\r\n folded\r\n",
        b"GET / HTTP/1.0\r\nno colon\r\n",
        b"GET / HTTP/1.0\r\n: empty name\r\n",
        b"GET / HTTP/1.0\r\nX: a\x00b\r\n",
        b"GET / HTTP/1.0\r\nX: a\rb",
        b"GET /\r HTTP/1.0",
    ] {
        assert_eq!(
            refused(bad),
            Refusal::BadRequest,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(refused(b"GET / HTTP/2.0\r\n"), Refusal::Version);
    assert_eq!(
        refused(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
        Refusal::Version
    );
}

#[test]
fn partial_until_the_limit() {
    assert_eq!(parse(b""), Parse::Partial);
    assert_eq!(parse(b"GET /metrics HTTP/1.1\r"), Parse::Partial);
    assert_eq!(
        parse(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"),
        Parse::Partial
    );
    let mut h = b"GET / HTTP/1.0\r\nX: ".to_vec();
    h.resize(HEAD_MAX - 1, b'a');
    assert_eq!(parse(&h), Parse::Partial);
    h.push(b'a');
    assert_eq!(refused(&h), Refusal::TooLarge);
    // A head that ends exactly at the limit is served; one byte more is not.
    let mut h = b"GET / HTTP/1.0\r\nX: ".to_vec();
    h.resize(HEAD_MAX - 4, b'a');
    h.extend_from_slice(b"\r\n\r\n");
    assert_eq!(done(&h).len, HEAD_MAX);
    h.insert(20, b'a');
    assert_eq!(refused(&h), Refusal::TooLarge);
    // Blank lines forever are no request either.
    assert_eq!(refused(&[b'\n'; HEAD_MAX]), Refusal::TooLarge);
}

proptest! {
    /// Every prefix of a complete head is partial, and what follows the
    /// head never changes the verdict.
    #[test]
    fn prefixes_are_partial(
        path in "/[a-z?=&]{0,20}",
        fields in proptest::collection::vec(("[A-Za-z-]{1,12}", "[ -~]{0,30}"), 0..6),
        crlf in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut h = format!("GET {path} HTTP/1.1{eol}Host: h{eol}");
        for (n, v) in &fields {
            if !n.eq_ignore_ascii_case("host") && !n.eq_ignore_ascii_case("content-length") {
                h.push_str(&format!("{n}: {v}{eol}"));
            }
        }
        h.push_str(eol);
        let head = h.into_bytes();
        for k in 0..head.len() {
            prop_assert_eq!(parse(&head[..k]), Parse::Partial, "prefix {}", k);
        }
        let mut all = head.clone();
        all.extend_from_slice(&tail);
        let r = done(&all);
        prop_assert_eq!(r.len, head.len());
        let want = path.split('?').next().unwrap_or("");
        prop_assert_eq!(r.path, want.as_bytes());
    }

    /// Once refused, more bytes never make a head acceptable; nothing
    /// panics whatever the bytes.
    #[test]
    fn refusal_is_final(a in proptest::collection::vec(any::<u8>(), 0..200),
                        b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut all = a.clone();
        all.extend_from_slice(&b);
        if let Parse::Refused(_) = parse(&a) {
            prop_assert!(matches!(parse(&all), Parse::Refused(_)));
        }
    }
}
