//! The gate, consent's response side: what makes "gated" true on the server. Outgoing
//! `Set-Cookie` headers of categories the visitor has not granted are removed, cookies of
//! withdrawn categories are deleted, and (optionally) the CSP lets third-party origins
//! load only once granted.
//!
//! Its request side is [`GatePart::read`] (declared cookies the request carries, the CSP
//! nonce), its response side [`GatePart::respond`].

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError, RwLock};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};

use crate::cookies::RequestCookies;
use crate::error::{ConfigError, Part};
use crate::hashing::FoldHash;
use crate::policy::{Category, DeclaredCookie, Granted, Policy};
use crate::random::Nonce;

mod csp;
mod declaration;

pub use csp::Csp;
pub(crate) use csp::CspTemplate;

/// What the gate read from one request.
pub(crate) struct GateRead {
    /// Declared, non-necessary cookies the request carried: name and registry index.
    present: Vec<(String, usize)>,
    /// This response's CSP nonce, when the CSP is on.
    pub(crate) nonce: Option<Nonce>,
}

/// The gate part of the layer.
pub(crate) struct GatePart {
    registry: CookieRegistry,
    strict: bool,
    csp: Option<Csp>,
    /// Deletions carry `Secure` (off only for plain-http development).
    secure: bool,
    /// Undeclared cookie names already warned about (each is logged at `warn` once).
    warned: UndeclaredLog,
    /// The CSP per granted set, with the nonce left out.
    templates: Templates,
}

/// The undeclared cookie names the gate has warned about, so each is a warning once and a
/// debug line after that. Bounded: past [`UndeclaredLog::MAX`] names, new ones are warned
/// about every time rather than remembered.
#[derive(Default)]
struct UndeclaredLog(Mutex<HashSet<String>>);

impl UndeclaredLog {
    const MAX: usize = 1024;

    /// Whether `name` is met for the first time.
    fn first(&self, name: &str) -> bool {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(name) {
            return false;
        }
        if seen.len() < Self::MAX {
            seen.insert(name.to_owned());
        }
        true
    }
}

impl GatePart {
    /// A gate over the site's `declared` cookies and the layer's own `managed` ones (set
    /// and deleted by their parts, listed in the declaration, never deleted by the gate),
    /// for visitors whose consent is under `policy`.
    pub(crate) fn new(
        declared: Vec<DeclaredCookie>,
        managed: Vec<DeclaredCookie>,
        strict: bool,
        csp: Option<Csp>,
        secure: bool,
        policy: &Policy,
    ) -> Self {
        let mut registry = CookieRegistry::default();
        for cookie in declared {
            registry.declare(cookie, false);
        }
        for cookie in managed {
            registry.declare(cookie, true);
        }
        let templates = Templates::new(csp.as_ref(), policy);
        Self {
            registry,
            strict,
            csp,
            secure,
            warned: UndeclaredLog::default(),
            templates,
        }
    }

    /// Every declaration names a category of `policy`.
    pub(crate) fn validate(&self, policy: &Policy) -> Result<(), ConfigError> {
        self.registry
            .entries
            .iter()
            .try_for_each(|entry| entry.cookie.validate(policy))
            .map_err(|invalid| ConfigError::invalid(Part::Gate, invalid.setting, invalid.reason))
    }

    /// Whether responses carry a CSP.
    pub(crate) fn csp_enabled(&self) -> bool {
        self.csp.is_some()
    }

    /// Whether responses carry an enforced CSP (with `frame-ancestors 'self'`).
    pub(crate) fn csp_enforced(&self) -> bool {
        self.csp.as_ref().is_some_and(|csp| !csp.report_only)
    }

    /// The request side: the declared cookies the request carries, and a fresh nonce.
    pub(crate) fn read(&self, cookies: &RequestCookies<'_>) -> GateRead {
        GateRead {
            present: self.registry.present(cookies),
            nonce: self.csp.is_some().then(Nonce::new),
        }
    }

