//! Reading the `Cookie` header once and writing `Set-Cookie` values with safe attributes.

use std::time::Duration;

use cookie::{Cookie, SameSite};
use http::{HeaderMap, HeaderValue, header::COOKIE};

/// Every cookie pair of a request, parsed once.
#[derive(Debug, Default)]
pub(crate) struct RequestCookies<'h> {
    pairs: Vec<(&'h str, &'h str)>,
}

impl<'h> RequestCookies<'h> {
    /// Parses all `Cookie` headers; unreadable headers and malformed pairs are skipped.
    pub(crate) fn parse(headers: &'h HeaderMap) -> Self {
        let pairs = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .filter_map(|cookie| match (cookie.name_raw(), cookie.value_raw()) {
                (Some(name), Some(value)) => Some((name, value)),
                _ => None,
            })
            .collect();
        Self { pairs }
    }

    /// Every cookie name, in header order, repeats included.
    pub(crate) fn names(&self) -> impl Iterator<Item = &'h str> + '_ {
        self.pairs.iter().map(|(n, _)| *n)
    }

    /// Every value sent under `name`, in header order (a browser may send several).
    pub(crate) fn values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'h str> + 's {
        self.pairs
            .iter()
            .filter(move |(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

/// Cookie naming and attributes shared by every cookie the layer writes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CookieSettings {
    /// Plain-http development: no `Secure`, no `__Host-` prefix.
    pub(crate) dev: bool,
}

impl CookieSettings {
    /// The full cookie name for a base name such as `sid`.
    pub(crate) fn name(self, base: &str) -> String {
        if self.dev {
            base.to_owned()
        } else {
            format!("__Host-{base}")
        }
    }

    /// A `Set-Cookie` value that stores `value` for `max_age`.
    pub(crate) fn set(self, name: &str, value: String, max_age: Duration) -> HeaderValue {
        self.render(Cookie::build((name.to_owned(), value)).max_age(to_cookie_duration(max_age)))
    }

    /// A `Set-Cookie` value that makes the browser delete `name`.
    pub(crate) fn expire(self, name: &str) -> HeaderValue {
        self.render(Cookie::build((name.to_owned(), "")).max_age(cookie::time::Duration::ZERO))
    }

    /// A `Set-Cookie` value deleting a cookie that page scripts set (not `HttpOnly`).
    pub(crate) fn expire_script_cookie(self, name: &str) -> HeaderValue {
        let cookie = Cookie::build((name.to_owned(), ""))
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .secure(!self.dev)
            .same_site(SameSite::Lax)
            .build();
        HeaderValue::try_from(cookie.to_string()).expect("cookie names are valid header text")
    }

    fn render(self, builder: cookie::CookieBuilder<'static>) -> HeaderValue {
        let cookie = builder
            .path("/")
            .secure(!self.dev)
            .http_only(true)
            .same_site(SameSite::Lax)
            .build();
        HeaderValue::try_from(cookie.to_string())
            .expect("cookie names and base64url values are valid header text")
    }
}

fn to_cookie_duration(duration: Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(i64::try_from(duration.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_header_and_repeated_names() {
        let mut headers = HeaderMap::new();
        headers.append(
            COOKIE,
            HeaderValue::from_static("a=1; __Host-sid=x; junk; b=2"),
        );
        headers.append(COOKIE, HeaderValue::from_static("__Host-sid=y"));
        headers.append(COOKIE, HeaderValue::from_bytes(b"c=\xff").unwrap());
        let cookies = RequestCookies::parse(&headers);
        assert_eq!(cookies.values("__Host-sid").collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(cookies.values("b").collect::<Vec<_>>(), ["2"]);
        assert_eq!(cookies.values("c").count(), 0);
    }

    #[test]
    fn attributes_are_strict_by_default() {
        let settings = CookieSettings { dev: false };
        let name = settings.name("sid");
        let value = settings.set(&name, "abc".into(), Duration::from_secs(60));
        assert_eq!(
            value,
            "__Host-sid=abc; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
        );
        let expired = settings.expire(&name);
        assert!(expired.to_str().unwrap().contains("Max-Age=0"));
        let dev = CookieSettings { dev: true };
        assert_eq!(dev.name("sid"), "sid");
        assert!(
            !dev.set("sid", "abc".into(), Duration::from_secs(1))
                .to_str()
                .unwrap()
                .contains("Secure")
        );
    }
}
