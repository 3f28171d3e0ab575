//! Benchmarks live in `benches/`; this library holds what several of them share.

pub mod handoff;

/// The `name=value` of the `Set-Cookie` that `response` sends for the cookie `name`.
///
/// ```
/// let response = http::Response::builder()
///     .header("set-cookie", "a=1; Path=/")
///     .body(())
///     .unwrap();
/// assert_eq!(consentry_benches::set_cookie(&response, "a"), "a=1");
/// ```
///
/// # Panics
/// When the response sets no cookie of that name (the benchmark's setup went wrong).
pub fn set_cookie<B>(response: &http::Response<B>, name: &str) -> String {
    let prefix = format!("{name}=");
    response
        .headers()
        .get_all(http::header::SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|cookie| cookie.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name} set"))
        .split(';')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Marks one iteration of a benchmark: the request builders of `--bench sessions` and
/// `--bench shop` call it once per request they build, so `scripts/instructions` can
/// count iterations under callgrind (setup requests cancel out there, as it subtracts a
/// short run from a long one).
///
/// ```
/// consentry_benches::iteration();
/// ```
#[inline(never)]
pub fn iteration() {
    std::hint::black_box(());
}
