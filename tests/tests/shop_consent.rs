//! The shop's consent behaviour in process: banner, gate, CSP, privacy page, analytics.

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use consentry::Key;
use consentry_tests::oneshot::{Reply, send};
use http_body_util::BodyExt as _;
use shop::ShopConfig;
use tower::ServiceExt as _;

const ANALYTICS: &str = "http://127.0.0.1:3001";

fn shop() -> Router {
    shop::app(ShopConfig::new(Key::from_bytes(&[4; 32]).unwrap())).unwrap()
}

trait ReplyExt {
    /// The new consent cookie as `name=value`, to send back.
    fn consent_cookie(&self) -> String;
    fn csp(&self) -> &str;
}

impl ReplyExt for Reply {
    fn consent_cookie(&self) -> String {
        format!(
            "__Host-consent={}",
            self.new_cookie("__Host-consent")
                .expect("consent cookie set")
        )
    }

    fn csp(&self) -> &str {
        self.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
    }
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::HOST, "127.0.0.1:3000");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn choose(form: &str) -> Request<Body> {
    Request::post("/consent")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn first_visit_shows_the_banner_and_keeps_analytics_inert() {
    let app = shop();
    let page = send(&app, get("/", None)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.set_cookies().is_empty(),
        "no cookie at all on a first visit"
    );
    assert!(banner_visible(&page.body), "banner rendered");
    assert!(
        page.body
            .contains(r#"href="/consent" data-consent-open>Cookie settings</a>"#),
        "settings link in the footer"
    );
    assert!(
        page.body.contains(&format!(
            r#"<script type="text/plain" data-consent="analytics" data-src="{ANALYTICS}/a.js""#
        )),
        "analytics tag is inert"
    );
    assert!(!page.body.contains(&format!(r#"<script src="{ANALYTICS}"#)));
    assert!(
        !page.csp().contains(ANALYTICS),
        "CSP does not list the analytics origin: {}",
        page.csp()
    );
    assert!(
        page.body.contains("gtag('consent','default'"),
        "Consent Mode default-denied snippet"
    );
    let nonce = page
        .csp()
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap();
    assert!(
        page.body
            .contains(&format!("<script nonce=\"{nonce}\">window.dataLayer"))
    );
}

#[tokio::test]
async fn reject_then_accept_through_the_form_sticks() {
    let app = shop();
    let reject = send(&app, choose("action=reject_all&return_to=%2Fcart")).await;
    assert_eq!(reject.status, StatusCode::SEE_OTHER);
    assert_eq!(reject.headers[header::LOCATION], "/cart");
    let rejected = reject.consent_cookie();
    let page = send(&app, get("/cart", Some(&rejected))).await;
    assert!(!banner_visible(&page.body), "no banner once decided");
    assert!(
        page.body.contains(r#"data-consent="analytics""#),
        "analytics still inert"
    );
    assert!(!page.csp().contains(ANALYTICS));

    let accept = send(&app, choose("action=accept_all&return_to=%2F")).await;
    let accepted = accept.consent_cookie();
    let page = send(&app, get("/", Some(&accepted))).await;
    let nonce = page
        .csp()
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        page.body.contains(&format!(
            r#"<script src="{ANALYTICS}/a.js" nonce="{nonce}"></script>"#
        )),
        "analytics tag live once granted"
    );
    assert!(
        page.csp().contains(&format!(
            "script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval' {ANALYTICS}"
        )),
        "{}",
        page.csp()
    );
    assert!(
        page.body
            .contains("gtag('consent','update',{ad_storage:'granted'")
    );
}

#[tokio::test]
async fn withdrawal_deletes_the_analytics_cookie() {
    let app = shop();
    let accepted = send(&app, choose("action=accept_all"))
        .await
        .consent_cookie();
    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/consent")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::COOKIE, format!("{accepted}; _sa=abc123"))
        .body(Body::empty())
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply
            .set_cookies()
            .iter()
            .any(|c| c.starts_with("_sa=;") && c.contains("Max-Age=0")),
        "{:?}",
        reply.set_cookies()
    );
}

#[tokio::test]
async fn privacy_page_carries_the_generated_declaration() {
    let app = shop();
    let page = send(&app, get("/privacy", None)).await;
    assert_eq!(page.status, StatusCode::OK);
    for cookie in ["__Host-sid", "__Host-consent", "_sa"] {
        assert!(
            page.body.contains(&format!("<code>{cookie}</code>")),
            "{cookie} not declared"
        );
    }
    assert!(page.body.contains("Inkwell Analytics"));
    let declaration = send(&app, get("/consent/declaration", None)).await;
    assert!(declaration.body.contains(r#""name":"_sa""#));
}

#[tokio::test]
async fn the_analytics_server_counts_what_reaches_it() {
    let (app, counter) = shop::analytics::app();
    let script = app
        .clone()
        .oneshot(Request::get("/a.js").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(script.status(), StatusCode::OK);
    assert!(
        script.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let body = String::from_utf8(
        script
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(body.contains("_sa=") && body.contains("/collect"));

    let hit = |body: &'static str| Request::post("/collect").body(Body::from(body)).unwrap();
    let ok = app
        .clone()
        .oneshot(hit(r#"{"visitor":"v1","path":"/cart"}"#))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    let bad = app.clone().oneshot(hit("not json")).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let stats = counter.stats();
    assert_eq!((stats.script_loads, stats.hits), (1, 1));
    assert_eq!(stats.by_path["/cart"], 1);

    let json = app
        .oneshot(Request::get("/stats").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&json.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(json["hits"], 1);
}

/// Whether the page shows the banner (rendered and not `hidden`).
fn banner_visible(body: &str) -> bool {
    body.split("<section id=\"consentry\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .is_some_and(|tag| !tag.contains(" hidden"))
}
