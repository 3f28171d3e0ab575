//! The gate: what makes "gated" true on the server. Outgoing `Set-Cookie` headers of
//! categories the visitor has not granted are removed, cookies of withdrawn categories are
//! deleted, and (optionally) the CSP lets third-party origins load only once granted.

use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue};

use crate::consent::{Category, Policy};
use crate::cookies::RequestCookies;
use crate::error::ConfigError;

mod csp;
mod declaration;

pub use csp::Csp;

/// A cookie the site, or a third party on it, may set — by exact name or name prefix.
///
/// ```
/// use consentry::{Category, DeclaredCookie};
///
/// let ga = DeclaredCookie::prefix("_ga", Category::ANALYTICS)
///     .provider("Google Analytics")
///     .purpose("Distinguishes visitors")
///     .duration("13 months")
///     .domain("shop.example");
/// # let _ = ga;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredCookie {
    pub(crate) name: String,
    pub(crate) prefix: bool,
    pub(crate) category: Category,
    pub(crate) provider: String,
    pub(crate) purpose: String,
    pub(crate) duration: String,
    pub(crate) domain: Option<String>,
    pub(crate) path: String,
    /// Set and deleted by the layer itself, not by the gate.
    pub(crate) managed: bool,
}

impl DeclaredCookie {
    /// The cookie called exactly `name`.
    pub fn exact(name: impl Into<String>, category: Category) -> Self {
        Self::new(name.into(), false, category)
    }

    /// Every cookie whose name starts with `prefix` (for example `_ga` covers `_ga` and
    /// `_ga_XYZ`).
    pub fn prefix(prefix: impl Into<String>, category: Category) -> Self {
        Self::new(prefix.into(), true, category)
    }

    fn new(name: String, prefix: bool, category: Category) -> Self {
        Self {
            name,
            prefix,
            category,
            provider: "This site".into(),
            purpose: String::new(),
            duration: String::new(),
            domain: None,
            path: "/".into(),
            managed: false,
        }
    }

    /// Who sets it (shown in the declaration).
    #[must_use]
    pub fn provider(mut self, provider: impl Into<String>) -> Self {
        self.provider = provider.into();
        self
    }

    /// What it is for (shown in the declaration).
    #[must_use]
    pub fn purpose(mut self, purpose: impl Into<String>) -> Self {
        self.purpose = purpose.into();
        self
    }

    /// How long it lives, as text (shown in the declaration).
    #[must_use]
    pub fn duration(mut self, duration: impl Into<String>) -> Self {
        self.duration = duration.into();
        self
    }

    /// The `Domain` it is set with, needed to delete it (host-only when unset).
    #[must_use]
    pub fn domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// The `Path` it is set with (default `/`), needed to delete it.
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// The category.
    pub fn category(&self) -> &Category {
        &self.category
    }

    fn matches(&self, name: &str) -> bool {
        if self.prefix {
            name.starts_with(&self.name)
        } else {
            name == self.name
        }
    }
}

/// Every declared cookie. Produces the declaration and drives the gate.
#[derive(Debug, Clone, Default)]
pub(crate) struct CookieRegistry {
    entries: Vec<DeclaredCookie>,
}

impl CookieRegistry {
    pub(crate) fn declare(&mut self, cookie: DeclaredCookie) {
        self.entries.retain(|e| {
            !(e.name == cookie.name && e.prefix == cookie.prefix && e.category == cookie.category)
        });
        self.entries.push(cookie);
    }

    /// The declaration for `name`: an exact entry, else the longest matching prefix.
    pub(crate) fn lookup(&self, name: &str) -> Option<&DeclaredCookie> {
        self.entries
            .iter()
            .find(|e| !e.prefix && e.name == name)
            .or_else(|| {
                self.entries
                    .iter()
                    .filter(|e| e.prefix && e.matches(name))
                    .max_by_key(|e| e.name.len())
            })
    }

    pub(crate) fn entries(&self) -> &[DeclaredCookie] {
        &self.entries
    }

    pub(crate) fn validate(&self, policy: &Policy) -> Result<(), ConfigError> {
        for entry in &self.entries {
            let valid_name = !entry.name.is_empty()
                && entry
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
            if !valid_name {
                return Err(ConfigError::Consent(format!(
                    "{:?} is not a cookie name",
                    entry.name
                )));
            }
            if policy.get(&entry.category).is_none() {
                return Err(ConfigError::Consent(format!(
                    "cookie {:?} names unknown category {}",
                    entry.name, entry.category
                )));
            }
            if !entry.path.starts_with('/') {
                return Err(ConfigError::Consent(format!(
                    "cookie {:?}: path must start with /",
                    entry.name
                )));
            }
        }
        Ok(())
    }

