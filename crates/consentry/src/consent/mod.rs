//! Consent: the signed `__Host-consent` cookie, the visitor's [`ConsentState`] and the
//! [`Consent`] handle every request carries.
//!
//! Trust is asymmetric. A grant counts only when this server signed it; a denial counts
//! from any source: an unsigned static-mode choice cookie, Global Privacy Control, an
//! expired or tampered cookie (which leaves the visitor undecided, everything optional off).
//!
//! The part's request side is [`ConsentPart::read`], its response side
//! [`ConsentPart::respond`]; what a decision changes is worked out here
//! ([`ConsentPart::requested`], [`ConsentPart::decided`]) and recorded by the endpoint.

use std::sync::Arc;

use consentry_banner::protocol::{self, CHOICE_COOKIE};
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderName, HeaderValue};

/// Global Privacy Control's request header, named once (a `&str` name is parsed on every
/// lookup).
const SEC_GPC: HeaderName = HeaderName::from_static("sec-gpc");

use crate::clock::{Clock, Moment};
use crate::codec::Codec;
use crate::cookies::{CookieSettings, RequestCookies};
use crate::keys::{Keyring, Purpose};
use crate::policy::{Category, DeclaredCookie, Granted, Policy};
use crate::random;

mod cookie;

use cookie::ConsentCookie;

/// The visitor's consent as this request sees it.
///
/// ```
/// use consentry::Consent;
///
/// fn audit_line(consent: &Consent) -> String {
///     let state = consent.state();
///     format!(
///         "consent {} decided={} revision={} gpc={}",
///         state.id().unwrap_or_default(),
///         state.decided(),
///         state.revision(),
///         state.gpc()
///     )
/// }
/// # let _ = audit_line;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentState {
    pub(crate) id: Option<[u8; 16]>,
    pub(crate) decided: bool,
    pub(crate) granted: u64,
    pub(crate) revision: u32,
    pub(crate) decided_at: Option<u64>,
    pub(crate) gpc: bool,
    /// The revision of an earlier decision this visitor made, when a revision bump asks
    /// them again.
    pub(crate) earlier_revision: Option<u32>,
}

impl ConsentState {
    /// The policy revision of the visitor's earlier decision, when a newer revision asks
    /// them again (the banner then says what changed since).
    ///
    /// ```
    /// use consentry::Consent;
    ///
    /// fn returning_after_a_change(consent: &Consent) -> bool {
    ///     consent.state().earlier_revision().is_some()
    /// }
    /// # let _ = returning_after_a_change;
    /// ```
    pub fn earlier_revision(&self) -> Option<u32> {
        self.earlier_revision
    }

    /// The granted categories, read against `policy`.
    pub(crate) fn granted_in<'p>(&self, policy: &'p Policy) -> Granted<'p> {
        Granted::new(policy, self.granted)
    }

    /// Whether the visitor made a choice that is still valid (same revision, not expired).
    pub fn decided(&self) -> bool {
        self.decided
    }

    /// Whether the request carried `Sec-GPC: 1`.
    pub fn gpc(&self) -> bool {
        self.gpc
    }

    /// The policy revision the state refers to.
    pub fn revision(&self) -> u32 {
        self.revision
    }

    /// When the visitor decided, in unix seconds.
    pub fn decided_at(&self) -> Option<u64> {
        self.decided_at
    }

    /// The random consent id (hex), shared by all decisions of one browser and found in the
    /// ledger; `None` before the first decision. Not linked to any account.
    pub fn id(&self) -> Option<String> {
        self.id.map(|id| hex(&id))
    }

    /// The state a decision starts from: this one with its consent id, or a fresh random
    /// one before the browser's first decision. The ledger record and the cookie both carry
    /// this id.
    pub(crate) fn deciding(&self) -> Self {
        let mut from = self.clone();
        from.id.get_or_insert_with(random::bytes::<16>);
        from
    }

    /// The JSON the endpoint returns: `{decided, granted[], revision, gpc, id, decidedAt}`
    /// (unix seconds).
    pub(crate) fn to_json(&self, policy: &Policy) -> serde_json::Value {
        serde_json::json!({
            "decided": self.decided,
            "granted": policy.names(self.granted).map(Category::as_str).collect::<Vec<_>>(),
            "revision": self.revision,
            "gpc": self.gpc,
            "id": self.id(),
            "decidedAt": self.decided_at,
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 15)]));
    }
    out
}

/// What a visitor asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Choice {
    AcceptAll,
    RejectAll,
    Granted(Vec<String>),
}

