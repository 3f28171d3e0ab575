//! One regression test per finding of the security review (SECURITY.md lists them), through
//! the whole layer as a browser would meet it. Each fails without its fix.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use consentry::ledger::{MemoryLedger, Source};
use consentry::store::MemoryStore;
use consentry::testing::{Client, TestResponse};
use consentry::{
    Category, CategoryDef, ConsentConfig, Consentry, ConsentryLayer, Csp, DeclaredCookie, Key,
    Keyring, ManualClock, Page, Partner, Policy, Referral, ReferralConfig, Session, SessionConfig,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower::{Layer, service_fn};

const T0: u64 = 1_800_000_000;

/// The app: `/login/U`, `/user` (the session's user), `/referral`, `/set/<raw Set-Cookie>`
/// (percent-decoded), and an HTML page with the banner for anything else.
async fn app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let session = request.extensions().get::<Session>().cloned().unwrap();
    let page = request.extensions().get::<Page>().cloned().unwrap();
    let path = request.uri().path().to_owned();
    let mut response = Response::new(String::new());
    if let Some(user) = path.strip_prefix("/login/") {
        session.cycle_id().await.unwrap();
        session.insert("user", user).await.unwrap();
        *response.body_mut() = "logged in".into();
    } else if path == "/user" {
        let user: Option<String> = session.get("user").await.unwrap();
        *response.body_mut() = user.unwrap_or_else(|| "-".into());
    } else if path == "/cart" {
        session.insert("cart", &1).await.unwrap();
    } else if path == "/referral" {
        let referral = request.extensions().get::<Referral>();
        *response.body_mut() = referral.map_or("none".into(), |r| r.partner_id().to_owned());
    } else if let Some(raw) = path.strip_prefix("/set/") {
        let raw = percent_decode(raw);
        response
            .headers_mut()
            .append(header::SET_COOKIE, HeaderValue::from_str(&raw).unwrap());
    } else {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        *response.body_mut() = page.banner_html().into_string();
    }
    Ok(response)
}

