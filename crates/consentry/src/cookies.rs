//! Reading the `Cookie` header once and writing `Set-Cookie` values with safe attributes.

use std::ops::Range;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, header::COOKIE};

/// Most cookie pairs read from one request. Browsers keep at most about 180 cookies per
/// site; anything past this is not a browser's header and is ignored.
pub(crate) const MAX_PAIRS: usize = 256;
/// Most values of one name that are looked at. A browser sends a name more than once only
/// for cookies of different paths or domains, a handful at most; looking at more would let
/// a forged header buy one signature check per value.
pub(crate) const MAX_VALUES_PER_NAME: usize = 4;

/// Pairs kept without an allocation; a request with more spills the rest to the heap.
const INLINE_PAIRS: usize = 8;

/// Every cookie pair of a request, parsed once.
///
/// Parsing is byte-wise and lenient per pair: a pair that is not UTF-8 or has no `=` is
/// skipped on its own, never the whole header, so one foreign cookie cannot reset a
/// visitor's session or consent. The work is bounded by [`MAX_PAIRS`] and
/// [`MAX_VALUES_PER_NAME`]. The first few pairs are kept inline: an ordinary request's
/// cookies cost no allocation.
#[derive(Debug, Default)]
pub(crate) struct RequestCookies<'h> {
    inline: [(&'h str, &'h str); INLINE_PAIRS],
    len: usize,
    spilled: Vec<(&'h str, &'h str)>,
}

impl<'h> RequestCookies<'h> {
    /// Parses all `Cookie` headers.
    pub(crate) fn parse(headers: &'h HeaderMap) -> Self {
        let mut cookies = Self::default();
        for header in headers.get_all(COOKIE) {
            let bytes = header.as_bytes();
            // One UTF-8 check for an ordinary header; one per pair otherwise, so a foreign
            // pair is skipped on its own.
            let text = std::str::from_utf8(bytes).ok();
            let mut start = 0;
            // Separators found with `memchr`: the header is scanned a word at a time.
            for end in memchr::memchr_iter(b';', bytes).chain([bytes.len()]) {
                if cookies.len == MAX_PAIRS {
                    return cookies;
                }
                let pair = start..end;
                start = end + 1;
                let Some((name, value)) = pair_bounds(bytes, pair) else {
                    continue;
                };
                let found = match text {
                    Some(text) => Some((&text[name], &text[value])),
                    None => std::str::from_utf8(&bytes[name])
                        .ok()
                        .zip(std::str::from_utf8(&bytes[value]).ok()),
                };
                if let Some(pair) = found {
                    cookies.push(pair);
                }
            }
        }
        cookies
    }

    fn push(&mut self, pair: (&'h str, &'h str)) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = pair,
            None => self.spilled.push(pair),
        }
        self.len += 1;
    }

    fn pairs(&self) -> impl Iterator<Item = &(&'h str, &'h str)> {
        self.inline[..self.len.min(INLINE_PAIRS)]
            .iter()
            .chain(&self.spilled)
    }

    /// Every cookie name, in header order, repeats included.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'h str> + '_ {
        self.pairs().map(|(n, _)| *n)
    }

    /// The values sent under `name`, in header order (a browser may send several), at
    /// most [`MAX_VALUES_PER_NAME`] of them.
    pub(crate) fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'h str> + 's {
        self.pairs()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| *v)
            .take(MAX_VALUES_PER_NAME)
    }
}

/// Where in `header` the name and the value of its `name=value` pair at `pair` are, as RFC
/// 6265 §5.4 writes them: surrounding whitespace trimmed, a value in double quotes
/// unquoted. `None` for a pair without `=` or with an empty name.
fn pair_bounds(header: &[u8], pair: Range<usize>) -> Option<(Range<usize>, Range<usize>)> {
    let split = pair.start + memchr::memchr(b'=', &header[pair.clone()])?;
    let name = trimmed(header, pair.start..split);
    let mut value = trimmed(header, split + 1..pair.end);
    if value.len() >= 2 && header[value.start] == b'"' && header[value.end - 1] == b'"' {
        value = value.start + 1..value.end - 1;
    }
    (!name.is_empty()).then_some((name, value))
}