    /// The response side, for a visitor whose consent is `granted`: removes `Set-Cookie`
    /// headers the visitor has not consented to, deletes cookies of categories not granted
    /// that the request carried, and sets the CSP (unless the app set its own).
    pub(crate) fn respond(&self, read: &GateRead, granted: Granted<'_>, headers: &mut HeaderMap) {
        let gate = Gate {
            registry: &self.registry,
            strict: self.strict,
            secure: self.secure,
            allows: &|category| granted.allows(category),
            warned: &self.warned,
        };
        gate.filter(headers);
        gate.delete_withdrawn(headers, &read.present);
        if let (Some(csp), Some(nonce)) = (&self.csp, read.nonce.as_ref().map(Nonce::as_bytes)) {
            let kind = headers.get(CONTENT_TYPE);
            let html = kind.is_some_and(|kind| kind.as_bytes().starts_with(b"text/html"));
            let passive = passive(kind);
            let name = csp.header_name();
            if !passive && !headers.contains_key(&name) {
                let value = self.templates.fill(csp, granted, nonce);
                if let Ok(value) = HeaderValue::try_from(value) {
                    headers.insert(name, value);
                }
            }
            // A page whose scripts carry this response's nonce must not be served to anyone
            // else from a shared cache (the nonce would be known and reused).
            if html && !headers.contains_key(CACHE_CONTROL) {
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
            }
        }
    }

    /// The cookie declaration as JSON.
    pub(crate) fn declaration_json(&self, policy: &Policy, language: &str) -> serde_json::Value {
        self.registry.declaration_json(policy, language)
    }

    /// The cookie declaration as an HTML table.
    pub(crate) fn declaration_html(&self, policy: &Policy, language: &str) -> String {
        self.registry.declaration_html(policy, language)
    }

    /// The cookies declared under `category`, as the banner's settings view lists them.
    pub(crate) fn banner_cookies(
        &self,
        category: &Category,
    ) -> Vec<consentry_banner::markup::CookieInfo> {
        self.registry
            .cookies()
            .filter(|cookie| &cookie.category == category)
            .map(|cookie| consentry_banner::markup::CookieInfo {
                name: cookie.name.clone(),
                prefix: cookie.prefix,
                provider: cookie.provider.clone(),
                purpose: cookie.purpose.clone(),
                duration: cookie.duration.clone(),
                domain: cookie.domain.clone(),
                path: cookie.path.clone(),
            })
            .collect()
    }
}

/// Each granted set's CSP, rendered once: a response fills in its nonce.
///
/// Only the granted categories that allow origins change the policy, so a set is keyed by
/// those alone, and the policy of a set that grants none of them (every first visit) is
/// rendered when the layer is built and read without a lock.
struct Templates {
    /// The categories that allow origins, as a mask in policy order.
    with_origins: u64,
    /// The policy for a set that grants none of them (with the CSP on).
    base: Option<CspTemplate>,
    by_granted: RwLock<HashMap<u64, CspTemplate, FoldHash>>,
}

impl Templates {
    /// At most this many granted sets are kept; others are rendered each time.
    const MAX: usize = 256;

    fn new(csp: Option<&Csp>, policy: &Policy) -> Self {
        Self {
            with_origins: policy.origins_mask(),
            base: csp.map(|csp| csp.template(&[])),
            by_granted: RwLock::default(),
        }
    }

    /// `csp` (the policy these templates were made for) for `granted`, with `nonce`
    /// filled in; the template is rendered once per granted set, with the granted
    /// categories' origins, and filled under the read lock after that.
    fn fill(&self, csp: &Csp, granted: Granted<'_>, nonce: &[u8]) -> Vec<u8> {
        let key = granted.mask() & self.with_origins;
        if let (0, Some(base)) = (key, &self.base) {
            return base.fill(nonce);
        }
        if let Some(found) = self
            .by_granted
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
        {
            return found.fill(nonce);
        }
        let origins: Vec<&str> = granted
            .definitions()
            .flat_map(|def| def.origins().iter().map(String::as_str))
            .collect();
        let template = csp.template(&origins);
        let value = template.fill(nonce);
        let mut all = self
            .by_granted
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if all.len() < Self::MAX {
            all.insert(key, template);
        }
        value
    }
}

