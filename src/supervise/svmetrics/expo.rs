//! The Prometheus text exposition format, version 0.0.4 (Prometheus
//! documentation, "Exposition formats", "Text-based format"): for each
//! metric family a `# HELP` and a `# TYPE` line, then all its samples
//! `name{service="x"} value`, one per line, families not interleaved.
//!
//! Label values are escaped as the format says: backslash, double quote
//! and line feed become `\\`, `\"` and `\n`. Service names that are not
//! UTF-8 are converted with U+FFFD for the bad bytes (label values must be
//! UTF-8).

use std::fmt::Write as _;

use crate::tai64::Tai64N;

/// Kind of a metric family (the `# TYPE` word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// May go up and down.
    Gauge,
    /// Only goes up (resets when supervise restarts).
    Counter,
}

/// One metric family: name, help text, type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Family {
    /// The full metric name.
    pub(crate) name: &'static str,
    /// The `# HELP` text (no backslashes or line feeds).
    pub(crate) help: &'static str,
    /// The `# TYPE`.
    pub(crate) kind: Kind,
}

/// Samples gathered per family, written out family by family.
pub(crate) struct Exposition {
    families: &'static [Family],
    bodies: Vec<String>,
}

/// Append `v` to `out` as a label value, escaped.
pub(crate) fn escape_label(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A moment as Unix seconds with nine decimals, exactly (no float
/// rounding): TAI64N labels carry nanoseconds.
pub(crate) fn unix_seconds(t: Tai64N) -> String {
    let nanos = t.nanos.min(999_999_999);
    let secs = t.unix_secs();
    if secs >= 0 {
        format!("{secs}.{nanos:09}")
    } else {
        // Before 1970: -(|secs| - nanos), still exact.
        let whole = -secs - i64::from(nanos != 0);
        let frac = if nanos == 0 { 0 } else { 1_000_000_000 - nanos };
        format!("-{whole}.{frac:09}")
    }
}

impl Exposition {
    /// An empty exposition for these families (indexed as given).
    #[must_use]
    pub(crate) fn new(families: &'static [Family]) -> Self {
        Exposition {
            families,
            bodies: vec![String::new(); families.len()],
        }
    }

    /// Add the sample `family{service="service"} value`.
    pub(crate) fn sample(&mut self, family: usize, service: &str, value: &dyn std::fmt::Display) {
        let name = self.families[family].name;
        let b = &mut self.bodies[family];
        b.push_str(name);
        b.push_str("{service=\"");
        escape_label(service, b);
        let _ = writeln!(b, "\"}} {value}");
    }

    /// Add the sample `family{l1="v1",...} value` (label names are
    /// identifiers, values escaped).
    pub(crate) fn sample_labels(
        &mut self,
        family: usize,
        labels: &[(&str, &str)],
        value: &dyn std::fmt::Display,
    ) {
        let name = self.families[family].name;
        let b = &mut self.bodies[family];
        b.push_str(name);
        for (i, (k, v)) in labels.iter().enumerate() {
            b.push(if i == 0 { '{' } else { ',' });
            b.push_str(k);
            b.push_str("=\"");
            escape_label(v, b);
            b.push('"');
        }
        if !labels.is_empty() {
            b.push('}');
        }
        let _ = writeln!(b, " {value}");
    }

    /// Add `other`'s samples after this one's, family by family (both made
    /// for the same families).
    pub(crate) fn append(&mut self, other: Exposition) {
        for (mine, theirs) in self.bodies.iter_mut().zip(other.bodies) {
            mine.push_str(&theirs);
        }
    }

    /// The whole text: every family's HELP and TYPE, then its samples.
    #[must_use]
    pub(crate) fn finish(self) -> String {
        let len = self.bodies.iter().map(String::len).sum::<usize>();
        let mut out = String::with_capacity(len + 128 * self.families.len());
        for (f, body) in self.families.iter().zip(&self.bodies) {
            let kind = match f.kind {
                Kind::Gauge => "gauge",
                Kind::Counter => "counter",
            };
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
            let _ = writeln!(out, "# TYPE {} {kind}", f.name);
            out.push_str(body);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAMS: &[Family] = &[
        Family {
            name: "x_up",
            help: "Up.",
            kind: Kind::Gauge,
        },
        Family {
            name: "x_deaths_total",
            help: "Deaths.",
            kind: Kind::Counter,
        },
    ];

    #[test]
    fn families_grouped_and_labels_escaped() {
        let mut e = Exposition::new(FAMS);
        e.sample(0, "a", &1);
        e.sample(1, "a", &3);
        let mut more = Exposition::new(FAMS);
        more.sample(0, "b\"\\\nc", &0);
        e.append(more);
        assert_eq!(
            e.finish(),
            "# HELP x_up Up.\n# TYPE x_up gauge\nx_up{service=\"a\"} 1\n\
             x_up{service=\"b\\\"\\\\\\nc\"} 0\n\
             # HELP x_deaths_total Deaths.\n# TYPE x_deaths_total counter\n\
             x_deaths_total{service=\"a\"} 3\n"
        );
    }

    #[test]
    fn several_labels() {
        let mut e = Exposition::new(FAMS);
        e.sample_labels(0, &[("a", "x\"y"), ("b", "z")], &1);
        e.sample_labels(1, &[], &2);
        assert!(e
            .finish()
            .contains("x_up{a=\"x\\\"y\",b=\"z\"} 1\n# HELP x_deaths_total Deaths.\n# TYPE x_deaths_total counter\nx_deaths_total 2\n"));
    }

    #[test]
    fn exact_unix_seconds() {
        assert_eq!(
            unix_seconds(Tai64N::from_unix(1_700_000_000, 123_456_500)),
            "1700000000.123456500"
        );
        assert_eq!(unix_seconds(Tai64N::from_unix(0, 0)), "0.000000000");
        assert_eq!(
            unix_seconds(Tai64N::from_unix(-2, 250_000_000)),
            "-1.750000000"
        );
    }
}