/// `part` of `bytes` without its surrounding ASCII whitespace.
fn trimmed(bytes: &[u8], part: Range<usize>) -> Range<usize> {
    let slice = &bytes[part.clone()];
    let start = part.start + (slice.len() - slice.trim_ascii_start().len());
    let end = part.end - (slice.len() - slice.trim_ascii_end().len());
    start..end.max(start)
}

/// The `SameSite` attribute of the session cookie
/// ([`SessionConfig::same_site`](crate::SessionConfig::same_site)).
///
/// ```
/// use consentry::{SameSite, SessionConfig};
/// use consentry::store::MemoryStore;
///
/// let sessions = SessionConfig::new(MemoryStore::new()).same_site(SameSite::Strict);
/// # let _ = sessions;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SameSite {
    /// Sent only with requests from this site: not even when following a link from
    /// elsewhere (a visitor arriving from a search result looks logged out on that page).
    Strict,
    /// Sent with requests from this site and top-level navigations to it (the default).
    #[default]
    Lax,
    /// Sent with every request, cross-site ones included (needs `Secure`, so not with
    /// development cookies). Only for sites embedded in others' pages.
    None,
}

#[cfg(test)]
impl SameSite {
    fn attribute(self) -> cookie::SameSite {
        match self {
            Self::Strict => cookie::SameSite::Strict,
            Self::Lax => cookie::SameSite::Lax,
            Self::None => cookie::SameSite::None,
        }
    }
}

/// Where a cookie is sent: its `Domain` (none: this host only) and `SameSite`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scope {
    pub(crate) domain: Option<String>,
    pub(crate) same_site: SameSite,
}

/// Cookie naming and attributes shared by every cookie the layer writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookieSettings {
    /// Plain-http development: no `Secure`, no `__Host-` prefix.
    pub(crate) dev: bool,
}

impl CookieSettings {
    /// The full cookie name for a base name such as `sid`, host-only.
    pub(crate) fn name(self, base: &str) -> String {
        self.scoped_name(base, &Scope::default())
    }

    /// The full cookie name for `base` sent within `scope`: `__Host-` for a host-only
    /// cookie, `__Secure-` for one with a `Domain` (which `__Host-` forbids), nothing in
    /// development.
    pub(crate) fn scoped_name(self, base: &str, scope: &Scope) -> String {
        match (self.dev, &scope.domain) {
            (true, _) => base.to_owned(),
            (false, None) => format!("__Host-{base}"),
            (false, Some(_)) => format!("__Secure-{base}"),
        }
    }

    /// A `Set-Cookie` value that stores `value` for `max_age`.
    pub(crate) fn set(
        self,
        name: &str,
        value: &(impl CookieValue + ?Sized),
        max_age: Duration,
    ) -> HeaderValue {
        self.set_scoped(name, value, Some(max_age), &Scope::default())
    }

    /// A `Set-Cookie` value that stores `value` within `scope`, for `max_age` or (with
    /// `None`) until the browser session ends.
    pub(crate) fn set_scoped(
        self,
        name: &str,
        value: &(impl CookieValue + ?Sized),
        max_age: Option<Duration>,
        scope: &Scope,
    ) -> HeaderValue {
        self.render(
            name,
            value,
            Attributes {
                max_age: max_age.map(|age| age.as_secs()),
                scope,
                http_only: true,
            },
        )
    }

    /// A `Set-Cookie` value that makes the browser delete `name`.
    pub(crate) fn expire(self, name: &str) -> HeaderValue {
        self.expire_scoped(name, &Scope::default())
    }

