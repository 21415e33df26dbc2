//! The RELP server's answers on a connection (librelp's `relpSessRcvFrame`
//! on the client side): the answer to `open`, then `rsp` per transaction,
//! or `serverclose`. A child of `conn` so that it reads the connection's
//! state without widening it.

use super::{Conn, Phase};
use crate::logship::dest::{proto_err, refused, Trouble};
use crate::logship::relp::{self, parse_frame, rsp_status};

impl Conn {
    /// The answer to `open` in `fr`: `rsp` for transaction 1, `200`, and
    /// `commands=` offering `syslog`; then the session is ready.
    fn opened(&mut self, fr: &relp::Frame<'_>) -> Result<(), Trouble> {
        // An answer before the whole `open` was written is not one.
        if fr.command != b"rsp" || fr.txnr != 1 || self.wants_write() {
            return Err(proto_err("unexpected frame to open"));
        }
        let (code, text) = rsp_status(fr.data).map_err(|_| proto_err("bad response"))?;
        if code != 200 {
            return Err(refused(format!(
                "session refused: {code} {}",
                String::from_utf8_lossy(text)
            )));
        }
        if !fr.data.split(|&c| c == b'\n').any(|l| {
            l.starts_with(b"commands=") && l[9..].split(|&c| c == b',').any(|c| c == b"syslog")
        }) {
            return Err(refused("server does not offer the syslog command"));
        }
        self.phase = match std::mem::replace(&mut self.phase, Phase::Gone) {
            Phase::Opening(s) => Phase::Ready(s),
            p => p,
        };
        Ok(())
    }

    /// The whole frames at the start of `buf[*used..]`, `used` moved past
    /// them.
    pub(super) fn frames(
        &mut self,
        buf: &[u8],
        used: &mut usize,
        acks: &mut Vec<u32>,
    ) -> Result<(), Trouble> {
        while let Some((fr, n)) = parse_frame(&buf[*used..]).map_err(|_| proto_err("bad frame"))? {
            *used += n;
            if matches!(self.phase, Phase::Opening(_)) {
                self.opened(&fr)?;
                continue;
            }
            match fr.command {
                b"rsp" => {
                    let (code, text) =
                        rsp_status(fr.data).map_err(|_| proto_err("bad response"))?;
                    if code != 200 {
                        return Err(refused(format!(
                            "message refused: {code} {}",
                            String::from_utf8_lossy(text)
                        )));
                    }
                    acks.push(fr.txnr);
                }
                b"serverclose" => return Err(proto_err("session closed by the server")),
                _ => return Err(proto_err("unexpected frame")),
            }
        }
        Ok(())
    }
}
