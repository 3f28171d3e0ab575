//! Consent end to end through `consentry::testing::Client`: the endpoint, the gate, GPC, the ledger.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use consentry::ledger::{ConsentLedger, LedgerError, LedgerFuture, LedgerRecord, MemoryLedger};
use consentry::testing::{Client, TestResponse};
use consentry::{
    Category, CategoryDef, ConfigError, ConsentConfig, Consentry, ConsentryLayer, Csp,
    DeclaredCookie, Key, Keyring, ManualClock, Page, Part, Policy,
};
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};

const ORIGIN: &str = "https://shop.test";
const STATS: &str = "https://stats.test";

/// The app behind the layer: `/set/NAME` sets cookie NAME, `/typed/TYPE` answers with that
/// `Content-Type` (`+` for `; `, `%2B` for `+`); every page shows the banner.
async fn app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let page = request
        .extensions()
        .get::<Page>()
        .cloned()
        .expect("layer installed");
    let mut response = Response::new(format!(
        "{}{}",
        page.banner_html(),
        page.script_tag(&Category::ANALYTICS, &format!("{STATS}/a.js"))
    ));
    if let Some(kind) = request.uri().path().strip_prefix("/typed/") {
        let kind = kind.replace('+', "; ").replace("%2B", "+");
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, kind.parse().unwrap());
    }
    if let Some(name) = request.uri().path().strip_prefix("/set/") {
        response.headers_mut().append(
            header::SET_COOKIE,
            format!("{name}=1; Path=/").parse().unwrap(),
        );
    }
    Ok(response)
}

fn policy(revision: u32) -> Policy {
    Policy::new(revision).category(
        CategoryDef::new(Category::ANALYTICS, "Analytics <b>", "Counts visits").allow_origin(STATS),
    )
}

fn config(revision: u32, ledger: impl ConsentLedger) -> ConsentConfig {
    ConsentConfig::new(policy(revision))
        .ledger(ledger)
        .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS).purpose("visit id"))
        .declare(DeclaredCookie::prefix("_ga", Category::ANALYTICS).domain("shop.test"))
        .declare(DeclaredCookie::exact("lang", Category::PREFERENCES))
        .declare(DeclaredCookie::exact("partner", Category::MARKETING))
}

fn layer(config: ConsentConfig) -> ConsentryLayer {
    Consentry::builder(Keyring::new(1, Key::from_bytes(&[5; 32]).unwrap()))
        .consent(config)
        .clock(ManualClock::new(1_800_000_000))
        .build()
        .unwrap()
}

/// What the tests read from a response, beyond the client's helpers.
trait ReplyExt {
    /// The new consent cookie as `name=value`, to send back.
    fn consent_cookie(&self) -> Option<String>;
    fn granted(&self) -> Vec<String>;
}

impl ReplyExt for TestResponse {
    fn consent_cookie(&self) -> Option<String> {
        self.new_cookie("__Host-consent")
            .map(|value| format!("__Host-consent={value}"))
    }

    fn granted(&self) -> Vec<String> {
        self.json()["granted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }
}

/// Sends `request` as built: the tests set every cookie themselves.
async fn send(layer: &ConsentryLayer, request: Request<Full<Bytes>>) -> TestResponse {
    Client::new(layer.layer(service_fn(app)))
        .send(request)
        .await
}

fn request(method: Method, path: &str, cookies: &[&str]) -> http::request::Builder {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, ORIGIN);
    if !cookies.is_empty() {
        builder = builder.header(header::COOKIE, cookies.join("; "));
    }
    builder
}

fn get(path: &str, cookies: &[&str]) -> Request<Full<Bytes>> {
    request(Method::GET, path, cookies)
        .body(Full::default())
        .unwrap()
}

fn post_json(body: &str, cookies: &[&str]) -> Request<Full<Bytes>> {
    request(Method::POST, "/consent", cookies)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::from(body.to_owned()))
        .unwrap()
}

fn post_form(body: &str, cookies: &[&str]) -> Request<Full<Bytes>> {
    request(Method::POST, "/consent", cookies)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::from(body.to_owned()))
        .unwrap()
}