fn percent_decode(text: &str) -> String {
    form_urlencoded::parse(format!("v={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

struct Site {
    layer: ConsentryLayer,
    ledger: MemoryLedger,
    clock: ManualClock,
}

fn site_with(csp: bool, store: MemoryStore) -> Site {
    let clock = ManualClock::new(T0);
    let ledger = MemoryLedger::new();
    let policy = Policy::new(1).category(CategoryDef::new(
        Category::ANALYTICS,
        "Analytics",
        "Counts visits",
    ));
    let mut consent = ConsentConfig::new(policy)
        .ledger(ledger.clone())
        .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS));
    if csp {
        consent = consent.csp(Csp::new());
    }
    let layer = Consentry::builder(Keyring::new(1, Key::from_bytes(&[9; 32]).unwrap()))
        .session(SessionConfig::new(store.with_clock(clock.clone())))
        .consent(consent)
        .referral(
            ReferralConfig::new()
                .partner(Partner::new("acme", "Acme"))
                .clean_urls(true),
        )
        .clock(clock.clone())
        .build()
        .unwrap();
    Site {
        layer,
        ledger,
        clock,
    }
}

fn site() -> Site {
    site_with(false, MemoryStore::new())
}

type App = consentry::ConsentryService<
    tower::util::ServiceFn<
        fn(Request<Full<Bytes>>) -> std::pin::Pin<Box<dyn Future<Output = AppResult> + Send>>,
    >,
>;
type AppResult = Result<Response<String>, Infallible>;

fn browser(site: &Site) -> Client<App> {
    fn boxed(
        request: Request<Full<Bytes>>,
    ) -> std::pin::Pin<Box<dyn Future<Output = AppResult> + Send>> {
        Box::pin(app(request))
    }
    let service = service_fn(boxed as fn(_) -> _);
    Client::new(site.layer.layer(service))
}

async fn accept_all(client: &Client<App>) -> TestResponse {
    let reply = client
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply
}

/// Finding 1: a clean-URL redirect never names another site, whatever the path.
#[tokio::test]
async fn clean_url_redirects_never_name_another_site() {
    let site = site();
    let client = browser(&site);
    accept_all(&client).await;
    let normal = client.get("/page?ref=acme&x=1").await;
    assert_eq!(normal.status, StatusCode::SEE_OTHER);
    assert_eq!(normal.location(), Some("/page?x=1"));
    for path in [
        "//evil.example/?ref=acme",
        "///evil.example/?ref=acme",
        "/\\evil.example/?ref=acme",
        "/\\/evil.example/?ref=acme",
        "/a\\b?ref=acme",
    ] {
        let Ok(uri) = path.parse::<http::Uri>() else {
            continue;
        };
        let reply = client
            .send(
                client
                    .request(&Method::GET, &uri.to_string())
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
        if let Some(location) = reply.location() {
            let bytes = location.as_bytes();
            assert!(
                bytes[0] == b'/' && !matches!(bytes.get(1), Some(b'/' | b'\\')),
                "{path} redirected to {location}"
            );
            assert!(!location.contains('\\'), "{path} redirected to {location}");
        }
    }
}

/// Finding 2: a cookie whose `Max-Age` keeps it, whatever its `Expires`, is no deletion.
#[tokio::test]
async fn a_cookie_that_only_looks_deleted_is_gated() {
    let site = site();
    let client = browser(&site);
    let sneaky = "_sa=1; Path=/; Max-Age=31536000; Expires=Thu, 01 Jan 1970 00:00:00 GMT";
    let reply = client.get(&format!("/set/{}", encode(sneaky))).await;
    assert!(
        reply.set_cookies().iter().all(|c| !c.starts_with("_sa=")),
        "an unconsented year-long cookie passed: {:?}",
        reply.set_cookies()
    );
    let deletion = "_sa=still-here; Path=/; Max-Age=0";
    let reply = client.get(&format!("/set/{}", encode(deletion))).await;
    assert_eq!(
        reply.set_cookie("_sa"),
        Some("_sa=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        "a deletion passes in canonical form"
    );
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Finding 3: a flood of fresh sessions does not log out a visitor in active use.
#[tokio::test]
async fn a_flood_of_fresh_sessions_keeps_a_visitor_in_use() {
    let site = site_with(false, MemoryStore::new().with_capacity(160));
    let visitor = browser(&site);
    visitor.get("/login/demo").await;
    assert_eq!(visitor.get("/user").await.text(), "demo");
    for _ in 0..5_000 {
        let anonymous = browser(&site);
        let reply = anonymous.post_form("/cart", "").await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(visitor.get("/user").await.text(), "demo", "still logged in");
}

/// Finding 4: a stored referral counts only while its category is granted.
#[tokio::test]
async fn a_withdrawn_referral_counts_for_nothing() {
    let site = site();
    let client = browser(&site);
    accept_all(&client).await;
    client.get("/?ref=acme").await;
    let stored = client.cookie("__Host-ref").expect("referral stored");
    assert_eq!(client.get("/referral").await.text(), "acme");

    client.delete("/consent").await;
    assert!(
        client.cookie("__Host-ref").is_none(),
        "deleted on withdrawal"
    );
    client.set_cookie("__Host-ref", stored.clone());
    assert_eq!(
        client.get("/referral").await.text(),
        "none",
        "a replayed cookie after withdrawal"
    );

    // Global Privacy Control denies marketing: the cookie attributes nothing either.
    let gpc = browser(&site);
    accept_all(&gpc).await;
    gpc.set_cookie("__Host-ref", stored);
    let reply = gpc
        .send(
            gpc.request(&Method::GET, "/referral")
                .header("sec-gpc", "1")
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(reply.text(), "none", "under Global Privacy Control");

    // This request's own link still tags it, granted or not.
    let fresh = browser(&site);
    assert_eq!(fresh.get("/referral?ref=acme").await.text(), "acme");
}

/// Finding 5: one cookie that is not ASCII is skipped alone.
#[tokio::test]
async fn one_foreign_cookie_does_not_reset_the_visitor() {
    let site = site();
    let client = browser(&site);
    accept_all(&client).await;
    client.get("/login/demo").await;
    let jar: Vec<u8> = client
        .cookies()
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
        .into_bytes();
    let foreigns: [&[u8]; 3] = ["; pref=café".as_bytes(), b"; x=\xff\xfe", b"; \x80=1"];
    for foreign in foreigns {
        let header = HeaderValue::from_bytes(&[&jar[..], foreign].concat()).unwrap();
        let user = client
            .send(
                client
                    .request(&Method::GET, "/user")
                    .header(header::COOKIE, header.clone())
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
        assert_eq!(user.text(), "demo", "still logged in beside {foreign:?}");
        let state = client
            .send(
                client
                    .request(&Method::GET, "/consent")
                    .header(header::COOKIE, header)
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
        assert_eq!(state.json()["decided"], true, "still decided");
    }
}

/// Finding 6: a header of thousands of forged values is looked at only so far.
#[tokio::test]
async fn forged_cookie_floods_are_bounded() {
    let site = site();
    let client = browser(&site);
    client.get("/login/demo").await;
    let valid = format!("__Host-sid={}", client.cookie("__Host-sid").unwrap());
    let forged: Vec<String> = (0..4_000)
        .map(|n| format!("__Host-sid=AQ{n:0>60}"))
        .collect();
    let user = |header: String| {
        let request = client
            .request(&Method::GET, "/user")
            .header(header::COOKIE, header)
            .body(Full::default())
            .unwrap();
        async { client.send(request).await.text() }
    };
    // The browser's own cookie comes first; the forged tail is never checked.
    assert_eq!(
        user(format!("{valid}; {}", forged.join("; "))).await,
        "demo"
    );
    // Behind more forged values than a browser ever sends, it is not looked for.
    assert_eq!(user(format!("{}; {valid}", forged.join("; "))).await, "-");
}

/// Finding 7: the same decision again is not recorded again.
#[tokio::test]
async fn an_identical_repeated_decision_is_recorded_once() {
    let site = site();
    let client = browser(&site);
    accept_all(&client).await;
    for _ in 0..5 {
        let again = accept_all(&client).await;
        assert_eq!(again.json()["decided"], true);
    }
    assert_eq!(site.ledger.records().len(), 1);
    let form = client
        .post_form("/consent", "action=accept_all&return_to=/")
        .await;
    assert_eq!(form.status, StatusCode::SEE_OTHER);
    assert_eq!(site.ledger.records().len(), 1);
    client.delete("/consent").await;
    assert_eq!(site.ledger.records().len(), 2, "a change is recorded");
}

/// Finding 8: the same host and port over another scheme is another origin.
#[tokio::test]
async fn the_origin_scheme_counts() {
    let site = site();
    let client = browser(&site);
    let post = |origin: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/consent")
            .header(header::HOST, "example.test")
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::from(r#"{"action":"accept_all"}"#))
            .unwrap()
    };
    let http = client.send(post("http://example.test")).await;
    assert_eq!(http.status, StatusCode::FORBIDDEN);
    let https = client.send(post("https://example.test")).await;
    assert_eq!(https.status, StatusCode::OK);
}

/// Finding 9: an unsigned choice cookie cannot override a decision made after it.
#[tokio::test]
async fn a_planted_choice_cookie_cannot_override_a_later_decision() {
    let site = site();
    let client = browser(&site);
    let granted = |reply: TestResponse| reply.json()["granted"].as_array().unwrap().len();
    // Planted before the visitor decides (say by a sibling subdomain, for the parent
    // domain, so the server's deletion does not reach it): it keeps coming back.
    let planted = format!("2.1.{}.", T0 - 60);
    client.set_cookie("consentry_choice", planted.clone());
    accept_all(&client).await;
    client.set_cookie("consentry_choice", planted);
    assert_eq!(
        granted(client.get("/consent").await),
        4,
        "older than the decision"
    );

    // A denial made later (a static page of the same site) wins over the grant...
    site.clock.advance(Duration::from_secs(60));
    client.set_cookie("consentry_choice", format!("2.1.{}.", T0 + 30));
    assert_eq!(
        granted(client.get("/consent").await),
        1,
        "newer denial wins"
    );
    // ...until the visitor decides again.
    site.clock.advance(Duration::from_secs(60));
    client
        .post_json("/consent", r#"{"granted":["analytics"]}"#)
        .await;
    client.set_cookie("consentry_choice", format!("2.1.{}.", T0 + 30));
    assert_eq!(
        granted(client.get("/consent").await),
        2,
        "the later decision"
    );
    // A time from the future or no time at all cannot beat a signed decision.
    for value in [format!("2.1.{}.", T0 + 100_000), "1.1.".to_owned()] {
        client.set_cookie("consentry_choice", value);
        assert_eq!(granted(client.get("/consent").await), 2);
    }
}

/// Finding 10: smaller ones.
#[tokio::test]
async fn the_settings_page_cannot_be_framed() {
    for csp in [false, true] {
        let site = site_with(csp, MemoryStore::new());
        let client = browser(&site);
        let reply = client
            .send(
                client
                    .request(&Method::GET, "/consent")
                    .header(header::ACCEPT, "text/html")
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
        assert_eq!(reply.header("x-frame-options"), Some("SAMEORIGIN"));
        let policy = reply.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("frame-ancestors 'self'"),
            "csp {csp}: {policy}"
        );
    }
}

#[tokio::test]
async fn pages_with_a_nonce_are_private() {
    let site = site_with(true, MemoryStore::new());
    let client = browser(&site);
    let page = client.get("/").await;
    assert!(page.header("content-security-policy").is_some());
    assert_eq!(page.header("cache-control"), Some("private"));
}

#[tokio::test]
async fn the_ledger_source_is_what_the_request_shows() {
    let site = site();
    let client = browser(&site);
    let sources = [
        // A page script's fetch: the browser adds Sec-Fetch-Dest, a script cannot.
        (
            Some("empty"),
            r#"{"granted":[],"source":"form"}"#,
            Source::Banner,
        ),
        (
            None,
            r#"{"granted":["analytics"],"source":"banner"}"#,
            Source::Api,
        ),
    ];
    for (dest, body, expected) in sources {
        let mut request = client
            .request(&Method::POST, "/consent")
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(dest) = dest {
            request = request.header("sec-fetch-dest", dest);
        }
        client
            .send(request.body(Full::from(body.to_owned())).unwrap())
            .await;
        assert_eq!(site.ledger.records().last().unwrap().source, expected);
    }
    client.post_form("/consent", "action=reject_all").await;
    assert_eq!(site.ledger.records().last().unwrap().source, Source::Form);
    assert_eq!(site.ledger.records().len(), 3);
}

#[test]
fn a_base_path_naming_another_host_is_refused() {
    for base in ["//evil.example", "/\\evil.example", "/a\\b"] {
        let built = Consentry::builder(Keyring::new(1, Key::from_bytes(&[9; 32]).unwrap()))
            .consent(
                ConsentConfig::new(Policy::new(1))
                    .ledger(MemoryLedger::new())
                    .base_path(base),
            )
            .build();
        assert!(built.is_err(), "{base} accepted");
    }
}