/// What the consent part read from one request.
pub(crate) struct ConsentRead {
    /// The visitor's consent as the request carried it (the handles the app gets are made
    /// from it by [`ConsentPart::handle`]).
    pub(crate) state: ConsentState,
    /// The request carried the unsigned static-mode choice cookie (deleted once the server
    /// records a decision).
    choice_cookie: bool,
    /// The decision cookie, when a previous key signed it: sealed again, unchanged, under
    /// the primary key.
    resign: Option<ConsentCookie>,
}

/// How far ahead of this server's clock a browser's clock may be for its choice cookie to
/// count.
const CHOICE_CLOCK_SKEW: u64 = 300;

/// The consent part of the layer: the policy and the signed consent cookie.
pub(crate) struct ConsentPart {
    policy: Policy,
    codec: Codec,
    cookie_name: String,
    cookies: CookieSettings,
    clock: Arc<dyn Clock>,
    fingerprint: u32,
}

impl ConsentPart {
    /// Consent under `policy` (validated by the caller).
    pub(crate) fn new(
        policy: Policy,
        keyring: &Keyring,
        cookies: CookieSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            fingerprint: policy.fingerprint(),
            policy,
            codec: Codec::new(keyring, Purpose::Consent),
            cookie_name: cookies.name("consent"),
            cookies,
            clock,
        }
    }

    pub(crate) fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The consent cookies, for the declaration.
    pub(crate) fn declares(&self) -> Vec<DeclaredCookie> {
        let days = self.policy.max_age.as_secs() / 86_400;
        vec![
            DeclaredCookie::exact(self.cookie_name.clone(), Category::NECESSARY)
                .purpose("Remembers your cookie choices, signed so nobody else can change them")
                .duration(format!("{days} days")),
            DeclaredCookie::exact(CHOICE_COOKIE, Category::NECESSARY)
                .purpose("Remembers your cookie choices where the banner runs without the server")
                .duration(format!("{days} days")),
        ]
    }

    /// The request side: the visitor's consent from the cookies and `Sec-GPC`.
    pub(crate) fn read(
        self: &Arc<Self>,
        headers: &HeaderMap,
        cookies: &RequestCookies<'_>,
        moment: &Moment<'_>,
    ) -> ConsentRead {
        let policy = &self.policy;
        let gpc = headers
            .get(SEC_GPC)
            .is_some_and(|value| value.as_bytes().trim_ascii() == b"1");
        let mut id = None;
        let mut decision = None;
        let mut resign = None;
        let mut earlier = None;
        for value in cookies.values(&self.cookie_name) {
            let now = moment.now();
            let Ok(opened) = self.codec.open(&self.cookie_name, value, now) else {
                continue;
            };
            let Some(candidate) = ConsentCookie::decode(&opened.body) else {
                continue;
            };
            id.get_or_insert(candidate.id);
            if candidate.revision < policy.revision {
                earlier = earlier.max(Some(candidate.revision));
            }
            if candidate.revision == policy.revision
                && candidate.fingerprint == self.fingerprint
                && candidate.decided_at <= now
            {
                decision = Some(candidate);
                if !opened.by_primary {
                    resign = Some(candidate);
                }
                break;
            }
        }
        let necessary = policy.necessary_mask();
        let mut granted = decision.map_or(0, |d| d.granted) & policy.all_mask();
        // Denials from unsigned sources. A static-mode choice cookie's grants never count;
        // its denials count, whatever revision they were made under, when the choice is
        // newer than the signed decision and not from the future (see `protocol`), so a
        // planted or stale choice cannot override a decision the visitor made after it.
        let mut choice_cookie = false;
        for value in cookies.values(CHOICE_COOKIE) {
            choice_cookie = true;
            let Some(choice) = protocol::parse_choice(value) else {
                continue;
            };
            let newer = match (choice.time, decision) {
                (_, None) => true,
                (None, Some(_)) => false,
                (Some(time), Some(decision)) => {
                    let time = u64::from(time);
                    time > decision.decided_at && time <= moment.now() + CHOICE_CLOCK_SKEW
                }
            };
            if newer {
                granted &= choice
                    .granted()
                    .filter_map(|id| policy.bit_of(id))
                    .fold(necessary, |mask, bit| mask | bit);
            }
        }
        if gpc && !decision.is_some_and(|d| d.gpc) {
            granted &= !policy.gpc_mask();
        }
        ConsentRead {
            state: ConsentState {
                id: decision.map(|d| d.id).or(id),
                decided: decision.is_some(),
                granted: granted | necessary,
                revision: policy.revision,
                decided_at: decision.map(|d| d.decided_at),
                gpc,
                earlier_revision: if decision.is_some() { None } else { earlier },
            },
            choice_cookie,
            resign,
        }
    }

    /// The app's handle on `state`.
    pub(crate) fn handle(self: &Arc<Self>, state: ConsentState) -> Consent {
        Consent {
            part: Arc::clone(self),
            state,
        }
    }

    /// The categories a choice grants, `necessary` included; the unknown category id when
    /// the choice names one. "Accept all" under Global Privacy Control leaves the GPC
    /// categories off.
    pub(crate) fn requested(&self, state: &ConsentState, choice: &Choice) -> Result<u64, String> {
        let policy = &self.policy;
        let necessary = policy.necessary_mask();
        Ok(match choice {
            Choice::RejectAll => necessary,
            Choice::AcceptAll => {
                let gpc = if state.gpc { policy.gpc_mask() } else { 0 };
                policy.all_mask() & !gpc
            }
            Choice::Granted(ids) => {
                let mut mask = necessary;
                for id in ids {
                    mask |= policy.bit_of(id).ok_or_else(|| id.clone())?;
                }
                mask
            }
        })
    }

    /// The state after deciding `granted` at `now`, from [`ConsentState::deciding`]'s state.
    pub(crate) fn decided(&self, from: &ConsentState, granted: u64, now: u64) -> ConsentState {
        ConsentState {
            id: from.id,
            decided: true,
            granted,
            revision: self.policy.revision,
            decided_at: Some(now),
            gpc: from.gpc,
            earlier_revision: None,
        }
    }

    /// The response side: after a decision (the state the endpoint recorded), the signed
    /// cookie recording it, and the deletion of a static-mode choice cookie the request
    /// carried.
    pub(crate) fn respond(
        &self,
        read: &ConsentRead,
        decided: Option<&ConsentState>,
        headers: &mut HeaderMap,
    ) {
        let Some(state) = decided else {
            if let Some(decision) = &read.resign {
                headers.append(SET_COOKIE, self.seal_cookie(decision));
            }
            return;
        };
        headers.append(SET_COOKIE, self.seal(state));
        if read.choice_cookie {
            headers.append(SET_COOKIE, self.cookies.expire_script_cookie(CHOICE_COOKIE));
        }
    }

    /// A signed cookie recording `state` as decided; its GPC flag says whether Global
    /// Privacy Control was on at the decision (so grants of GPC categories were explicit).
    fn seal(&self, state: &ConsentState) -> HeaderValue {
        let decision = ConsentCookie {
            id: state.id.unwrap_or_default(),
            granted: state.granted,
            revision: self.policy.revision,
            fingerprint: self.fingerprint,
            decided_at: state.decided_at.unwrap_or_else(|| self.clock.now()),
            gpc: state.gpc,
        };
        self.seal_cookie(&decision)
    }

    /// The `Set-Cookie` for a decision, expiring one policy lifetime after it was made.
    fn seal_cookie(&self, decision: &ConsentCookie) -> HeaderValue {
        let expires_at = decision
            .decided_at
            .saturating_add(self.policy.max_age.as_secs());
        let body = decision.encode();
        let value = self.codec.sealed(&self.cookie_name, expires_at, &body);
        let left = expires_at.saturating_sub(self.clock.now());
        self.cookies.set(
            &self.cookie_name,
            &value,
            std::time::Duration::from_secs(left),
        )
    }
}