/// One declaration in the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    cookie: DeclaredCookie,
    /// Set and deleted by the layer's own parts, not by the gate.
    managed: bool,
}

/// Every declared cookie. Produces the declaration and drives the gate.
#[derive(Debug, Clone, Default)]
struct CookieRegistry {
    entries: Vec<Entry>,
}

impl CookieRegistry {
    fn declare(&mut self, cookie: DeclaredCookie, managed: bool) {
        self.entries.retain(|e| {
            let e = &e.cookie;
            !(e.name == cookie.name && e.prefix == cookie.prefix && e.category == cookie.category)
        });
        self.entries.push(Entry { cookie, managed });
    }

    /// The entry for `name`: an exact declaration, else the longest matching prefix.
    fn lookup_entry(&self, name: &str) -> Option<(usize, &Entry)> {
        self.entries
            .iter()
            .enumerate()
            .find(|(_, e)| !e.cookie.prefix && e.cookie.name == name)
            .or_else(|| {
                self.entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.cookie.prefix && e.cookie.matches(name))
                    .max_by_key(|(_, e)| e.cookie.name.len())
            })
    }

    /// The declaration for `name`.
    fn lookup(&self, name: &str) -> Option<&DeclaredCookie> {
        self.lookup_entry(name).map(|(_, entry)| &entry.cookie)
    }

    fn cookies(&self) -> impl Iterator<Item = &DeclaredCookie> {
        self.entries.iter().map(|entry| &entry.cookie)
    }

    /// Declared, non-necessary cookies the request carries.
    fn present(&self, cookies: &RequestCookies<'_>) -> Vec<(String, usize)> {
        let mut present: Vec<(String, usize)> = Vec::new();
        for name in cookies.names() {
            if present.iter().any(|(seen, _)| seen == name) {
                continue;
            }
            if let Some((index, _)) = self
                .lookup_entry(name)
                .filter(|(_, e)| e.cookie.category != Category::NECESSARY && !e.managed)
            {
                present.push((name.to_owned(), index));
            }
        }
        present
    }
}

/// Applies the gate to a response's headers.
struct Gate<'a> {
    registry: &'a CookieRegistry,
    strict: bool,
    secure: bool,
    /// Whether a category is granted for this visitor.
    allows: &'a dyn Fn(&Category) -> bool,
    warned: &'a UndeclaredLog,
}

