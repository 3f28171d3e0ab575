//! Partner referral: visitors who arrive through a registered partner link (`?ref=acme`) or
//! a partner portal host are tagged, so orders can be attributed to the partner.
//!
//! The `__Host-ref` cookie holds the partner id and two timestamps, signed with its own
//! subkey, and is written only when the partner's consent category is granted. Before
//! consent, the referral still applies to the request and travels, signed, inside the
//! consent form, so it is stored at the moment of consent instead of being lost.
//!
//! The part's request side is [`ReferralPart::read`] (with [`ReferralPart::pending_token`]
//! and [`ReferralPart::clean_url`] deciding from what it read), its response side
//! [`ReferralPart::respond`].

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method, Uri};

use http::header::SET_COOKIE;

use crate::clock::{Clock, Moment};
use crate::codec::Codec;
use crate::cookies::{CookieSettings, RequestCookies};
use crate::keys::{Keyring, Purpose};
use crate::origin::{host_part, is_local_path};
use crate::policy::{DeclaredCookie, Granted};

mod config;

pub use config::{Attribution, Partner, ReferralConfig};

/// How the visitor reached the partner's referral in this request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Via {
    /// A partner link (`?ref=<partner>`) on this request.
    Link,
    /// A request to one of the partner's portal hosts.
    Portal,
    /// The referral cookie from an earlier visit.
    Cookie,
}

/// The partner a visitor was referred by, in the request extensions (or `Option<Referral>`
/// with the `axum` feature) whenever there is one.
///
/// ```
/// use consentry::Referral;
///
/// fn attribute(referral: Option<&Referral>) -> Option<String> {
///     referral.map(|r| r.partner_id().to_owned())
/// }
/// # assert_eq!(attribute(None), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// Shared with the part: handing a referral to a request copies no partner data.
    partner: Arc<Partner>,
    via: Via,
    first_touch: u64,
    last_touch: u64,
}

impl Referral {
    /// The partner's id.
    pub fn partner_id(&self) -> &str {
        &self.partner.id
    }

    /// The partner's display name.
    pub fn partner_name(&self) -> &str {
        &self.partner.name
    }

    /// The registered partner.
    pub fn partner(&self) -> &Partner {
        &self.partner
    }

    /// How this request carries the referral.
    pub fn via(&self) -> Via {
        self.via
    }

    /// When the visitor first came through this partner (unix seconds).
    pub fn first_touch(&self) -> u64 {
        self.first_touch
    }

    /// The latest visit through this partner (unix seconds).
    pub fn last_touch(&self) -> u64 {
        self.last_touch
    }
}

/// A referral as stored: partner index and two times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Touchpoint {
    pub(crate) partner: usize,
    pub(crate) first: u64,
    pub(crate) last: u64,
}

/// Name of the signed token carrying a pending referral through the consent form. It is
/// never a cookie: the name only separates its MAC from the cookie's.
const PENDING: &str = "consentry-pending-referral";
/// How long a pending referral token stays valid.
const PENDING_TTL: u64 = 24 * 3600;

/// The referral part of the layer: the partner registry and the signed referral cookie.
pub(crate) struct ReferralPart {
    config: ReferralConfig,
    /// The configured partners, in order (moved out of `config`), shared with the
    /// requests they refer ([`Referral::partner`]).
    partners: Vec<Arc<Partner>>,
    /// Whether any partner has a portal host (else no request's host is looked at).
    portals: bool,
    codec: Codec,
    cookie_name: String,
    cookies: CookieSettings,
    clock: Arc<dyn Clock>,
}

/// What the referral part read from one request.
pub(crate) struct ReferralRead {
    /// From a valid cookie.
    stored: Option<Touchpoint>,
    /// The cookie was signed by a previous key: sealed again under the primary one.
    resign: bool,
    /// The touch of this request (link or portal), merged with `stored`.
    touched: Option<Touchpoint>,
    /// The referral the request is handled with.
    pub(crate) current: Option<Referral>,
    /// This request tagged through a link (candidate for a clean-URL redirect).
    via_link: bool,
}

impl ReferralPart {
    pub(crate) fn new(
        mut config: ReferralConfig,
        keyring: &Keyring,
        cookies: CookieSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let partners: Vec<Arc<Partner>> = std::mem::take(&mut config.partners)
            .into_iter()
            .map(Arc::new)
            .collect();
        Self {
            portals: partners.iter().any(|p| !p.portal_hosts.is_empty()),
            partners,
            config,
            codec: Codec::new(keyring, Purpose::Referral),
            cookie_name: cookies.name("ref"),
            cookies,
            clock,
        }
    }

    fn partner(&self, index: usize) -> &Partner {
        &self.partners[index]
    }

