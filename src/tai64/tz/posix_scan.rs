//! The byte cursor under [`super`]'s TZ rule parser: glibc's `sscanf("%hu")`
//! and `strtoul` subsets, as `parse_tzname` and `parse_offset` use them.

/// A byte cursor with glibc's `sscanf("%hu")` and `strtoul` subsets.
pub(super) struct Parser<'a> {
    pub(super) s: &'a [u8],
    pub(super) i: usize,
}

impl Parser<'_> {
    pub(super) fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    pub(super) fn at_end(&self) -> bool {
        self.i >= self.s.len() || self.s[self.i] == 0
    }

    pub(super) fn lit(&mut self, c: u8) -> Option<()> {
        (self.peek() == c).then(|| self.i += 1)
    }

    /// `parse_tzname`: 3+ letters, or `<` 3+ of `[A-Za-z0-9+-]` `>`.
    pub(super) fn tzname(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_ascii_alphabetic() {
            self.i += 1;
        }
        if self.i - start >= 3 {
            return true;
        }
        self.i = start;
        if self.peek() != b'<' {
            return false;
        }
        self.i += 1;
        let s = self.i;
        while matches!(self.peek(), b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'+' | b'-') {
            self.i += 1;
        }
        let len = self.i - s;
        if self.peek() != b'>' || len < 3 {
            self.i = start;
            return false;
        }
        self.i += 1;
        true
    }

    /// `%hu`: optional sign, decimal digits, value modulo 2^16.
    pub(super) fn hu(&mut self) -> Option<u16> {
        let save = self.i;
        while matches!(
            self.peek(),
            b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'
        ) {
            self.i += 1;
        }
        let neg = match self.peek() {
            b'-' => {
                self.i += 1;
                true
            }
            b'+' => {
                self.i += 1;
                false
            }
            _ => false,
        };
        let ds = self.i;
        let mut v: u64 = 0;
        while self.peek().is_ascii_digit() {
            v = v
                .wrapping_mul(10)
                .wrapping_add(u64::from(self.peek() - b'0'));
            self.i += 1;
        }
        if self.i == ds {
            self.i = save;
            return None;
        }
        let v = v as u16;
        Some(if neg { v.wrapping_neg() } else { v })
    }

    pub(super) fn ulong(&mut self) -> Option<u64> {
        let ds = self.i;
        let mut v: u64 = 0;
        while self.peek().is_ascii_digit() {
            v = v
                .saturating_mul(10)
                .saturating_add(u64::from(self.peek() - b'0'));
            self.i += 1;
        }
        (self.i > ds).then_some(v)
    }

    /// `sscanf("%hu%n:%hu%n:%hu%n")` with `%n` tracking: the cursor ends
    /// after the last field converted. `None` when not even hours parse.
    pub(super) fn hms(&mut self) -> Option<(u16, u16, u16)> {
        let h = self.hu()?;
        Some(self.rest_ms(h, 0, 0))
    }

    pub(super) fn hms_partial(&mut self, dflt: (u16, u16, u16)) -> (u16, u16, u16) {
        match self.hu() {
            Some(h) => self.rest_ms(h, dflt.1, dflt.2),
            None => dflt,
        }
    }

    pub(super) fn rest_ms(&mut self, h: u16, m0: u16, s0: u16) -> (u16, u16, u16) {
        let (mut m, mut s) = (m0, s0);
        let save = self.i;
        if self.lit(b':').is_some() {
            if let Some(mm) = self.hu() {
                m = mm;
                let save2 = self.i;
                if self.lit(b':').is_some() {
                    if let Some(ss) = self.hu() {
                        s = ss;
                    } else {
                        self.i = save2;
                    }
                }
            } else {
                self.i = save;
            }
        }
        (h, m, s)
    }
}
