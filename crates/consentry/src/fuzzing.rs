//! Entry points for the coverage-guided fuzz targets in `fuzz/` (feature `fuzzing`): one
//! per parser of untrusted input. Not a supported API.
//!
//! Each function takes the fuzzer's bytes, runs the parser the layer runs, and asserts what
//! must hold whatever the input (a failed assertion is a finding): no panic, bounds kept,
//! no redirect off the site, nothing passed by the gate that was not granted.

use std::sync::OnceLock;

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, Uri};

use crate::builder::{ConsentConfig, Consentry};
use crate::clock::{ManualClock, Moment};
use crate::codec::{Codec, MAX_BODY_LEN};
use crate::cookies::{MAX_PAIRS, MAX_VALUES_PER_NAME, RequestCookies};
use crate::keys::{Key, Keyring, Purpose};
use crate::ledger::{JsonlLedger, MemoryLedger};
use crate::origin::is_local_path;
use crate::policy::{Category, CategoryDef, DeclaredCookie, Granted, Policy};
use crate::referral::{Partner, ReferralConfig};
use crate::render::BannerTexts;
use crate::service::ConsentryLayer;

/// The fuzzer's clock: any fixed time works, cookies are sealed relative to it.
const NOW: u64 = 1_800_000_000;

fn layer() -> &'static ConsentryLayer {
    static LAYER: OnceLock<ConsentryLayer> = OnceLock::new();
    LAYER.get_or_init(|| {
        let policy = Policy::new(1).category(
            CategoryDef::new(Category::ANALYTICS, "Analytics", "Counts visits")
                .allow_origin("https://stats.example"),
        );
        Consentry::builder(Keyring::new(
            1,
            Key::from_bytes(&[7; 32]).expect("32 bytes"),
        ))
        .consent(
            ConsentConfig::new(policy)
                .ledger(MemoryLedger::new())
                .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS))
                .declare(DeclaredCookie::prefix("_ga", Category::ANALYTICS))
                .declare(DeclaredCookie::exact("lang", Category::PREFERENCES))
                .texts("de", BannerTexts::default()),
        )
        .referral(
            ReferralConfig::new()
                .partner(Partner::new("acme", "Acme").portal_host("acme.example"))
                .partner(Partner::new("globex", "Globex"))
                .clean_urls(true),
        )
        .clock(ManualClock::new(NOW))
        .build()
        .expect("the fuzz configuration is valid")
    })
}

fn text(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or_default()
}

/// The `Cookie` header, as the layer reads it once per request.
pub fn cookie_header(data: &[u8]) {
    let mut headers = HeaderMap::new();
    for part in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(COOKIE, value);
        }
    }
    let cookies = RequestCookies::parse(&headers);
    let names: Vec<&str> = cookies.names().collect();
    assert!(names.len() <= MAX_PAIRS);
    for name in names {
        assert!(!name.is_empty() && !name.contains(';'));
        assert!(cookies.values(name).count() <= MAX_VALUES_PER_NAME);
    }
}

/// A signed cookie value, as each part opens it; and sealed values open to what was sealed.
pub fn codec_open(data: &[u8]) {
    let keyring = Keyring::new(3, Key::from_bytes(&[3; 32]).expect("32 bytes"))
        .with_verify_only(4, Key::from_bytes(&[4; 32]).expect("32 bytes"));
    let codec = Codec::new(&keyring, Purpose::Session);
    let name = "__Host-sid";
    if let Ok(opened) = codec.open(name, text(data), NOW) {
        assert!(opened.expires_at > NOW);
        assert!(matches!(opened.key_id, 3 | 4));
    }
    let data = &data[..data.len().min(MAX_BODY_LEN)];
    let sealed = codec.seal(name, NOW + 60, data);
    let opened = codec
        .open(name, &sealed, NOW)
        .expect("a sealed value opens");
    assert_eq!(&*opened.body, data);
    assert!(codec.open("__Host-consent", &sealed, NOW).is_err());
    assert!(codec.open(name, &sealed, NOW + 60).is_err());
}

/// A decision body, as JSON and as the no-JavaScript form.
pub fn consent_body(data: &[u8]) {
    if let Some(back) = crate::endpoint::parse::parse_both(data) {
        assert!(is_local_path(&back), "return_to {back:?}");
    }
}

/// The form's `return_to`.
pub fn return_to(data: &[u8]) {
    let back = crate::endpoint::parse::safe_return_to(Some(text(data)));
    assert!(is_local_path(&back), "return_to {back:?}");
    assert!(back == "/" || back == text(data));
}

