//! An HTTP/1.1 response head (RFC 9112 §4, RFC 9110 §6.6.1 `Date`): every
//! answer has a `Content-Length` and `Connection: close`, since one
//! connection carries one request.

use std::fmt::Write as _;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::tai64::calendar::civil_from_days;

/// One answer: status, extra header fields, body.
pub(crate) struct Reply {
    /// Status code.
    pub(crate) code: u16,
    /// Its reason phrase.
    pub(crate) reason: &'static str,
    /// Header fields besides `Date`, `Content-Length` and `Connection`.
    pub(crate) fields: Vec<(&'static str, &'static str)>,
    /// The body (shared, so that the same scrape text is never copied).
    pub(crate) body: Rc<[u8]>,
}

impl Reply {
    /// A plain-text answer with `code` and `text` as its body.
    pub(crate) fn text(code: u16, reason: &'static str, text: &str) -> Reply {
        Reply {
            code,
            reason,
            fields: vec![("Content-Type", "text/plain; charset=utf-8")],
            body: Rc::from(text.as_bytes()),
        }
    }

    /// The response head, `Date` taken from `now`.
    pub(crate) fn head(&self, now: SystemTime) -> Vec<u8> {
        let mut h = format!("HTTP/1.1 {} {}\r\n", self.code, self.reason);
        for (n, v) in &self.fields {
            let _ = write!(h, "{n}: {v}\r\n");
        }
        let secs = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let _ = write!(
            h,
            "Date: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            imf_fixdate(secs),
            self.body.len()
        );
        h.into_bytes()
    }
}

/// RFC 9110 §5.6.7 IMF-fixdate of the Unix time `secs`, for instance
/// `Sun, 06 Nov 1994 08:49:37 GMT`.
pub(crate) fn imf_fixdate(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let s = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let wd = DAYS[usize::try_from(days.rem_euclid(7)).unwrap_or(0)];
    let mon = MONTHS[usize::try_from(m.saturating_sub(1)).unwrap_or(0).min(11)];
    format!(
        "{wd}, {d:02} {mon} {y:04} {:02}:{:02}:{:02} GMT",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(imf_fixdate(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(imf_fixdate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(imf_fixdate(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(imf_fixdate(4_102_444_799), "Thu, 31 Dec 2099 23:59:59 GMT");
    }

    #[test]
    fn head_fields() {
        let mut r = Reply::text(405, "Method Not Allowed", "no\n");
        r.fields.push(("Allow", "GET, HEAD"));
        let h = String::from_utf8(r.head(UNIX_EPOCH)).unwrap();
        assert_eq!(
            h,
            "HTTP/1.1 405 Method Not Allowed\r\n\
             Content-Type: text/plain; charset=utf-8\r\nAllow: GET, HEAD\r\n\
             Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Length: 3\r\n\
             Connection: close\r\n\r\n"
        );
    }
}
