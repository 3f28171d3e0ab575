//! Cookies and shared caches: a response that sets a cookie is never kept by a shared cache
//! (a CDN or proxy would hand that cookie, a session's among them, to everyone).

use http::header::CACHE_CONTROL;
use http::{HeaderMap, HeaderValue};

/// The `Cache-Control` directives of `headers`, trimmed (every header line, comma-split;
/// a line that is not text has none, so it cannot make a response look private).
fn directives(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(CACHE_CONTROL)
        .iter()
        .flat_map(|value| value.to_str().unwrap_or("").split(','))
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
}

/// The name of a directive (`max-age` of `max-age=60`).
fn name(directive: &str) -> &str {
    directive.split('=').next().unwrap_or(directive).trim_end()
}

/// Whether a shared cache may keep this response: it has a `Cache-Control` without
/// `private` or `no-store`. (Without one, the response gets `private` anyway.)
pub(super) fn shared(headers: &HeaderMap) -> bool {
    headers.contains_key(CACHE_CONTROL)
        && !directives(headers).any(|d| {
            name(d).eq_ignore_ascii_case("private") || name(d).eq_ignore_ascii_case("no-store")
        })
}

/// Makes a response that sets cookies private: `private` when it has no `Cache-Control`;
/// otherwise `public` and `s-maxage` give way to `private` and every other directive stays
/// (`public, max-age=3600` becomes `private, max-age=3600`). `private` or `no-store`
/// already there: unchanged.
pub(super) fn keep_private(headers: &mut HeaderMap) {
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
        return;
    }
    if !shared(headers) {
        return;
    }
    let mut value = String::from("private");
    for directive in directives(headers) {
        let name = name(directive);
        if !name.eq_ignore_ascii_case("public") && !name.eq_ignore_ascii_case("s-maxage") {
            value.push_str(", ");
            value.push_str(directive);
        }
    }
    let value = HeaderValue::try_from(value).unwrap_or(HeaderValue::from_static("private"));
    headers.insert(CACHE_CONTROL, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(CACHE_CONTROL, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn private_of(values: &[&str]) -> Vec<String> {
        let mut headers = with(values);
        keep_private(&mut headers);
        headers
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn shared_caches_are_told_off_and_the_rest_is_kept() {
        assert_eq!(private_of(&[]), ["private"]);
        assert_eq!(
            private_of(&["public, max-age=3600"]),
            ["private, max-age=3600"]
        );
        assert_eq!(
            private_of(&["PUBLIC", "s-maxage=600, max-age=60"]),
            ["private, max-age=60"]
        );
        assert_eq!(
            private_of(&["max-age=60, must-revalidate"]),
            ["private, max-age=60, must-revalidate"]
        );
        assert_eq!(private_of(&["no-cache"]), ["private, no-cache"]);
        assert_eq!(
            private_of(&["private, max-age=60"]),
            ["private, max-age=60"]
        );
        assert_eq!(private_of(&["no-store"]), ["no-store"]);
        assert_eq!(
            private_of(&["max-age=60", "Private"]),
            ["max-age=60", "Private"]
        );
    }

    #[test]
    fn only_a_cache_control_without_private_or_no_store_is_shared() {
        assert!(!shared(&with(&[])));
        assert!(shared(&with(&["public, max-age=3600"])));
        assert!(shared(&with(&["max-age=60"])));
        assert!(!shared(&with(&["public", "private"])));
        assert!(!shared(&with(&["no-store"])));
        let mut unreadable = HeaderMap::new();
        unreadable.insert(
            CACHE_CONTROL,
            HeaderValue::from_bytes(b"private\xff").unwrap(),
        );
        assert!(
            shared(&unreadable),
            "a value that is not text says nothing private"
        );
        keep_private(&mut unreadable);
        assert_eq!(unreadable[CACHE_CONTROL], "private");
    }
}