    /// Declared, non-necessary cookies the request carries.
    pub(crate) fn present(&self, cookies: &RequestCookies<'_>) -> Vec<(String, usize)> {
        let mut present: Vec<(String, usize)> = Vec::new();
        for name in cookies.names() {
            if present.iter().any(|(seen, _)| seen == name) {
                continue;
            }
            if let Some(index) = self
                .lookup(name)
                .filter(|entry| entry.category != Category::NECESSARY && !entry.managed)
                .and_then(|entry| self.entries.iter().position(|e| e == entry))
            {
                present.push((name.to_owned(), index));
            }
        }
        present
    }
}

/// Applies the gate to a response's headers.
pub(crate) struct Gate<'a> {
    pub(crate) registry: &'a CookieRegistry,
    pub(crate) strict: bool,
    pub(crate) secure: bool,
    /// Whether a category is granted for this visitor.
    pub(crate) allows: &'a dyn Fn(&Category) -> bool,
}

impl Gate<'_> {
    /// Removes `Set-Cookie` headers the visitor has not consented to.
    pub(crate) fn filter(&self, headers: &mut HeaderMap) {
        if !headers.contains_key(SET_COOKIE) {
            return;
        }
        let values: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
        headers.remove(SET_COOKIE);
        for value in values {
            if self.keep(&value) {
                headers.append(SET_COOKIE, value);
            }
        }
    }

    fn keep(&self, value: &HeaderValue) -> bool {
        let Ok(text) = value.to_str() else {
            tracing::warn!("dropped a Set-Cookie header that is not text");
            return false;
        };
        let Ok(cookie) = cookie::Cookie::parse(text) else {
            tracing::warn!("dropped a malformed Set-Cookie header");
            return false;
        };
        if is_deletion(&cookie) {
            return true;
        }
        match self.registry.lookup(cookie.name()) {
            Some(entry) if (self.allows)(&entry.category) => true,
            Some(entry) => {
                tracing::debug!(cookie = cookie.name(), category = %entry.category, "Set-Cookie removed: category not granted");
                false
            }
            None if self.strict => {
                tracing::warn!(
                    cookie = cookie.name(),
                    "Set-Cookie removed: cookie not declared (strict mode)"
                );
                false
            }
            None => {
                tracing::warn!(
                    cookie = cookie.name(),
                    "undeclared cookie set; declare it so the gate and the declaration know it"
                );
                true
            }
        }
    }

    /// Deletes cookies the request carried whose category is not granted (after a
    /// withdrawal, a revision bump or a rejection).
    pub(crate) fn delete_withdrawn(&self, headers: &mut HeaderMap, present: &[(String, usize)]) {
        for (name, index) in present {
            let entry = &self.registry.entries()[*index];
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
            let mut deletion = cookie::Cookie::build((name.clone(), ""))
                .path(entry.path.clone())
                .max_age(cookie::time::Duration::ZERO)
                .expires(cookie::time::OffsetDateTime::UNIX_EPOCH)
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

fn is_deletion(cookie: &cookie::Cookie<'_>) -> bool {
    cookie
        .max_age()
        .is_some_and(|age| age <= cookie::time::Duration::ZERO)
        || cookie
            .expires_datetime()
            .is_some_and(|at| at <= cookie::time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry() -> CookieRegistry {
        let mut registry = CookieRegistry::default();
        registry.declare(DeclaredCookie::exact("_sa", Category::ANALYTICS));
        registry.declare(DeclaredCookie::prefix("_ga", Category::ANALYTICS).domain("shop.example"));
        registry.declare(DeclaredCookie::prefix("_ga_special", Category::MARKETING));
        registry.declare(DeclaredCookie::exact("lang", Category::PREFERENCES));
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
        let gate = Gate {
            registry: &registry,
            strict: true,
            secure: true,
            allows: &allows,
        };
        let mut headers = set_cookies(&[
            "_sa=1; Path=/",
            "lang=de; Path=/",
            "_ga_X=2; Domain=shop.example",
            "mystery=3",
            "_sa=; Max-Age=0",
            "not a cookie",
        ]);
        gate.filter(&mut headers);
        assert_eq!(kept(&headers), ["lang=de; Path=/", "_sa=; Max-Age=0"]);

        let lenient = Gate {
            strict: false,
            ..gate
        };
        let mut headers = set_cookies(&["mystery=3", "_sa=1"]);
        lenient.filter(&mut headers);
        assert_eq!(kept(&headers), ["mystery=3"]);
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
        let gate = Gate {
            registry: &registry,
            strict: true,
            secure: true,
            allows: &allows,
        };
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
}