/// Decides through the endpoint and returns the consent cookie to send back.
async fn decide(layer: &ConsentryLayer, body: &str) -> String {
    let reply = send(layer, post_json(body, &[])).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply
        .consent_cookie()
        .expect("a decision sets the consent cookie")
}

#[tokio::test]
async fn undecided_visitor_sees_the_banner_and_no_grant() {
    let layer = layer(config(1, MemoryLedger::new()));
    let state = send(&layer, get("/consent", &[])).await;
    assert_eq!(state.status, StatusCode::OK);
    assert_eq!(state.json()["decided"], false);
    assert_eq!(state.granted(), ["necessary"]);
    assert_eq!(state.json()["revision"], 1);
    assert!(state.json()["id"].is_null());
    let page = send(&layer, get("/", &[])).await;
    assert!(
        page.text().contains(r#"action="/consent""#),
        "the banner is a form"
    );
    assert!(
        page.text().contains(r#"value="accept_all""#)
            && page.text().contains(r#"value="reject_all""#)
    );
    assert!(
        page.text().contains("Analytics &lt;b&gt;"),
        "texts are escaped"
    );
    assert!(
        page.text()
            .contains(r#"type="text/plain" data-consent="analytics""#),
        "analytics inert"
    );
    assert!(
        page.set_cookies().is_empty(),
        "nothing is set before a decision"
    );
}

#[tokio::test]
async fn json_decision_is_recorded_then_applied() {
    let ledger = MemoryLedger::new();
    let layer = layer(config(1, ledger.clone()));
    // What a page script's fetch sends: the browser adds `Sec-Fetch-Dest: empty`. The
    // `source` the body claims is not believed.
    let mut banner_post = post_json(
        r#"{"granted":["analytics"],"revision":1,"source":"form"}"#,
        &[],
    );
    banner_post
        .headers_mut()
        .insert("sec-fetch-dest", http::HeaderValue::from_static("empty"));
    let reply = send(&layer, banner_post).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.granted(), ["necessary", "analytics"]);
    assert_eq!(reply.json()["reload"], false, "no CSP, nothing to reload");
    let cookie = reply.consent_cookie().unwrap();
    let set = reply.set_cookies()[0];
    for attribute in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=15724800",
    ] {
        assert!(set.contains(attribute), "{set} lacks {attribute}");
    }

    let records = ledger.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.granted, ["necessary", "analytics"]);
    assert_eq!(record.denied, ["preferences", "marketing"]);
    assert_eq!(record.revision, 1);
    assert_eq!(record.source, consentry::ledger::Source::Banner);
    assert_eq!(record.ip, None);
    assert_eq!(
        Some(record.consent_id.clone()),
        reply.json()["id"].as_str().map(str::to_owned)
    );

    let state = send(&layer, get("/consent", &[&cookie])).await;
    assert_eq!(state.json()["decided"], true);
    assert_eq!(state.granted(), ["necessary", "analytics"]);
    let page = send(&layer, get("/", &[&cookie])).await;
    assert!(!banner_visible(&page.text()), "no banner once decided");
    assert!(
        page.text()
            .contains(r#"<script src="https://stats.test/a.js">"#),
        "analytics live"
    );

    // A second decision keeps the consent id and adds a ledger record.
    let reply = send(&layer, post_json(r#"{"action":"reject_all"}"#, &[&cookie])).await;
    assert_eq!(reply.granted(), ["necessary"]);
    assert_eq!(ledger.records().len(), 2);
    assert_eq!(ledger.records()[1].consent_id, record.consent_id);
    assert_eq!(ledger.records()[1].source, consentry::ledger::Source::Api);
}

#[tokio::test]
async fn form_path_redirects_back_and_ignores_foreign_return_to() {
    let ledger = MemoryLedger::new();
    let layer = layer(config(1, ledger.clone()));
    let accept = send(
        &layer,
        post_form(
            "action=accept_all&return_to=%2Fcart%3Fx%3D1&revision=1",
            &[],
        ),
    )
    .await;
    assert_eq!(accept.status, StatusCode::SEE_OTHER);
    assert_eq!(accept.headers[header::LOCATION], "/cart?x=1");
    let cookie = accept.consent_cookie().unwrap();
    assert_eq!(
        send(&layer, get("/consent", &[&cookie])).await.granted(),
        ["necessary", "preferences", "analytics", "marketing"]
    );
    assert_eq!(ledger.records()[0].source, consentry::ledger::Source::Form);

    for foreign in [
        "https://evil.test/",
        "//evil.test",
        "/\\evil.test",
        "evil",
        "javascript:alert(1)",
        "%2F%2Fevil.test",
    ] {
        let body = format!("action=reject_all&return_to={foreign}");
        let reply = send(&layer, post_form(&body, &[])).await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{foreign}");
        assert_eq!(
            reply.headers[header::LOCATION],
            "/",
            "{foreign} must not be followed"
        );
    }
    let custom = send(
        &layer,
        post_form("action=save&granted=preferences&granted=analytics", &[]),
    )
    .await;
    let cookie = custom.consent_cookie().unwrap();
    assert_eq!(
        send(&layer, get("/consent", &[&cookie])).await.granted(),
        ["necessary", "preferences", "analytics"]
    );
    let nothing_ticked = send(&layer, post_form("return_to=%2F", &[])).await;
    let cookie = nothing_ticked.consent_cookie().unwrap();
    assert_eq!(
        send(&layer, get("/consent", &[&cookie])).await.granted(),
        ["necessary"]
    );
}

#[tokio::test]
#[allow(clippy::too_many_lines, reason = "one table of bad requests")]
async fn bad_input_gets_clear_statuses_and_changes_nothing() {
    let ledger = MemoryLedger::new();
    let layer = layer(config(1, ledger.clone()));
    let cross_origin = Request::post("/consent")
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, "https://evil.test")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::from(r#"{"action":"accept_all"}"#))
        .unwrap();
    let cross_fetch = request(Method::POST, "/consent", &[])
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::from("action=accept_all"))
        .unwrap();
    let cross_delete = Request::delete("/consent")
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, "null")
        .body(Full::default())
        .unwrap();
    let huge = format!(r#"{{"granted":[],"pad":"{}"}}"#, "x".repeat(5000));
    let cases: Vec<(&str, Request<Full<Bytes>>, StatusCode, &str)> = vec![
        (
            "cross-origin POST",
            cross_origin,
            StatusCode::FORBIDDEN,
            "cross_site",
        ),
        (
            "cross-site fetch",
            cross_fetch,
            StatusCode::FORBIDDEN,
            "cross_site",
        ),
        (
            "cross-origin DELETE",
            cross_delete,
            StatusCode::FORBIDDEN,
            "cross_site",
        ),
        (
            "oversized",
            post_json(&huge, &[]),
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
        ),
        (
            "malformed JSON",
            post_json(r#"{"granted":"#, &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "wrong JSON type",
            post_json(r#"{"granted":"analytics"}"#, &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "empty JSON",
            post_json("{}", &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "unknown category",
            post_json(r#"{"granted":["analytics","tracking"]}"#, &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "unknown action",
            post_form("action=accept_some", &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "unknown form category",
            post_form("granted=nope", &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "bad revision",
            post_form("action=accept_all&revision=x", &[]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "stale revision",
            post_json(r#"{"action":"accept_all","revision":0}"#, &[]),
            StatusCode::CONFLICT,
            "stale_revision",
        ),
        (
            "text body",
            request(Method::POST, "/consent", &[])
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Full::from("accept"))
                .unwrap(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "PUT",
            request(Method::PUT, "/consent", &[])
                .body(Full::default())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "unknown path",
            get("/consent/nope", &[]),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
    ];
    for (name, request, status, code) in cases {
        let reply = send(&layer, request).await;
        assert_eq!(reply.status, status, "{name}: {}", reply.text());
        assert_eq!(reply.json()["error"], code, "{name}");
        assert!(
            reply.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}: every error says what is wrong"
        );
        assert!(
            reply.consent_cookie().is_none(),
            "{name} must not set consent"
        );
    }
    // The form with a stale revision goes back, with nothing applied.
    let stale_form = send(
        &layer,
        post_form("action=accept_all&revision=0&return_to=/cart", &[]),
    )
    .await;
    assert_eq!(stale_form.status, StatusCode::SEE_OTHER);
    assert_eq!(stale_form.location(), Some("/cart"));
    assert!(stale_form.consent_cookie().is_none());
    assert!(ledger.records().is_empty(), "no decision was recorded");

    // A body with no length that streams past the limit.
    let streamed = request(Method::POST, "/consent", &[])
        .header(header::CONTENT_TYPE, "application/json")
        .body(Chunked(10))
        .unwrap();
    let service = layer.layer(service_fn(|_: Request<Chunked>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let response = service.oneshot(streamed).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A body of N chunks of 1000 bytes with no size hint, like a chunked upload.
struct Chunked(usize);

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        if self.0 == 0 {
            return std::task::Poll::Ready(None);
        }
        self.0 -= 1;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(Bytes::from(vec![
            b' ';
            1000
        ])))))
    }
}

fn flip_a_bit(cookie: &str) -> String {
    let (name, value) = cookie.split_once('=').unwrap();
    let mut bytes = value.as_bytes().to_vec();
    // Inside the granted mask (bytes 26..34 of the payload, characters ~35..45).
    bytes[40] = if bytes[40] == b'A' { b'B' } else { b'A' };
    format!("{name}={}", String::from_utf8(bytes).unwrap())
}

#[tokio::test]
async fn a_client_edited_grant_is_ignored() {
    let layer = layer(config(1, MemoryLedger::new()));
    let rejected = decide(&layer, r#"{"action":"reject_all"}"#).await;
    let forged = flip_a_bit(&rejected);
    let state = send(&layer, get("/consent", &[&forged])).await;
    assert_eq!(
        state.json()["decided"],
        false,
        "a forged cookie is no decision"
    );
    assert_eq!(state.granted(), ["necessary"]);
    let page = send(&layer, get("/set/_sa", &[&forged])).await;
    assert!(
        page.set_cookies().iter().all(|c| !c.starts_with("_sa=1")),
        "no analytics cookie on a forged grant"
    );
}

#[tokio::test]
async fn an_unsigned_denial_is_honoured_but_an_unsigned_grant_is_not() {
    let layer = layer(config(1, MemoryLedger::new()));
    let all = decide(&layer, r#"{"action":"accept_all"}"#).await;
    // A static-mode choice made after the signed decision (the test clock stands still
    // at 1_800_000_000; the decision was made then).
    let narrowed = send(
        &layer,
        get(
            "/consent",
            &[&all, "consentry_choice=2.1.1800000060.analytics"],
        ),
    )
    .await;
    assert_eq!(
        narrowed.granted(),
        ["necessary", "analytics"],
        "marketing and preferences denied"
    );
    let none = send(
        &layer,
        get("/consent", &[&all, "consentry_choice=2.1.1800000060."]),
    )
    .await;
    assert_eq!(none.granted(), ["necessary"]);
    let garbage = send(&layer, get("/consent", &[&all, "consentry_choice=garbage"])).await;
    assert_eq!(
        garbage.granted(),
        ["necessary", "preferences", "analytics", "marketing"],
        "an unreadable choice says nothing"
    );

    let only_prefs = decide(&layer, r#"{"granted":["preferences"]}"#).await;
    let grant_attempt = send(
        &layer,
        get(
            "/consent",
            &[
                &only_prefs,
                "consentry_choice=2.1.1800000060.analytics.preferences.marketing",
            ],
        ),
    )
    .await;
    assert_eq!(
        grant_attempt.granted(),
        ["necessary", "preferences"],
        "unsigned grants count for nothing"
    );
    let undecided = send(
        &layer,
        get("/consent", &["consentry_choice=2.1.1800000060.analytics"]),
    )
    .await;
    assert_eq!(undecided.granted(), ["necessary"]);

    // A decision through the endpoint supersedes the static choice cookie and deletes it.
    let reply = send(
        &layer,
        post_json(r#"{"granted":["analytics"]}"#, &["consentry_choice=1.1."]),
    )
    .await;
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("consentry_choice=;") && c.contains("Max-Age=0"))
    );
}

#[tokio::test]
async fn a_revision_bump_makes_everyone_undecided_again() {
    let old = layer(config(1, MemoryLedger::new()));
    let all = decide(&old, r#"{"action":"accept_all"}"#).await;
    let new = layer(config(2, MemoryLedger::new()));
    let state = send(&new, get("/consent", &[&all])).await;
    assert_eq!(state.json()["decided"], false);
    assert_eq!(state.json()["revision"], 2);
    assert_eq!(state.granted(), ["necessary"], "old grants are not applied");
    assert!(
        state.json()["id"].is_string(),
        "the consent id carries over"
    );
    let page = send(&new, get("/", &[&all, "_sa=abc"])).await;
    assert!(banner_visible(&page.text()), "the banner shows again");
    assert!(
        page.set_cookies().iter().any(|c| c.starts_with("_sa=;")),
        "stale analytics cookie deleted"
    );

    // Changing the categories re-asks too, without a revision bump.
    let more = layer(
        config(1, MemoryLedger::new()).declare(DeclaredCookie::exact("x", Category::NECESSARY)),
    );
    assert_eq!(
        send(&more, get("/consent", &[&all])).await.json()["decided"],
        true,
        "declaring a cookie is not a category change"
    );
    let changed = layer(
        ConsentConfig::new(policy(1).category(CategoryDef::new(
            Category::new("ab"),
            "AB",
            "tests",
        )))
        .ledger(MemoryLedger::new()),
    );
    assert_eq!(
        send(&changed, get("/consent", &[&all])).await.json()["decided"],
        false
    );
}

fn with_gpc(mut request: Request<Full<Bytes>>) -> Request<Full<Bytes>> {
    request
        .headers_mut()
        .insert("sec-gpc", "1".parse().unwrap());
    request
}

#[tokio::test]
async fn global_privacy_control_denies_marketing_until_explicitly_granted() {
    let layer = layer(config(1, MemoryLedger::new()));
    let state = send(&layer, with_gpc(get("/consent", &[]))).await;
    assert_eq!(state.json()["gpc"], true);
    let page = send(&layer, with_gpc(get("/", &[]))).await;
    assert!(
        page.text().contains("data-gpc"),
        "the banner says GPC is honoured"
    );

    let accept_all = send(
        &layer,
        with_gpc(post_json(r#"{"action":"accept_all"}"#, &[])),
    )
    .await;
    assert_eq!(
        accept_all.granted(),
        ["necessary", "preferences", "analytics"],
        "accept all does not override GPC"
    );
    let explicit = send(
        &layer,
        with_gpc(post_json(r#"{"granted":["marketing"]}"#, &[])),
    )
    .await;
    let explicit_cookie = explicit.consent_cookie().unwrap();
    assert_eq!(
        send(&layer, with_gpc(get("/consent", &[&explicit_cookie])))
            .await
            .granted(),
        ["necessary", "marketing"]
    );

    // A grant made without GPC does not survive GPC being switched on.
    let earlier = decide(&layer, r#"{"action":"accept_all"}"#).await;
    let now_gpc = send(&layer, with_gpc(get("/consent", &[&earlier]))).await;
    assert_eq!(now_gpc.granted(), ["necessary", "preferences", "analytics"]);
    let page = send(&layer, with_gpc(get("/set/partner", &[&earlier]))).await;
    assert!(
        page.set_cookies()
            .iter()
            .all(|c| !c.starts_with("partner=1")),
        "marketing cookie blocked under GPC"
    );
    assert_eq!(
        send(&layer, get("/consent", &[&earlier]))
            .await
            .granted()
            .len(),
        4,
        "without GPC the grant stands"
    );
}

#[tokio::test]
async fn withdrawal_deletes_cookies_of_withdrawn_categories() {
    let layer = layer(config(1, MemoryLedger::new()));
    let analytics = decide(&layer, r#"{"granted":["analytics","preferences"]}"#).await;
    let withdraw = request(
        Method::DELETE,
        "/consent?source=banner",
        &[&analytics, "_sa=v1", "_ga_XY=2", "lang=de", "other=1"],
    )
    .body(Full::default())
    .unwrap();
    let reply = send(&layer, withdraw).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.granted(), ["necessary"]);
    assert_eq!(reply.json()["decided"], true);
    let cookies = reply.set_cookies();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("_sa=;") && c.contains("Max-Age=0") && c.contains("Path=/")),
        "{cookies:?}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("_ga_XY=;") && c.contains("Domain=shop.test")),
        "{cookies:?}"
    );
    assert!(
        cookies.iter().any(|c| c.starts_with("lang=;")),
        "{cookies:?}"
    );
    assert!(
        !cookies.iter().any(|c| c.starts_with("other=")),
        "undeclared cookies are not touched"
    );
    let after = reply.consent_cookie().unwrap();
    assert_eq!(
        send(&layer, get("/consent", &[&after])).await.granted(),
        ["necessary"]
    );
}

#[tokio::test]
async fn set_cookie_of_an_ungranted_category_is_removed() {
    let layer = layer(config(1, MemoryLedger::new()));
    let undecided = send(&layer, get("/set/_sa", &[])).await;
    assert!(
        undecided.set_cookies().is_empty(),
        "{:?}",
        undecided.set_cookies()
    );
    let undeclared = send(&layer, get("/set/mystery", &[])).await;
    assert!(
        undeclared.set_cookies().is_empty(),
        "strict mode drops undeclared cookies"
    );

    let analytics = decide(&layer, r#"{"granted":["analytics"]}"#).await;
    assert_eq!(
        send(&layer, get("/set/_sa", &[&analytics]))
            .await
            .set_cookies(),
        ["_sa=1; Path=/"]
    );
    assert!(
        send(&layer, get("/set/lang", &[&analytics]))
            .await
            .set_cookies()
            .is_empty()
    );

    let lenient = layer_lenient();
    assert_eq!(
        send(&lenient, get("/set/mystery", &[])).await.set_cookies(),
        ["mystery=1; Path=/"]
    );
}

fn layer_lenient() -> ConsentryLayer {
    layer(config(1, MemoryLedger::new()).strict(false))
}

/// A ledger whose disk can be made to fail.
#[derive(Clone, Default)]
struct FailingLedger {
    failing: Arc<AtomicBool>,
    inner: MemoryLedger,
}

impl ConsentLedger for FailingLedger {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        if self.failing.load(Ordering::SeqCst) {
            Box::pin(async { Err(LedgerError::Io(std::io::Error::other("disk full"))) })
        } else {
            self.inner.append(record)
        }
    }
}

#[tokio::test]
async fn a_ledger_failure_blocks_grants_but_not_denials() {
    let ledger = FailingLedger::default();
    let layer = layer(config(1, ledger.clone()));
    let all = decide(&layer, r#"{"action":"accept_all"}"#).await;
    ledger.failing.store(true, Ordering::SeqCst);

    let grant = send(&layer, post_json(r#"{"action":"accept_all"}"#, &[])).await;
    assert_eq!(grant.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(grant.json()["error"], "ledger_unavailable");
    assert!(grant.headers.contains_key(header::RETRY_AFTER));
    assert!(
        grant.consent_cookie().is_none(),
        "an unproven grant is not applied"
    );
    let form = send(&layer, post_form("action=accept_all", &[])).await;
    assert_eq!(form.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(form.consent_cookie().is_none());

    let deny = send(&layer, post_json(r#"{"granted":["analytics"]}"#, &[&all])).await;
    assert_eq!(deny.status, StatusCode::OK, "a pure denial is applied");
    let denied = deny.consent_cookie().unwrap();
    assert_eq!(
        send(&layer, get("/consent", &[&denied])).await.granted(),
        ["necessary", "analytics"]
    );

    let mixed = send(
        &layer,
        post_json(r#"{"granted":["marketing"]}"#, &[&denied]),
    )
    .await;
    assert_eq!(mixed.status, StatusCode::SERVICE_UNAVAILABLE);
    let reduced = mixed.consent_cookie().expect("the denial part is applied");
    assert_eq!(
        send(&layer, get("/consent", &[&reduced])).await.granted(),
        ["necessary"],
        "analytics withdrawn, marketing not granted"
    );

    let withdraw = request(Method::DELETE, "/consent", &[&all])
        .body(Full::default())
        .unwrap();
    assert_eq!(
        send(&layer, withdraw).await.status,
        StatusCode::OK,
        "withdrawal works without the ledger"
    );
    assert_eq!(
        ledger.inner.records().len(),
        1,
        "only the first decision reached the ledger"
    );
}

#[tokio::test]
async fn csp_allows_a_category_origin_only_once_granted() {
    let layer = layer(config(1, MemoryLedger::new()).csp(Csp::new()));
    let before = send(&layer, get("/", &[])).await;
    let csp = before.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(!csp.contains(STATS), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(nonce.len() >= 22, "128-bit nonce");
    assert!(
        before.text().contains(&format!(r#"nonce="{nonce}""#)),
        "the page uses this response's nonce"
    );
    let again = send(&layer, get("/", &[])).await;
    assert_ne!(
        again.headers[header::CONTENT_SECURITY_POLICY],
        csp.as_str(),
        "a fresh nonce per response"
    );

    let reply = send(&layer, post_json(r#"{"granted":["analytics"]}"#, &[])).await;
    assert_eq!(
        reply.json()["reload"],
        true,
        "the page's CSP does not allow the new origin yet"
    );
    let cookie = reply.consent_cookie().unwrap();
    let after = send(&layer, get("/", &[&cookie])).await;
    let csp = after.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(
        csp.contains("script-src 'self' 'nonce-") && csp.contains(STATS),
        "{csp}"
    );
}

#[tokio::test]
async fn the_csp_is_left_off_responses_that_run_nothing() {
    let layer = layer(config(1, MemoryLedger::new()).csp(Csp::new()));
    for passive in [
        "text/css+charset=utf-8",
        "TEXT/CSS",
        "image/png",
        "image/webp",
        "font/woff2",
        "audio/ogg",
        "video/mp4",
    ] {
        let response = send(&layer, get(&format!("/typed/{passive}"), &[])).await;
        assert!(
            !response
                .headers
                .contains_key(header::CONTENT_SECURITY_POLICY),
            "{passive}"
        );
    }
    for active in [
        "text/html+charset=utf-8",
        "image/svg%2Bxml",
        "application/json",
        "application/xhtml%2Bxml",
        "text/plain",
        "application/javascript",
    ] {
        let response = send(&layer, get(&format!("/typed/{active}"), &[])).await;
        assert!(
            response
                .headers
                .contains_key(header::CONTENT_SECURITY_POLICY),
            "{active}"
        );
    }
    let untyped = send(&layer, get("/", &[])).await;
    assert!(
        untyped
            .headers
            .contains_key(header::CONTENT_SECURITY_POLICY),
        "a response without a type keeps its CSP"
    );
}

#[tokio::test]
async fn declaration_and_settings_page_come_from_the_registry() {
    let layer = layer(config(1, MemoryLedger::new()));
    let declaration = send(&layer, get("/consent/declaration", &[])).await.json();
    let categories = declaration["categories"].as_array().unwrap();
    let names: Vec<&str> = categories
        .iter()
        .flat_map(|c| c["cookies"].as_array().unwrap())
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for expected in [
        "__Host-consent",
        "consentry_choice",
        "lang",
        "_sa",
        "_ga",
        "partner",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    assert_eq!(categories[2]["origins"][0], STATS);

    let html = send(
        &layer,
        request(Method::GET, "/consent?return_to=%2Fcart", &[])
            .header(header::ACCEPT, "text/html")
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert!(
        html.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        html.text()
            .contains("<details class=\"consentry-customize\" open>")
    );
    assert!(html.text().contains(r#"name="return_to" value="/cart""#));
    let css = send(&layer, get("/consent/banner.css", &[])).await;
    assert!(css.text().contains("--consentry-accent"));
    let page = send(&layer, get("/", &[])).await;
    let hashed = page
        .text()
        .split(r#"<link rel="stylesheet" href=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        hashed.starts_with("/consent/banner.")
            && hashed.len() == "/consent/banner.01234567.css".len(),
        "{hashed}"
    );
    let cached = send(&layer, get(&hashed, &[])).await;
    assert_eq!(cached.text(), css.text());
    assert_eq!(
        cached.headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        send(&layer, get("/consent/banner.00000000.css", &[]))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn misconfiguration_is_a_config_error() {
    let invalid = |config: ConsentConfig| match Consentry::builder(Keyring::new(
        1,
        Key::from_bytes(&[5; 32]).unwrap(),
    ))
    .consent(config)
    .build()
    {
        Err(ConfigError::Invalid { part, setting, .. }) => (part, setting),
        other => panic!("expected ConfigError::Invalid, got {other:?}"),
    };
    assert_eq!(
        invalid(ConsentConfig::new(Policy::new(1))),
        (Part::Consent, "ledger"),
        "no ledger"
    );
    for base in ["consent", "/consent/"] {
        assert_eq!(
            invalid(config(1, MemoryLedger::new()).base_path(base)),
            (Part::Consent, "base_path")
        );
    }
    assert_eq!(
        invalid(
            config(1, MemoryLedger::new())
                .declare(DeclaredCookie::exact("x", Category::new("nope")))
        ),
        (Part::Gate, "declare")
    );
    assert_eq!(
        invalid(
            config(1, MemoryLedger::new())
                .declare(DeclaredCookie::exact("bad name", Category::ANALYTICS))
        ),
        (Part::Gate, "declare")
    );
    assert_eq!(
        invalid(
            ConsentConfig::new(Policy::new(1).max_age(std::time::Duration::ZERO))
                .ledger(MemoryLedger::new())
        ),
        (Part::Consent, "max_age")
    );
}

/// Whether the page shows the banner (rendered and not `hidden`).
fn banner_visible(body: &str) -> bool {
    body.split("<section id=\"consentry\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .is_some_and(|tag| !tag.contains(" hidden"))
}

#[tokio::test]
async fn a_policy_asks_only_about_the_categories_it_has() {
    let policy = Policy::necessary_only(1).standard_category(Category::ANALYTICS);
    let layer = layer(ConsentConfig::new(policy).ledger(MemoryLedger::new()));
    let page = send(&layer, get("/", &[])).await.text();
    assert!(page.contains(r#"value="analytics""#), "{page}");
    for absent in ["preferences", "marketing"] {
        assert!(
            !page.contains(&format!(r#"value="{absent}""#)),
            "{absent} offered"
        );
    }
    let all = send(&layer, post_json(r#"{"action":"accept_all"}"#, &[])).await;
    assert_eq!(all.granted(), ["necessary", "analytics"]);
    let unknown = send(&layer, post_json(r#"{"granted":["marketing"]}"#, &[])).await;
    assert_eq!(
        unknown.status,
        StatusCode::BAD_REQUEST,
        "not a category here"
    );

    let custom = Consentry::builder(Keyring::new(1, Key::from_bytes(&[5; 32]).unwrap()))
        .consent(
            ConsentConfig::new(Policy::necessary_only(1).standard_category(Category::new("chat")))
                .ledger(MemoryLedger::new()),
        )
        .build();
    let Err(ConfigError::Invalid { setting, .. }) = custom else {
        panic!("a category without texts is a config error");
    };
    assert_eq!(setting, "standard_category");
}

#[tokio::test]
async fn a_revision_bump_says_what_changed_to_returning_visitors() {
    let notes = |policy: Policy| {
        policy
            .revision_note(1, "2026-01-15", "First version.")
            .revision_note(2, "2026-06-01", "Analytics moved to our own server.")
            .revision_note(3, "2026-11-30", "Marketing cookies are gone.")
    };
    let old = layer(config(1, MemoryLedger::new()));
    let decided = decide(&old, r#"{"action":"accept_all"}"#).await;
    let new = layer(
        ConsentConfig::new(notes(policy(3)))
            .ledger(MemoryLedger::new())
            .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS)),
    );
    let page = send(&new, get("/", &[&decided])).await.text();
    assert!(
        page.contains(
            r#"<p class="consentry-notice" role="note">Analytics moved to our own server. Marketing cookies are gone.</p>"#
        ),
        "every change since revision 1: {page}"
    );
    assert!(
        !page.contains("First version."),
        "not what they already saw"
    );
    let first_visit = send(&new, get("/", &[])).await.text();
    assert!(
        !first_visit.contains("consentry-notice"),
        "nothing changed for a new visitor"
    );
    let again = decide(&new, r#"{"action":"reject_all"}"#).await;
    let after = send(&new, get("/", &[&again])).await.text();
    assert!(
        !after.contains("consentry-notice"),
        "decided under this revision"
    );

    let bad = Consentry::builder(Keyring::new(1, Key::from_bytes(&[5; 32]).unwrap()))
        .consent(
            ConsentConfig::new(policy(1).revision_note(2, "2026-01-01", "From the future."))
                .ledger(MemoryLedger::new()),
        )
        .build();
    assert!(bad.is_err(), "a note for a later revision");
}