/// The visitor's consent, found in the request extensions (or extracted with the `axum`
/// feature). Use it to decide what to do; render with [`Page`](crate::Page).
///
/// ```
/// use consentry::{Category, Consent};
///
/// fn track(consent: &Consent) -> bool {
///     consent.allows(&Category::ANALYTICS)
/// }
/// # let _ = track;
/// ```
#[derive(Clone)]
pub struct Consent {
    part: Arc<ConsentPart>,
    state: ConsentState,
}

impl std::fmt::Debug for Consent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consent")
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Consent {
    /// Whether `category` may be used for this visitor. `necessary` always may.
    pub fn allows(&self, category: &Category) -> bool {
        self.granted_view().allows(category)
    }

    /// Whether the visitor decided (if not, render the banner).
    pub fn decided(&self) -> bool {
        self.state.decided
    }

    /// The full state.
    pub fn state(&self) -> &ConsentState {
        &self.state
    }

    /// The granted categories, in policy order, `necessary` included.
    pub fn granted(&self) -> Vec<Category> {
        self.granted_view()
            .definitions()
            .map(|def| def.category().clone())
            .collect()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.part.policy
    }

    pub(crate) fn granted_view(&self) -> Granted<'_> {
        self.state.granted_in(&self.part.policy)
    }
}