impl Gate<'_> {
    /// Removes `Set-Cookie` headers the visitor has not consented to.
    fn filter(&self, headers: &mut HeaderMap) {
        if !headers.contains_key(SET_COOKIE) {
            return;
        }
        let values: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
        headers.remove(SET_COOKIE);
        for mut value in values {
            if self.keep(&mut value) {
                headers.append(SET_COOKIE, value);
            }
        }
    }

    /// Whether a `Set-Cookie` value may pass; a deletion passes rewritten into its
    /// canonical form.
    fn keep(&self, value: &mut HeaderValue) -> bool {
        let Ok(text) = value.to_str() else {
            tracing::warn!("dropped a Set-Cookie header that is not text");
            return false;
        };
        let Ok(cookie) = cookie::Cookie::parse(text) else {
            tracing::warn!("dropped a malformed Set-Cookie header");
            return false;
        };
        if is_deletion(&cookie) {
            *value = canonical_deletion(&cookie);
            return true;
        }
        match self.registry.lookup(cookie.name()) {
            Some(entry) if (self.allows)(&entry.category) => true,
            Some(entry) => {
                tracing::debug!(cookie = cookie.name(), category = %entry.category, "Set-Cookie removed: category not granted");
                false
            }
            None => {
                let name = cookie.name();
                let first = self.warned.first(name);
                match (self.strict, first) {
                    (true, true) => {
                        tracing::warn!(
                            cookie = name,
                            "Set-Cookie removed: cookie not declared (strict mode). Declare every cookie the app sets, its own included, e.g. ConsentConfig::declare(DeclaredCookie::exact(\"{name}\", Category::NECESSARY)); warned once per name"
                        );
                    }
                    (false, true) => {
                        tracing::warn!(
                            cookie = name,
                            "undeclared cookie set; declare it so the gate and the declaration know it (warned once per name)"
                        );
                    }
                    (true, false) => {
                        tracing::debug!(cookie = name, "Set-Cookie removed: cookie not declared");
                    }
                    (false, false) => tracing::debug!(cookie = name, "undeclared cookie set"),
                }
                !self.strict
            }
        }
    }

    /// Deletes cookies the request carried whose category is not granted (after a
    /// withdrawal, a revision bump or a rejection).
    fn delete_withdrawn(&self, headers: &mut HeaderMap, present: &[(String, usize)]) {
        for (name, index) in present {
            let entry = &self.registry.entries[*index].cookie;
            if (self.allows)(&entry.category) {
                continue;
            }
            let already = headers.get_all(SET_COOKIE).iter().any(|v| {
                v.to_str()
                    .ok()
                    .and_then(|t| t.split_once('='))
                    .is_some_and(|(n, _)| n.trim() == name)
            });
            if already {
                continue;
            }
            let mut deletion = expired(name.clone())
                .path(entry.path.clone())
                .secure(self.secure);
            if let Some(domain) = &entry.domain {
                deletion = deletion.domain(domain.clone());
            }
            if let Ok(value) = HeaderValue::try_from(deletion.build().to_string()) {
                headers.append(SET_COOKIE, value);
            }
        }
    }
}

/// Whether a `Set-Cookie` deletes its cookie, judged by the lifetime a browser computes
/// (RFC 6265 §5.3): `Max-Age`, when present, wins over `Expires`.
fn is_deletion(cookie: &cookie::Cookie<'_>) -> bool {
    match cookie.max_age() {
        Some(age) => age <= cookie::time::Duration::ZERO,
        None => cookie
            .expires_datetime()
            .is_some_and(|at| at <= cookie::time::OffsetDateTime::now_utc()),
    }
}

/// What every deletion the gate writes carries: `name` with an empty value, `Max-Age=0`
/// and an `Expires` in 1970 (for browsers that read only `Expires`); the caller adds the
/// cookie's scope.
fn expired(name: String) -> cookie::CookieBuilder<'static> {
    cookie::Cookie::build((name, ""))
        .max_age(cookie::time::Duration::ZERO)
        .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
}

/// A deletion as the gate lets it through: the same name and scope (path, domain,
/// `Secure`, `HttpOnly`, `SameSite`, `Partitioned`), an empty value, `Max-Age=0` and an
/// `Expires` in the past. Whatever else the original carried is dropped, so what passes as
/// a deletion cannot store anything, whichever attribute a browser would have believed.
fn canonical_deletion(cookie: &cookie::Cookie<'_>) -> HeaderValue {
    let mut deletion = expired(cookie.name().to_owned());
    if let Some(path) = cookie.path() {
        deletion = deletion.path(path.to_owned());
    }
    if let Some(domain) = cookie.domain() {
        deletion = deletion.domain(domain.to_owned());
    }
    if let Some(secure) = cookie.secure() {
        deletion = deletion.secure(secure);
    }
    if let Some(http_only) = cookie.http_only() {
        deletion = deletion.http_only(http_only);
    }
    if let Some(same_site) = cookie.same_site() {
        deletion = deletion.same_site(same_site);
    }
    if let Some(partitioned) = cookie.partitioned() {
        deletion = deletion.partitioned(partitioned);
    }
    HeaderValue::try_from(deletion.build().to_string())
        .expect("a parsed cookie's name and attributes are valid header text")
}