    /// A `Set-Cookie` value that makes the browser delete `name` set within `scope`.
    pub(crate) fn expire_scoped(self, name: &str, scope: &Scope) -> HeaderValue {
        self.render(name, "", Attributes::expired(scope, true))
    }

    /// A `Set-Cookie` value deleting a cookie that page scripts set (not `HttpOnly`).
    pub(crate) fn expire_script_cookie(self, name: &str) -> HeaderValue {
        self.render(name, "", Attributes::expired(&Scope::default(), false))
    }

    fn render(
        self,
        name: &str,
        value: &(impl CookieValue + ?Sized),
        attributes: Attributes<'_>,
    ) -> HeaderValue {
        HeaderValue::try_from(self.render_bytes(name, value, &attributes))
            .expect("cookie names, domains and base64url values are valid header text")
    }

    /// A `Set-Cookie` written straight into one buffer of exactly its length (so the
    /// header value takes it without another allocation): `HttpOnly` (unless `http_only` is
    /// false, for a cookie page scripts set), `SameSite`, `Secure` (unless in development),
    /// `Path=/`, the scope's `Domain`, `Max-Age` in seconds; the attributes in the order the
    /// `cookie` crate writes them (a test holds the two equal).
    fn render_bytes(
        self,
        name: &str,
        value: &(impl CookieValue + ?Sized),
        attributes: &Attributes<'_>,
    ) -> Vec<u8> {
        const HTTP_ONLY: &[u8] = b"; HttpOnly";
        const SAME_SITE: &[u8] = b"; SameSite=";
        const SECURE: &[u8] = b"; Secure";
        const PATH: &[u8] = b"; Path=/";
        const DOMAIN: &[u8] = b"; Domain=";
        const MAX_AGE: &[u8] = b"; Max-Age=";
        let Attributes {
            max_age,
            scope,
            http_only,
        } = *attributes;
        let same_site: &[u8] = match scope.same_site {
            SameSite::Strict => b"Strict",
            SameSite::Lax => b"Lax",
            SameSite::None => b"None",
        };
        let domain = scope
            .domain
            .as_deref()
            .map(|domain| domain.strip_prefix('.').unwrap_or(domain));
        let mut digits = itoa::Buffer::new();
        let max_age = max_age.map(|seconds| digits.format(seconds).as_bytes());

        let len = name.len()
            + 1
            + value.len()
            + if http_only { HTTP_ONLY.len() } else { 0 }
            + SAME_SITE.len()
            + same_site.len()
            + if self.dev { 0 } else { SECURE.len() }
            + PATH.len()
            + domain.map_or(0, |domain| DOMAIN.len() + domain.len())
            + max_age.map_or(0, |digits| MAX_AGE.len() + digits.len());
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        value.write_to(&mut out);
        if http_only {
            out.extend_from_slice(HTTP_ONLY);
        }
        out.extend_from_slice(SAME_SITE);
        out.extend_from_slice(same_site);
        if !self.dev {
            out.extend_from_slice(SECURE);
        }
        out.extend_from_slice(PATH);
        if let Some(domain) = domain {
            out.extend_from_slice(DOMAIN);
            out.extend_from_slice(domain.as_bytes());
        }
        if let Some(digits) = max_age {
            out.extend_from_slice(MAX_AGE);
            out.extend_from_slice(digits);
        }
        debug_assert_eq!(out.len(), len, "the header's length is counted beforehand");
        out
    }
}

/// The attributes of one `Set-Cookie` beside the settings' own.
#[derive(Clone, Copy)]
struct Attributes<'a> {
    /// `Max-Age` in seconds; `None`: until the browser session ends.
    max_age: Option<u64>,
    scope: &'a Scope,
    /// `HttpOnly`; false for a cookie page scripts set.
    http_only: bool,
}

impl<'a> Attributes<'a> {
    /// A deletion: `Max-Age=0`.
    fn expired(scope: &'a Scope, http_only: bool) -> Self {
        Self {
            max_age: Some(0),
            scope,
            http_only,
        }
    }
}

