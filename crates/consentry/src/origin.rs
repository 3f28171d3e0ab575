//! Same-origin checks for state-changing requests (cross-site request forgery defence).

use http::header::{HOST, ORIGIN};
use http::{HeaderMap, Uri};

/// Whether a request was sent by a page of this same origin, judged as browsers allow:
///
/// - `Sec-Fetch-Site` (sent by current browsers) must be `same-origin` or `none`
///   (typed by the user); `same-site` and `cross-site` are refused.
/// - Otherwise `Origin`, when present, must name the host (and port) the request was sent
///   to; `Origin: null` is refused.
/// - A request with neither header (not sent by a browser) is allowed.
///
/// Use it on every state-changing route; the consent endpoint applies it itself.
///
/// ```
/// use consentry::origin::is_same_origin;
/// use http::{HeaderMap, HeaderValue, Uri};
///
/// let uri: Uri = "/cart".parse().unwrap();
/// let mut headers = HeaderMap::new();
/// headers.insert("host", HeaderValue::from_static("shop.example:8443"));
/// headers.insert("origin", HeaderValue::from_static("https://shop.example:8443"));
/// assert!(is_same_origin(&headers, &uri));
///
/// headers.insert("origin", HeaderValue::from_static("https://evil.example"));
/// assert!(!is_same_origin(&headers, &uri));
///
/// headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
/// assert!(!is_same_origin(&headers, &uri));
/// ```
pub fn is_same_origin(headers: &HeaderMap, uri: &Uri) -> bool {
    // Browsers send each header once; repeated ones are not from a browser page and are
    // too ambiguous to trust.
    if headers.get_all("sec-fetch-site").iter().count() > 1
        || headers.get_all(ORIGIN).iter().count() > 1
    {
        return false;
    }
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let Some(origin_authority) = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .filter(|rest| !rest.is_empty() && !rest.contains('/'))
    else {
        return false;
    };
    let host = headers
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| uri.authority().map(http::uri::Authority::as_str));
    host.is_some_and(|host| host.eq_ignore_ascii_case(origin_authority))
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
            (vec![("host", "a.test"), ("origin", "http://a.test")], true),
            (
                vec![("host", "A.test:80"), ("origin", "http://a.test:80")],
                true,
            ),
            (
                vec![("host", "a.test"), ("origin", "http://a.test:8080")],
                false,
            ),
            (vec![("host", "a.test"), ("origin", "http://b.test")], false),
            (vec![("host", "a.test"), ("origin", "null")], false),
            (
                vec![("host", "a.test"), ("origin", "http://a.test/path")],
                false,
            ),
            (vec![("origin", "http://a.test")], false),
            (vec![("host", "a.test")], true),
        ];
        for (pairs, expected) in cases {
            assert_eq!(
                is_same_origin(&headers(&pairs), &uri),
                expected,
                "{pairs:?}"
            );
        }
        let mut twice = headers(&[("host", "a.test"), ("origin", "http://a.test")]);
        twice.append(ORIGIN, HeaderValue::from_static("http://evil.test"));
        assert!(
            !is_same_origin(&twice, &uri),
            "repeated Origin headers are refused"
        );
        let absolute = Uri::from_static("http://a.test/x");
        assert!(is_same_origin(
            &headers(&[("origin", "http://a.test")]),
            &absolute
        ));
    }
}