    fn encode(&self, touch: &Touchpoint) -> Vec<u8> {
        let id = self.partner(touch.partner).id.as_bytes();
        let mut body = Vec::with_capacity(1 + id.len() + 16);
        body.push(u8::try_from(id.len()).expect("ids are at most 32 bytes"));
        body.extend_from_slice(id);
        body.extend_from_slice(&touch.first.to_be_bytes());
        body.extend_from_slice(&touch.last.to_be_bytes());
        body
    }

    fn decode(&self, body: &[u8]) -> Option<Touchpoint> {
        let (&len, rest) = body.split_first()?;
        let len = usize::from(len);
        if rest.len() != len + 16 {
            return None;
        }
        let id = std::str::from_utf8(&rest[..len]).ok()?;
        let partner = self.partners.iter().position(|p| p.id == id)?;
        let first = u64::from_be_bytes(rest[len..len + 8].try_into().ok()?);
        let last = u64::from_be_bytes(rest[len + 8..].try_into().ok()?);
        (first <= last).then_some(Touchpoint {
            partner,
            first,
            last,
        })
    }

    fn expires_at(&self, touch: &Touchpoint) -> u64 {
        let basis = match self.config.attribution {
            Attribution::FirstTouch => touch.first,
            Attribution::LastTouch => touch.last,
        };
        basis.saturating_add(self.config.window.as_secs())
    }

    fn partner_for_host(&self, host: &str) -> Option<usize> {
        let host = host_part(host);
        self.partners
            .iter()
            .position(|p| (p.portal_hosts.iter()).any(|portal| portal.eq_ignore_ascii_case(host)))
    }