/// A cookie's value as a `Set-Cookie` writes it: its length first, then its bytes, so the
/// header is built in one allocation of its size.
pub(crate) trait CookieValue {
    /// The value's length in bytes.
    fn len(&self) -> usize;

    /// Appends the value to `out`.
    fn write_to(&self, out: &mut Vec<u8>);
}

impl CookieValue for str {
    fn len(&self) -> usize {
        str::len(self)
    }

    fn write_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use cookie::Cookie;

    use super::*;

    #[test]
    fn parses_every_header_and_repeated_names() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-sid=x; junk; b=2; =nameless"),
        );
        headers.append(
            COOKIE,
            HeaderValue::from_static("__Host-sid=y;c=\"quoted\""),
        );
        let cookies = RequestCookies::parse(&headers);
        assert_eq!(cookies.values("__Host-sid").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(cookies.values("b").collect::<Vec<_>>(), ["2"]);
        assert_eq!(cookies.values("c").collect::<Vec<_>>(), ["quoted"]);
        assert_eq!(cookies.names().count(), 5);
    }

    #[test]
    fn a_foreign_pair_is_skipped_alone() {
        let mut headers = HeaderMap::new();
        // Raw UTF-8 and a byte that is not UTF-8 at all, beside valid pairs.
        headers.append(
            COOKIE,
            HeaderValue::from_bytes(
                &[
                    &b"__Host-sid=abc; pref="[..],
                    "café".as_bytes(),
                    b"; x=\xff\xfe; z=1",
                ]
                .concat(),
            )
            .unwrap(),
        );
        headers.append(COOKIE, HeaderValue::from_bytes(b"c=\xff; d=4").unwrap());
        let cookies = RequestCookies::parse(&headers);
        assert_eq!(cookies.values("__Host-sid").collect::<Vec<_>>(), ["abc"]);
        assert_eq!(cookies.values("pref").collect::<Vec<_>>(), ["café"]);
        assert_eq!(cookies.values("z").collect::<Vec<_>>(), ["1"]);
        assert_eq!(cookies.values("d").collect::<Vec<_>>(), ["4"]);
        assert_eq!(cookies.values("c").count(), 0);
    }

    #[test]
    fn order_holds_past_the_pairs_kept_inline() {
        let header = (0..INLINE_PAIRS * 2)
            .map(|n| match n {
                3 | 9 | 12 => format!("x={n}"),
                _ => format!("p{n}={n}"),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
        let cookies = RequestCookies::parse(&headers);
        assert_eq!(cookies.values("x").collect::<Vec<_>>(), ["3", "9", "12"]);
        assert_eq!(cookies.names().count(), INLINE_PAIRS * 2);
        assert_eq!(cookies.names().last(), Some("p15"));
    }

    #[test]
    fn the_work_is_bounded() {
        let header = (0..5_000)
            .map(|n| format!("__Host-sid=forged{n}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
        let cookies = RequestCookies::parse(&headers);
        assert_eq!(cookies.names().count(), MAX_PAIRS);
        assert_eq!(
            cookies.values("__Host-sid").collect::<Vec<_>>(),
            ["forged0", "forged1", "forged2", "forged3"]
        );
    }

    /// The pairs of one header as RFC 6265 §5.4 reads them, spelled out plainly: split at
    /// `;`, trimmed, split at the first `=`, each side trimmed, a quoted value unquoted,
    /// a pair kept when its name is not empty and both sides are UTF-8.
    fn reference(header: &[u8]) -> Vec<(String, String)> {
        header
            .split(|b| *b == b';')
            .filter_map(|pair| {
                let split = pair.iter().position(|b| *b == b'=')?;
                let name = pair[..split].trim_ascii();
                let mut value = pair[split + 1..].trim_ascii();
                if let [b'"', inner @ .., b'"'] = value {
                    value = inner;
                }
                let name = std::str::from_utf8(name).ok().filter(|n| !n.is_empty())?;
                Some((name.to_owned(), std::str::from_utf8(value).ok()?.to_owned()))
            })
            .take(MAX_PAIRS)
            .collect()
    }

    proptest::proptest! {
        #[test]
        fn headers_parse_as_the_reference_reads_them(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::bytes_regex("[ a-z=\"]{0,6}").unwrap(),
                    proptest::collection::vec(proptest::num::u8::ANY, 0..4),
                    proptest::strategy::Just(b";".to_vec()),
                    proptest::strategy::Just("é".as_bytes().to_vec()),
                ],
                0..24,
            )
        ) {
            let header = parts.concat();
            let mut headers = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&header) {
                headers.insert(COOKIE, value);
                let cookies = RequestCookies::parse(&headers);
                let got: Vec<(String, String)> = cookies
                    .pairs()
                    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                    .collect();
                proptest::prop_assert_eq!(got, reference(&header));
            }
        }

        #[test]
        fn set_cookie_is_written_as_the_cookie_crate_writes_it(
            name in "[A-Za-z_-]{1,20}",
            value in "[A-Za-z0-9_-]{0,60}",
            max_age in proptest::option::of(0u64..100_000_000),
            dev: bool,
            same_site in 0..3u8,
            domain in proptest::option::of("\\.?[a-z]{1,10}\\.[a-z]{2,5}"),
            http_only: bool,
        ) {
            let same_site = [SameSite::Strict, SameSite::Lax, SameSite::None][usize::from(same_site)];
            let scope = Scope { domain: domain.clone(), same_site };
            let attributes = Attributes { max_age, scope: &scope, http_only };
            let bytes = CookieSettings { dev }.render_bytes(&name, value.as_str(), &attributes);
            proptest::prop_assert_eq!(bytes.len(), bytes.capacity(), "allocated at its length");
            let ours = HeaderValue::try_from(bytes).unwrap();
            let mut builder = Cookie::build((name.clone(), value.clone()))
                .path("/")
                .secure(!dev)
                .http_only(http_only)
                .same_site(same_site.attribute());
            if let Some(seconds) = max_age {
                builder = builder.max_age(cookie::time::Duration::seconds(seconds.try_into().unwrap()));
            }
            if let Some(domain) = domain {
                builder = builder.domain(domain);
            }
            proptest::prop_assert_eq!(ours.to_str().unwrap(), builder.build().to_string());
        }
    }

    #[test]
    fn a_set_cookie_is_allocated_at_its_length_whatever_its_max_age() {
        let scope = Scope::default();
        for max_age in [
            None,
            Some(0),
            Some(9),
            Some(10),
            Some(99_999),
            Some(u64::MAX),
        ] {
            let attributes = Attributes {
                max_age,
                scope: &scope,
                http_only: true,
            };
            let bytes = CookieSettings { dev: false }.render_bytes("a", "b", &attributes);
            assert_eq!(bytes.len(), bytes.capacity(), "{max_age:?}");
        }
    }

    #[test]
    fn attributes_are_strict_by_default() {
        let settings = CookieSettings { dev: false };
        let name = settings.name("sid");
        let value = settings.set(&name, "abc", Duration::from_secs(60));
        assert_eq!(
            value,
            "__Host-sid=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
        );
        let expired = settings.expire(&name);
        assert!(expired.to_str().unwrap().contains("Max-Age=0"));
        let scope = Scope {
            domain: Some("example.com".into()),
            same_site: SameSite::Strict,
        };
        assert_eq!(settings.scoped_name("sid", &scope), "__Secure-sid");
        assert_eq!(
            settings.set_scoped("__Secure-sid", "abc", None, &scope),
            "__Secure-sid=abc; HttpOnly; SameSite=Strict; Secure; Path=/; Domain=example.com"
        );
        let dev = CookieSettings { dev: true };
        assert_eq!(dev.name("sid"), "sid");
        assert!(
            !dev.set("sid", "abc", Duration::from_secs(1))
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