/// The referral parameter and the portal host: `host\npath?query`. A clean-URL redirect
/// never leaves the site.
pub fn referral(data: &[u8]) {
    let layer = layer();
    let shared = layer.shared();
    let part = shared.referral.as_ref().expect("referral is configured");
    let (host, target) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (&b"shop.example"[..], data),
    };
    let Ok(uri) = Uri::try_from(target) else {
        return;
    };
    let mut headers = HeaderMap::new();
    if let Ok(host) = HeaderValue::from_bytes(host) {
        headers.insert(http::header::HOST, host);
    }
    let policy = shared
        .consent
        .as_ref()
        .expect("consent is configured")
        .consent
        .policy();
    let everything = Granted::new(policy, policy.all_mask());
    let cookies = RequestCookies::parse(&headers);
    let moment = Moment::new(&*shared.clock);
    let read = part.read(&Method::GET, &uri, &headers, &cookies, everything, &moment);
    if let Some(location) = part.clean_url(&read, everything, &Method::GET, &uri) {
        assert!(is_local_path(&location), "redirect to {location:?}");
        assert!(HeaderValue::try_from(location.as_str()).is_ok());
    }
}

/// `Accept-Language`: always one of the configured languages.
pub fn accept_language(data: &[u8]) {
    let renderer = &layer().shared().consent.as_ref().expect("consent").renderer;
    let language = renderer.language(renderer.negotiate(Some(text(data))));
    assert!(matches!(language, "en" | "de"), "{language}");
}

/// The app's `Set-Cookie` headers through the gate of a visitor who granted nothing: what
/// passes is a cookie of a granted category (here only the layer's own, which the app does
/// not set), an undeclared one (lenient mode warns and keeps it), or a canonical deletion.
pub fn set_cookie(data: &[u8]) {
    let side = layer().shared().consent.as_ref().expect("consent");
    let policy = side.consent.policy();
    let nothing = Granted::new(policy, policy.necessary_mask());
    let mut headers = HeaderMap::new();
    for part in data.split(|&b| b == b'\n') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(SET_COOKIE, value);
        }
    }
    let read = side.gate.read(&RequestCookies::default());
    side.gate.respond(&read, nothing, &mut headers);
    for value in headers.get_all(SET_COOKIE) {
        let text = value.to_str().expect("what passes is text");
        let cookie = cookie::Cookie::parse(text).expect("what passes parses");
        let declared = ["_sa", "lang"].contains(&cookie.name()) || cookie.name().starts_with("_ga");
        if declared {
            assert_eq!(cookie.value(), "", "{text}");
            assert_eq!(
                cookie.max_age(),
                Some(cookie::time::Duration::ZERO),
                "{text}"
            );
        }
    }
}

/// The ledger reopening a damaged file: a torn tail is cut, complete lines stay, and
/// writing goes on.
pub fn ledger_reopen(data: &[u8]) {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("consentry-fuzz-ledger-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    });
    let path = dir.join("ledger.jsonl");
    std::fs::write(&path, data).expect("the temporary file is writable");
    let ledger = JsonlLedger::open(&path).expect("a damaged file still opens");
    drop(ledger);
    let repaired = std::fs::read(&path).expect("readable");
    let keep = data
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |at| at + 1);
    assert_eq!(repaired, &data[..keep], "only the torn tail is cut");
}

/// The static banner's choice cookie.
pub fn choice_cookie(data: &[u8]) {
    if let Some(choice) = consentry_banner::protocol::parse_choice(text(data)) {
        for id in choice.granted() {
            assert!(!id.is_empty() && !id.contains('.'));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each entry point on a few hostile inputs, so they cannot rot between fuzz runs.
    #[test]
    fn entry_points_hold_on_hostile_inputs() {
        let inputs: [&[u8]; 8] = [
            b"",
            b"__Host-sid=abc; pref=caf\xc3\xa9; x=\xff",
            b"_sa=1; Path=/; Max-Age=31536000; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            b"shop.example\n//evil.example/?ref=acme",
            b"acme.example\n/\\evil.example/?x=1",
            b"action=save&granted=analytics&return_to=//evil.example",
            b"{\"granted\":[\"analytics\"],\"revision\":1}",
            b"de-CH;q=0.9, en;q=0.8\n{\"consent_id\":\"ab\"}\n{\"torn",
        ];
        for input in inputs {
            cookie_header(input);
            codec_open(input);
            consent_body(input);
            return_to(input);
            referral(input);
            accept_language(input);
            set_cookie(input);
            ledger_reopen(input);
            choice_cookie(input);
        }
    }
}