    fn partner_for_link(&self, uri: &Uri) -> Option<usize> {
        let query = uri.query()?;
        let value = form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| *key == *self.config.param)
            .map(|(_, value)| value)?;
        let found = config::is_slug(&value)
            .then(|| self.partners.iter().position(|p| p.id == value))
            .flatten();
        if found.is_none() {
            tracing::debug!("ignored a referral parameter naming no registered partner");
        }
        found
    }

    /// Combines what was stored with a new touch, per the attribution model.
    fn merge(&self, stored: Option<Touchpoint>, partner: usize, now: u64) -> Touchpoint {
        match stored {
            Some(s) if s.partner == partner => Touchpoint {
                last: now.max(s.last),
                ..s
            },
            Some(s) if self.config.attribution == Attribution::FirstTouch => s,
            _ => Touchpoint {
                partner,
                first: now,
                last: now,
            },
        }
    }

    /// The referral cookie, declared under each partner category in use.
    pub(crate) fn declares(&self) -> Vec<DeclaredCookie> {
        let window = self.config.window.as_secs() / 86_400;
        let partners = &self.partners;
        let mut declared: Vec<DeclaredCookie> = Vec::new();
        for partner in partners {
            if declared.iter().any(|d| d.category() == &partner.category) {
                continue;
            }
            let names: Vec<&str> = partners
                .iter()
                .filter(|p| p.category == partner.category)
                .map(|p| p.name.as_str())
                .collect();
            declared.push(
                DeclaredCookie::exact(self.cookie_name.clone(), partner.category.clone())
                    .purpose(format!(
                        "Recognises a visitor referred by a partner ({}) so orders can be attributed; holds only the partner id and two dates",
                        names.join(", ")
                    ))
                    .duration(format!("{window} days")),
            );
        }
        declared
    }

    /// The request side: the stored referral, and this request's touch (link or portal).
    ///
    /// A stored referral counts only while its partner's category is `granted`: after a
    /// withdrawal (or under Global Privacy Control) a cookie that is still held, or replayed,
    /// attributes nothing. A link or portal touch on this request always applies to it.
    pub(crate) fn read(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        cookies: &RequestCookies<'_>,
        granted: Granted<'_>,
        moment: &Moment<'_>,
    ) -> ReferralRead {
        let opened = cookies
            .values(&self.cookie_name)
            .filter_map(|value| {
                (self.codec)
                    .open(&self.cookie_name, value, moment.now())
                    .ok()
            })
            .find_map(|opened| Some((self.decode(&opened.body)?, opened.by_primary)));
        let stored = opened.map(|(touch, _)| touch);
        let counted = stored.filter(|s| granted.allows(&self.partner(s.partner).category));
        let portal = self
            .portals
            .then(|| {
                headers
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .or_else(|| uri.authority().map(http::uri::Authority::as_str))
                    .and_then(|host| self.partner_for_host(host))
            })
            .flatten();
        let link = if portal.is_none() && matches!(*method, Method::GET | Method::HEAD) {
            self.partner_for_link(uri)
        } else {
            None
        };
        let (touched, via) = match (portal, link) {
            (Some(partner), _) => (
                Some(self.merge(counted, partner, moment.now())),
                Via::Portal,
            ),
            (None, Some(partner)) => (Some(self.merge(counted, partner, moment.now())), Via::Link),
            (None, None) => (None, Via::Cookie),
        };
        let current = touched.or(counted).map(|touch| {
            // The request is handled with the partner of this touch (a first-touch model may
            // keep an earlier partner for attribution, but a portal still acts as itself).
            let partner = match (via, portal) {
                (Via::Portal, Some(portal)) => portal,
                _ => touch.partner,
            };
            Referral {
                partner: Arc::clone(&self.partners[partner]),
                via,
                first_touch: touch.first,
                last_touch: touch.last,
            }
        });
        ReferralRead {
            stored,
            resign: opened.is_some_and(|(_, by_primary)| !by_primary),
            touched,
            current,
            via_link: link.is_some(),
        }
    }

    /// A signed token carrying this request's referral through the consent form, when the
    /// partner's category is not granted yet (so the cookie cannot be written now).
    pub(crate) fn pending_token(
        &self,
        read: &ReferralRead,
        granted: Granted<'_>,
    ) -> Option<String> {
        read.touched
            .filter(|touch| !granted.allows(&self.partner(touch.partner).category))
            .map(|touch| self.seal_pending(&touch))
    }

    fn seal_pending(&self, touch: &Touchpoint) -> String {
        let now = self.clock.now();
        self.codec
            .seal(PENDING, now + PENDING_TTL, &self.encode(touch))
    }

    /// With clean URLs on, a `GET` that tagged a partner through a link and can store the
    /// referral now is redirected to the same URL without the parameter: the location.
    pub(crate) fn clean_url(
        &self,
        read: &ReferralRead,
        granted: Granted<'_>,
        method: &Method,
        uri: &Uri,
    ) -> Option<String> {
        if !self.config.clean_urls || !read.via_link || method != Method::GET {
            return None;
        }
        let touch = read.touched?;
        if !granted.allows(&self.partner(touch.partner).category) {
            return None;
        }
        // The location is this request's own path: refuse one a browser would read as
        // another site (`//host/…`, `/\\host/…`) rather than redirect there.
        if !is_local_path(uri.path()) {
            return None;
        }
        let param = self.config.param.as_str();
        let query = uri.query().unwrap_or_default();
        let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .filter(|(key, _)| key != param)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        let mut location = uri.path().to_owned();
        if !kept.is_empty() {
            location.push('?');
            location.push_str(
                &form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(kept)
                    .finish(),
            );
        }
        Some(location)
    }

    /// The referral a pending token carries, if it verifies.
    pub(crate) fn open_pending(&self, token: &str) -> Option<Touchpoint> {
        let now = self.clock.now();
        let opened = self.codec.open(PENDING, token, now).ok()?;
        self.decode(&opened.body)
    }

    fn set_cookie(&self, touch: &Touchpoint) -> HeaderValue {
        let now = self.clock.now();
        let expires_at = self.expires_at(touch);
        let body = self.encode(touch);
        let value = self.codec.sealed(&self.cookie_name, expires_at, &body);
        self.cookies.set(
            &self.cookie_name,
            &value,
            Duration::from_secs(expires_at.saturating_sub(now)),
        )
    }

    fn expire_cookie(&self) -> HeaderValue {
        self.cookies.expire(&self.cookie_name)
    }

    /// The response side: writes the referral cookie when the partner's category is
    /// `granted` in the final consent state (`pending` is a referral the visitor's consent
    /// form carried), and deletes a stored one whose category is not granted.
    pub(crate) fn respond(
        &self,
        read: &ReferralRead,
        pending: Option<Touchpoint>,
        granted: Granted<'_>,
        moment: &Moment<'_>,
        headers: &mut HeaderMap,
    ) {
        let desired = read.touched.or_else(|| {
            pending.map(|p| self.merge(read.stored, p.partner, moment.now().max(p.last)))
        });
        let allowed = |touch: &Touchpoint| granted.allows(&self.partner(touch.partner).category);
        let cookie = match (desired, read.stored) {
            (Some(touch), _) if allowed(&touch) => Some(self.set_cookie(&touch)),
            (_, Some(stored)) if !allowed(&stored) => Some(self.expire_cookie()),
            (None, Some(stored)) if read.resign => Some(self.set_cookie(&stored)),
            _ => None,
        };
        if let Some(cookie) = cookie {
            headers.append(SET_COOKIE, cookie);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::keys::Key;

    fn runtime(attribution: Attribution) -> (ReferralPart, ManualClock) {
        let clock = ManualClock::new(1_800_000_000);
        let config = ReferralConfig::new()
            .partner(Partner::new("acme", "Acme").portal_host("acme.localhost"))
            .partner(Partner::new("globex", "Globex"))
            .attribution(attribution);
        let keyring = Keyring::new(1, Key::from_bytes(&[8; 32]).unwrap());
        (
            ReferralPart::new(
                config,
                &keyring,
                CookieSettings { dev: false },
                Arc::new(clock.clone()),
            ),
            clock,
        )
    }

    fn evaluate(
        runtime: &ReferralPart,
        uri: &str,
        host: &str,
        cookie: Option<&str>,
    ) -> ReferralRead {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        if let Some(cookie) = cookie {
            headers.insert(
                http::header::COOKIE,
                format!("__Host-ref={cookie}").parse().unwrap(),
            );
        }
        let cookies = RequestCookies::parse(&headers);
        let policy = crate::policy::Policy::new(1);
        let everything = Granted::new(&policy, policy.all_mask());
        runtime.read(
            &Method::GET,
            &uri.parse().unwrap(),
            &headers,
            &cookies,
            everything,
            &Moment::new(&*runtime.clock),
        )
    }

    fn cookie_value(header: &HeaderValue) -> String {
        header
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .trim_start_matches("__Host-ref=")
            .to_owned()
    }

    #[test]
    fn links_portals_and_unknown_values() {
        let (runtime, _) = runtime(Attribution::LastTouch);
        let link = evaluate(&runtime, "/?ref=acme", "shop.test", None);
        assert_eq!(link.current.as_ref().unwrap().via(), Via::Link);
        assert_eq!(link.current.unwrap().partner_id(), "acme");
        let portal = evaluate(&runtime, "/", "ACME.localhost:3000", None);
        assert_eq!(portal.current.unwrap().via(), Via::Portal);
        for uri in [
            "/?ref=nobody",
            "/?ref=ACME",
            "/?ref=%3Cscript%3E",
            "/?ref=",
            "/?reference=acme",
        ] {
            assert!(
                evaluate(&runtime, uri, "shop.test", None).current.is_none(),
                "{uri}"
            );
        }
        assert!(
            evaluate(&runtime, "/", "evil.acme.localhost", None)
                .current
                .is_none()
        );
    }

    #[test]
    fn first_and_last_touch_models() {
        for (model, expected) in [
            (Attribution::FirstTouch, "acme"),
            (Attribution::LastTouch, "globex"),
        ] {
            let (runtime, clock) = runtime(model);
            let first = evaluate(&runtime, "/?ref=acme", "shop.test", None);
            let cookie = cookie_value(&runtime.set_cookie(&first.touched.unwrap()));
            clock.advance(Duration::from_secs(3600));
            let second = evaluate(&runtime, "/?ref=globex", "shop.test", Some(&cookie));
            assert_eq!(
                runtime.partner(second.touched.unwrap().partner).id,
                expected,
                "{model:?}"
            );
            let cookie = cookie_value(&runtime.set_cookie(&second.touched.unwrap()));
            let later = evaluate(&runtime, "/", "shop.test", Some(&cookie));
            let referral = later.current.unwrap();
            assert_eq!(referral.partner_id(), expected);
            assert_eq!(referral.via(), Via::Cookie);
        }
    }

    #[test]
    fn the_window_ends_the_referral() {
        let (runtime, clock) = runtime(Attribution::LastTouch);
        let touch = evaluate(&runtime, "/?ref=acme", "shop.test", None)
            .touched
            .unwrap();
        let cookie = cookie_value(&runtime.set_cookie(&touch));
        clock.advance(ReferralConfig::DEFAULT_WINDOW.saturating_sub(Duration::from_secs(1)));
        assert!(
            evaluate(&runtime, "/", "shop.test", Some(&cookie))
                .current
                .is_some()
        );
        clock.advance(Duration::from_secs(1));
        assert!(
            evaluate(&runtime, "/", "shop.test", Some(&cookie))
                .current
                .is_none(),
            "expired"
        );
    }

    #[test]
    fn pending_tokens_and_cookies_are_not_interchangeable() {
        let (runtime, _) = runtime(Attribution::LastTouch);
        let touch = evaluate(&runtime, "/?ref=globex", "shop.test", None)
            .touched
            .unwrap();
        let token = runtime.seal_pending(&touch);
        assert_eq!(runtime.open_pending(&token), Some(touch));
        assert!(
            evaluate(&runtime, "/", "shop.test", Some(&token))
                .current
                .is_none(),
            "a token is not a cookie"
        );
        let cookie = cookie_value(&runtime.set_cookie(&touch));
        assert_eq!(
            runtime.open_pending(&cookie),
            None,
            "a cookie is not a token"
        );
    }
}
