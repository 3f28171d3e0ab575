//! The signed `__Host-consent` cookie payload. (The unsigned static-mode choice cookie is
//! the banner's, in `consentry_banner::protocol`.)

/// A decision as stored in the signed consent cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConsentCookie {
    /// Random id of this browser's consent, not linked to any account.
    pub(crate) id: [u8; 16],
    /// Granted categories as a bitmask over the policy's category order.
    pub(crate) granted: u64,
    pub(crate) revision: u32,
    pub(crate) fingerprint: u32,
    pub(crate) decided_at: u64,
    /// Global Privacy Control was on when the visitor decided, so grants of GPC-denied
    /// categories were explicit.
    pub(crate) gpc: bool,
}

const LEN: usize = 16 + 8 + 4 + 4 + 8 + 1;

impl ConsentCookie {
    pub(crate) fn encode(&self) -> [u8; LEN] {
        let mut out = [0u8; LEN];
        out[..16].copy_from_slice(&self.id);
        out[16..24].copy_from_slice(&self.granted.to_be_bytes());
        out[24..28].copy_from_slice(&self.revision.to_be_bytes());
        out[28..32].copy_from_slice(&self.fingerprint.to_be_bytes());
        out[32..40].copy_from_slice(&self.decided_at.to_be_bytes());
        out[40] = u8::from(self.gpc);
        out
    }

    pub(crate) fn decode(body: &[u8]) -> Option<Self> {
        if body.len() != LEN || body[40] > 1 {
            return None;
        }
        Some(Self {
            id: body[..16].try_into().ok()?,
            granted: u64::from_be_bytes(body[16..24].try_into().ok()?),
            revision: u32::from_be_bytes(body[24..28].try_into().ok()?),
            fingerprint: u32::from_be_bytes(body[28..32].try_into().ok()?),
            decided_at: u64::from_be_bytes(body[32..40].try_into().ok()?),
            gpc: body[40] == 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_round_trips_and_rejects_bad_lengths() {
        let decision = ConsentCookie {
            id: [7; 16],
            granted: 0b101,
            revision: 9,
            fingerprint: 0xDEAD_BEEF,
            decided_at: 1_800_000_000,
            gpc: true,
        };
        assert_eq!(ConsentCookie::decode(&decision.encode()), Some(decision));
        assert_eq!(ConsentCookie::decode(&decision.encode()[..40]), None);
        let mut bad = decision.encode();
        bad[40] = 2;
        assert_eq!(ConsentCookie::decode(&bad), None);
    }
}