/// Whether a response of this type can run nothing a CSP governs: stylesheets, fonts,
/// media and raster images (not SVG, which runs scripts when opened on its own).
fn passive(content_type: Option<&HeaderValue>) -> bool {
    let Some(kind) = content_type.map(HeaderValue::as_bytes) else {
        return false;
    };
    let starts = |prefix: &[u8]| {
        kind.len() >= prefix.len() && kind[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    (starts(b"image/") && !starts(b"image/svg"))
        || starts(b"text/css")
        || starts(b"font/")
        || starts(b"audio/")
        || starts(b"video/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict_gate<'a>(
        registry: &'a CookieRegistry,
        allows: &'a dyn Fn(&Category) -> bool,
    ) -> Gate<'a> {
        static WARNED: std::sync::LazyLock<UndeclaredLog> =
            std::sync::LazyLock::new(UndeclaredLog::default);
        Gate {
            registry,
            strict: true,
            secure: true,
            allows,
            warned: &WARNED,
        }
    }

    fn registry() -> CookieRegistry {
        let mut registry = CookieRegistry::default();
        registry.declare(DeclaredCookie::exact("_sa", Category::ANALYTICS), false);
        registry.declare(
            DeclaredCookie::prefix("_ga", Category::ANALYTICS).domain("shop.example"),
            false,
        );
        registry.declare(
            DeclaredCookie::prefix("_ga_special", Category::MARKETING),
            false,
        );
        registry.declare(DeclaredCookie::exact("lang", Category::PREFERENCES), false);
        registry
    }

    #[test]
    fn lookup_prefers_exact_then_longest_prefix() {
        let registry = registry();
        assert_eq!(
            registry.lookup("_sa").unwrap().category,
            Category::ANALYTICS
        );
        assert_eq!(
            registry.lookup("_ga_ABC").unwrap().category,
            Category::ANALYTICS
        );
        assert_eq!(
            registry.lookup("_ga_special1").unwrap().category,
            Category::MARKETING
        );
        assert!(registry.lookup("_s").is_none());
        assert!(registry.lookup("x_sa").is_none());
    }

    fn set_cookies(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(SET_COOKIE, HeaderValue::from_static(value));
        }
        headers
    }

    fn kept(headers: &HeaderMap) -> Vec<&str> {
        headers
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    #[test]
    fn filter_keeps_only_granted_declared_cookies_and_deletions() {
        let registry = registry();
        let allows = |c: &Category| *c == Category::NECESSARY || *c == Category::PREFERENCES;
        let gate = strict_gate(&registry, &allows);
        let mut headers = set_cookies(&[
            "_sa=1; Path=/",
            "lang=de; Path=/",
            "_ga_X=2; Domain=shop.example",
            "mystery=3",
            "_sa=; Max-Age=0",
            "not a cookie",
        ]);
        gate.filter(&mut headers);
        assert_eq!(
            kept(&headers),
            [
                "lang=de; Path=/",
                "_sa=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
            ]
        );

        let lenient = Gate {
            strict: false,
            ..gate
        };
        let mut headers = set_cookies(&["mystery=3", "_sa=1"]);
        lenient.filter(&mut headers);
        assert_eq!(kept(&headers), ["mystery=3"]);
    }

    #[test]
    fn each_undeclared_name_is_a_warning_once() {
        let log = UndeclaredLog::default();
        assert!(log.first("theme"));
        assert!(!log.first("theme"));
        assert!(log.first("other"));
        for n in 0..2 * UndeclaredLog::MAX {
            log.first(&format!("flood{n}"));
        }
        assert!(log.first("late"), "past the bound a name is still reported");
        assert!(log.first("late"), "but no longer remembered");
        assert!(!log.first("theme"));
    }

    #[test]
    fn a_deletion_is_judged_as_a_browser_would_and_passes_canonical() {
        let registry = registry();
        let allows = |c: &Category| *c == Category::NECESSARY;
        let gate = strict_gate(&registry, &allows);
        // Max-Age wins over Expires (RFC 6265 §5.3): these store a cookie for a year.
        let mut headers = set_cookies(&[
            "_sa=1; Path=/; Max-Age=31536000; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            "_sa=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60",
            "_sa=1; Max-Age=0; Max-Age=60",
            "_sa=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT",
        ]);
        gate.filter(&mut headers);
        assert_eq!(kept(&headers), Vec::<String>::new());
        // Real deletions pass, rewritten: the value and anything else they carried is gone.
        let mut headers = set_cookies(&[
            "_sa=tracking-id; Path=/shop; Max-Age=0; Domain=shop.example; Secure",
            "_sa=tracking-id; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly",
            "_sa=x; Max-Age=-5",
        ]);
        gate.filter(&mut headers);
        assert_eq!(
            kept(&headers),
            [
                "_sa=; Secure; Path=/shop; Domain=shop.example; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "_sa=; HttpOnly; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
                "_sa=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            ]
        );
    }

    #[test]
    fn withdrawn_cookies_are_deleted_with_declared_domain_and_path() {
        let registry = registry();
        let mut request = HeaderMap::new();
        request.insert(
            http::header::COOKIE,
            HeaderValue::from_static("_sa=1; _ga=2; _ga_K=3; lang=en; other=4; _sa=5"),
        );
        let cookies = RequestCookies::parse(&request);
        let present = registry.present(&cookies);
        assert_eq!(present.len(), 4);

        let allows = |c: &Category| *c == Category::NECESSARY || *c == Category::PREFERENCES;
        let gate = strict_gate(&registry, &allows);
        let mut headers = HeaderMap::new();
        gate.delete_withdrawn(&mut headers, &present);
        let deleted = kept(&headers);
        assert_eq!(deleted.len(), 3, "{deleted:?}");
        assert!(
            deleted[0].starts_with("_sa=;")
                && deleted[0].contains("Max-Age=0")
                && deleted[0].contains("Path=/")
        );
        assert!(deleted[1].starts_with("_ga=;") && deleted[1].contains("Domain=shop.example"));
        assert!(deleted[2].starts_with("_ga_K=;"));
    }

    #[test]
    fn a_csp_is_keyed_only_by_the_granted_categories_that_allow_origins() {
        let policy = Policy::new(1).category(
            crate::policy::CategoryDef::new(Category::ANALYTICS, "Analytics", "Visits")
                .allow_origin("https://stats.example"),
        );
        let csp = Csp::new();
        let templates = Templates::new(Some(&csp), &policy);
        let fill = |mask: u64| {
            let value = templates.fill(&csp, Granted::new(&policy, mask), b"NONCE");
            String::from_utf8(value).unwrap()
        };
        let bit = |category: &Category| policy.bit(category).unwrap();
        let (necessary, preferences) = (bit(&Category::NECESSARY), bit(&Category::PREFERENCES));
        let analytics = bit(&Category::ANALYTICS);

        // Nothing that allows origins granted: the policy rendered when the gate was made.
        let base = fill(necessary);
        assert!(base.contains("'nonce-NONCE'") && !base.contains("stats.example"));
        assert_eq!(fill(necessary | preferences), base);
        assert!(templates.by_granted.read().unwrap().is_empty());

        // The category's origins once it is granted, one template whatever else is.
        let granted = fill(necessary | analytics);
        assert!(granted.contains("https://stats.example"), "{granted}");
        assert_eq!(fill(necessary | preferences | analytics), granted);
        assert_eq!(templates.by_granted.read().unwrap().len(), 1);
    }
}
