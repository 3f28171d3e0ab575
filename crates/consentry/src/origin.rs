//! The consent endpoint's same-origin check (cross-site request forgery defence), and the
//! rule for paths the layer redirects to. Apps protect their own routes with a CSRF
//! layer such as `tower_http::csrf::CsrfLayer`.

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderName, Uri};

/// How the site is served, for judging an `Origin`'s scheme when the request URI has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    /// Over `https`, or `http` on a loopback host (a secure context for browsers).
    Secure,
    /// Over plain `http` (development cookies without `Secure`).
    PlainHttp,
}

/// Fetch metadata: who started the request, as the browser saw it.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Whether a request was sent by a page of this same origin (scheme, host and port),
/// judged as browsers allow:
///
/// - `Sec-Fetch-Site` (sent by current browsers) must be `same-origin` or `none`
///   (typed by the user); `same-site` and `cross-site` are refused.
/// - Otherwise `Origin`, when present, must name the scheme, host and port the request
///   was sent to; `Origin: null` is refused.
/// - A request with neither header (not sent by a browser) is allowed.
///
/// The scheme is the request URI's own when it has one (HTTP/2, absolute form). Otherwise
/// it is what `served` says: over `https` (or `http` on a loopback host, which browsers
/// treat as secure too), or over plain `http` with development cookies.
pub(crate) fn same_origin(headers: &HeaderMap, uri: &Uri, served: Served) -> bool {
    // Browsers send each header once; repeated ones are not from a browser page and are
    // too ambiguous to trust.
    if headers.get_all(SEC_FETCH_SITE).iter().count() > 1
        || headers.get_all(ORIGIN).iter().count() > 1
    {
        return false;
    }
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Some((scheme, origin_authority)) = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .filter(|(_, rest)| !rest.is_empty() && !rest.contains('/'))
    else {
        return false;
    };
    let Some(host) = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str))
    else {
        return false;
    };
    let scheme_matches = match (uri.scheme_str(), served) {
        (Some(own), _) => own.eq_ignore_ascii_case(scheme),
        (None, Served::PlainHttp) => scheme.eq_ignore_ascii_case("http"),
        (None, Served::Secure) => {
            scheme.eq_ignore_ascii_case("https")
                || (scheme.eq_ignore_ascii_case("http") && is_loopback(host))
        }
    };
    scheme_matches
        && without_default_port(host, scheme)
            .eq_ignore_ascii_case(without_default_port(origin_authority, scheme))
}

/// `host[:port]` without the scheme's default port, which browsers leave out of `Origin`.
fn without_default_port<'a>(authority: &'a str, scheme: &str) -> &'a str {
    let default = if scheme.eq_ignore_ascii_case("https") {
        ":443"
    } else {
        ":80"
    };
    authority.strip_suffix(default).unwrap_or(authority)
}

/// The host of an authority (`host[:port]`, as in a `Host` header): without the port and a
/// trailing dot, lowercased.
pub(crate) fn host_name(authority: &str) -> String {
    host_part(authority).to_ascii_lowercase()
}

/// The host of `authority` as written (port and trailing dots removed, case kept): compare
/// it with [`str::eq_ignore_ascii_case`], without allocating.
pub(crate) fn host_part(authority: &str) -> &str {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    host.trim_end_matches('.')
}

/// Whether `authority` (`host[:port]`) names this machine, where browsers treat plain
/// `http` as a secure context.
fn is_loopback(authority: &str) -> bool {
    let host = host_name(authority);
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Longest path the layer sends a visitor back to.
const MAX_LOCAL_PATH: usize = 2048;

/// `path` when it is a path on this site ([`is_local_path`]) of reasonable length, else `/`:
/// where the layer sends a visitor back to.
pub(crate) fn local_or_root(path: &str) -> &str {
    if path.len() <= MAX_LOCAL_PATH && is_local_path(path) {
        path
    } else {
        "/"
    }
}

/// Whether `path` is a path on this site, safe to name in a `Location` header: it starts
/// with one `/` and holds no backslash or control character. `//host/…` and `/\host/…` are
/// refused because browsers read them as another site.
pub(crate) fn is_local_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !path.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn judges_like_a_browser_would() {
        let uri = Uri::from_static("/x");
        let cases = [
            (vec![("sec-fetch-site", "same-origin")], true),
            (vec![("sec-fetch-site", "none")], true),
            (
                vec![("sec-fetch-site", "same-site"), ("host", "a.test")],
                false,
            ),
            (vec![("sec-fetch-site", "cross-site")], false),
            (vec![("host", "a.test"), ("origin", "https://a.test")], true),
            (
                vec![("host", "A.test:443"), ("origin", "https://a.test")],
                true,
            ),
            (
                vec![("host", "a.test"), ("origin", "https://a.test:8080")],
                false,
            ),
            (
                vec![("host", "a.test"), ("origin", "https://b.test")],
                false,
            ),
            (vec![("host", "a.test"), ("origin", "null")], false),
            (
                vec![("host", "a.test"), ("origin", "https://a.test/path")],
                false,
            ),
            (vec![("origin", "https://a.test")], false),
            // The scheme is part of the origin: plain http is another origin, except on
            // loopback hosts, where browsers treat http as secure.
            (vec![("host", "a.test"), ("origin", "http://a.test")], false),
            (
                vec![
                    ("host", "127.0.0.1:3000"),
                    ("origin", "http://127.0.0.1:3000"),
                ],
                true,
            ),
            (
                vec![
                    ("host", "acme.localhost:3000"),
                    ("origin", "http://acme.localhost:3000"),
                ],
                true,
            ),
            (
                vec![
                    ("host", "127.0.0.1:3000"),
                    ("origin", "ftp://127.0.0.1:3000"),
                ],
                false,
            ),
            (vec![("host", "a.test")], true),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                same_origin(&headers(&pairs), &uri, Served::Secure),
                expected,
                "{pairs:?}"
            );
        }
        let mut twice = headers(&[("host", "a.test"), ("origin", "https://a.test")]);
        twice.append(ORIGIN, HeaderValue::from_static("http://evil.test"));
        assert!(
            !same_origin(&twice, &uri, Served::Secure),
            "repeated Origin headers are refused"
        );
        let absolute = Uri::from_static("http://a.test/x");
        assert!(same_origin(
            &headers(&[("origin", "http://a.test")]),
            &absolute,
            Served::Secure
        ));
        assert!(!same_origin(
            &headers(&[("origin", "https://a.test")]),
            &absolute,
            Served::Secure
        ));
        let plain = headers(&[("host", "a.test:8080"), ("origin", "http://a.test:8080")]);
        assert!(same_origin(&plain, &uri, Served::PlainHttp));
        let secure = headers(&[("host", "a.test:8080"), ("origin", "https://a.test:8080")]);
        assert!(!same_origin(&secure, &uri, Served::PlainHttp));
    }

    #[test]
    fn local_paths_never_name_another_site() {
        for path in ["/", "/cart", "/a//b", "/a?b=//c", "/%2F%2Fevil.example"] {
            assert!(is_local_path(path), "{path}");
        }
        for path in [
            "",
            "cart",
            "//evil.example/",
            "/\\evil.example/",
            "/a\\b",
            "https://evil.example/",
            "/\tevil",
            "/a\nb",
        ] {
            assert!(!is_local_path(path), "{path:?}");
        }
    }
}
