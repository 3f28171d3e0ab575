//! The example shop through its HTTP contract, in process.

use std::fmt::Write as _;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use consentry::Key;
use consentry_tests::oneshot::{Reply, send};
use shop::ShopConfig;
use shop::accounts::DEMO;

fn shop() -> Router {
    shop::app(ShopConfig::new(Key::from_bytes(&[3; 32]).unwrap())).unwrap()
}

fn get(path: &str, sid: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::HOST, "127.0.0.1:3000");
    if let Some(sid) = sid {
        request = request.header(header::COOKIE, format!("__Host-sid={sid}"));
    }
    request.body(Body::empty()).unwrap()
}

fn post(path: &str, sid: Option<&str>, form: &str) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(sid) = sid {
        request = request.header(header::COOKIE, format!("__Host-sid={sid}"));
    }
    request.body(Body::from(form.to_owned())).unwrap()
}

async fn login_with(app: &Router, sid: Option<&str>, form: &str) -> Reply {
    send(app, post("/login", sid, form)).await
}

async fn login(app: &Router, sid: Option<&str>) -> Reply {
    login_with(app, sid, "email=demo%40example.com&password=demo").await
}

/// Every way the email or the user id could be smuggled into the cookie value.
fn encodings_of_personal_data() -> Vec<Vec<u8>> {
    let email = DEMO.email;
    let id = DEMO.id;
    let mut needles: Vec<Vec<u8>> = vec![
        email.as_bytes().to_vec(),
        email.to_uppercase().into_bytes(),
        email.replace('@', "%40").into_bytes(),
        "demo".as_bytes().to_vec(),
        email
            .bytes()
            .fold(String::new(), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
            .into_bytes(),
        id.to_string().into_bytes(),
        format!("{id:x}").into_bytes(),
        format!("{id:X}").into_bytes(),
        id.to_be_bytes().to_vec(),
        id.to_le_bytes().to_vec(),
        u32::try_from(id >> 1)
            .unwrap_or(u32::MAX)
            .to_be_bytes()
            .to_vec(),
    ];
    // Base64 of the email at each of the three byte alignments, both alphabets; the
    // middle of each encoding is stable whatever precedes it.
    for shift in 0..3 {
        let mut shifted = vec![0u8; shift];
        shifted.extend_from_slice(email.as_bytes());
        for encoded in [STANDARD.encode(&shifted), URL_SAFE_NO_PAD.encode(&shifted)] {
            needles.push(encoded.as_bytes()[4..encoded.len() - 4].to_vec());
        }
    }
    needles
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

#[tokio::test]
async fn demo_login_cookie_holds_no_personal_data_and_has_strict_attributes() {
    let app = shop();
    let reply = login(&app, None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    assert_eq!(reply.location(), Some("/account"));
    assert_eq!(reply.set_cookies().len(), 1, "{:?}", reply.set_cookies());
    let cookie = reply.set_cookies()[0];
    let sid = reply
        .new_cookie("__Host-sid")
        .expect("login sets the session cookie");

    let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
    for expected in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax"] {
        assert!(attributes.contains(&expected), "{cookie} lacks {expected}");
    }
    assert!(cookie.starts_with("__Host-sid="));
    assert!(
        !cookie.to_ascii_lowercase().contains("domain="),
        "__Host- cookies carry no Domain"
    );

    let decoded = URL_SAFE_NO_PAD
        .decode(&sid)
        .expect("the value is base64url");
    assert_eq!(
        decoded.len(),
        1 + 1 + 8 + 16 + 8 + 8 + 16,
        "version, key id, expiry, id, two times, tag"
    );
    for needle in encodings_of_personal_data() {
        assert!(
            !contains(sid.as_bytes(), &needle),
            "cookie text contains {needle:?}"
        );
        assert!(
            !contains(&decoded, &needle),
            "cookie bytes contain {needle:?}"
        );
    }

    let account = send(&app, get("/account", Some(&sid))).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(
        account.body.contains(DEMO.email),
        "the email lives server-side"
    );
}

#[tokio::test]
async fn wrong_password_is_401_and_sets_nothing() {
    let app = shop();
    let reply = login_with(&app, None, "email=demo%40example.com&password=wrong").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.set_cookies().is_empty());
    assert!(reply.body.contains("wrong"));
}

#[tokio::test]
async fn account_requires_login_and_logout_kills_the_cookie() {
    let app = shop();
    let anonymous = send(&app, get("/account", None)).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location(), Some("/login"));

    let sid = login(&app, None).await.new_cookie("__Host-sid").unwrap();
    let out = send(&app, post("/logout", Some(&sid), "")).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/"));
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("__Host-sid=;") && c.contains("Max-Age=0"))
    );

    let replay = send(&app, get("/account", Some(&sid))).await;
    assert_eq!(
        replay.status,
        StatusCode::SEE_OTHER,
        "a replayed cookie after logout is dead"
    );
}

#[tokio::test]
async fn cart_is_lazy_and_login_cycles_the_id_keeping_the_cart() {
    let app = shop();
    let home = send(&app, get("/", None)).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.set_cookies().is_empty(), "browsing sets no cookie");
    assert!(home.body.contains("BC-500"));

    let added = send(&app, post("/cart", None, "sku=BC-500&qty=2")).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    assert_eq!(added.location(), Some("/cart"));
    let anonymous_sid = added
        .new_cookie("__Host-sid")
        .expect("adding to the cart begins a session");
    let cart = send(&app, get("/cart", Some(&anonymous_sid))).await;
    assert!(
        cart.body.contains("Business cards") && cart.body.contains("€78.00"),
        "{}",
        cart.body
    );

    let logged_in = login(&app, Some(&anonymous_sid))
        .await
        .new_cookie("__Host-sid")
        .unwrap();
    assert_ne!(logged_in, anonymous_sid, "login issues a new id");
    let cart = send(&app, get("/cart", Some(&logged_in))).await;
    assert!(cart.body.contains("€78.00"), "the cart survives login");
    let old = send(&app, get("/account", Some(&anonymous_sid))).await;
    assert_eq!(
        old.status,
        StatusCode::SEE_OTHER,
        "the pre-login id grants nothing"
    );
}

#[tokio::test]
async fn bad_cart_input_is_400_and_malformed_forms_are_rejected() {
    let app = shop();
    for form in [
        "sku=NOPE&qty=1",
        "sku=BC-500&qty=0",
        "sku=BC-500&qty=100000",
    ] {
        let reply = send(&app, post("/cart", None, form)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{form}");
        assert!(
            reply.set_cookies().is_empty(),
            "{form}: no session for a rejected add"
        );
    }
    for form in ["sku=BC-500&qty=many", "qty=1", "\u{0}\u{1}"] {
        let reply = send(&app, post("/cart", None, form)).await;
        assert!(reply.status.is_client_error(), "{form}: {}", reply.status);
    }
}

#[tokio::test]
async fn cross_site_posts_are_403() {
    let app = shop();
    let request = Request::post("/login")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("email=demo%40example.com&password=demo"))
        .unwrap();
    let reply = send(&app, request).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.body.contains("Cross-site request refused."),
        "{}",
        reply.body
    );
    assert!(reply.set_cookies().is_empty());
    let request = Request::post("/cart")
        .header(header::HOST, "127.0.0.1:3000")
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("sku=BC-500&qty=1"))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unknown_paths_are_404_pages() {
    let app = shop();
    let reply = send(&app, get("/nope/a&b", None)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.body.contains("/nope/a&amp;b"), "paths are escaped");
}

#[tokio::test]
async fn privacy_lists_the_revision_history_with_dates() {
    let mut config = ShopConfig::new(Key::from_bytes(&[9; 32]).unwrap());
    config.policy_revision = 3;
    let app = shop::app(config).unwrap();
    let page = send(&app, get("/privacy", None)).await.body;
    let third = page.find("<strong>Revision 3</strong>, <time datetime=\"2026-11-30\">");
    let second = page.find("<strong>Revision 2</strong>, <time datetime=\"2026-06-01\">");
    let first = page.find("<strong>Revision 1</strong>, <time datetime=\"2026-01-15\">");
    assert!(
        third < second && second < first && first.is_some(),
        "newest first, with dates: {page}"
    );
    // Revision 1 of the shop knows nothing of later ones.
    let app = shop();
    let page = send(&app, get("/privacy", None)).await.body;
    assert!(page.contains("Revision 1") && !page.contains("Revision 2"));
}

/// The value set for cookie `name` in a reply, if any (not a deletion).
fn set_value(reply: &Reply, name: &str) -> Option<String> {
    reply.set_cookies().iter().find_map(|c| {
        let value = c.strip_prefix(&format!("{name}="))?.split(';').next()?;
        (!c.contains("Max-Age=0")).then(|| value.to_owned())
    })
}

fn post_form(path: &str, cookies: &[String], form: &str) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "http://127.0.0.1:3000")
        .header(header::COOKIE, cookies.join("; "))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn get_with(path: &str, cookies: &[String]) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::COOKIE, cookies.join("; "))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_units_preference_is_a_cookie_only_with_consent() {
    let app = shop();
    // Without consent: remembered on the server for the session, no preferences cookie.
    let chosen = send(&app, post_form("/preferences", &[], "units=in&return_to=/")).await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    assert!(
        set_value(&chosen, shop::UNITS_COOKIE).is_none(),
        "no cookie before consent"
    );
    let sid = set_value(&chosen, "__Host-sid").expect("kept in the session");
    let session = vec![format!("__Host-sid={sid}")];
    let page = send(&app, get_with("/", &session)).await.body;
    assert!(page.contains("3.35 × 2.17 in"), "sizes in inches: {page}");
    assert!(
        send(&app, get_with("/", &[]))
            .await
            .body
            .contains("85 × 55 mm")
    );

    // With preferences granted: the cookie.
    let accepted = send(
        &app,
        post_form("/consent", &[], "action=accept_all&return_to=/"),
    )
    .await;
    let consent = format!(
        "__Host-consent={}",
        set_value(&accepted, "__Host-consent").unwrap()
    );
    let chosen = send(
        &app,
        post_form("/preferences", std::slice::from_ref(&consent), "units=in"),
    )
    .await;
    assert_eq!(
        set_value(&chosen, shop::UNITS_COOKIE).as_deref(),
        Some("in")
    );
    let cookies = vec![consent.clone(), format!("{}=in", shop::UNITS_COOKIE)];
    assert!(
        send(&app, get_with("/", &cookies))
            .await
            .body
            .contains("3.35 × 2.17 in")
    );

    // Withdrawn: the gate deletes it, and it counts for nothing.
    let withdrawn = send(
        &app,
        post_form("/consent", &cookies, "action=reject_all&return_to=/"),
    )
    .await;
    let consent = format!(
        "__Host-consent={}",
        set_value(&withdrawn, "__Host-consent").unwrap()
    );
    let cookies = vec![consent, format!("{}=in", shop::UNITS_COOKIE)];
    let page = send(&app, get_with("/", &cookies)).await;
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with(&format!("{}=;", shop::UNITS_COOKIE)) && c.contains("Max-Age=0")),
        "deleted after withdrawal: {:?}",
        page.set_cookies()
    );
    assert!(page.body.contains("85 × 55 mm"));

    let bad = send(&app, post_form("/preferences", &[], "units=furlongs")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// The router `scripts/bench-shop` measures the layer's cost against: the same routes with no
/// layer. The stylesheet is the same; a page that needs the layer fails cleanly, never
/// silently without consent checks.
#[tokio::test]
async fn without_the_layer_only_the_stylesheet_works() {
    let config = || ShopConfig::new(Key::from_bytes(&[3; 32]).unwrap());
    let bare = shop::app_without_consentry(config()).unwrap();
    let layered = shop::app(config()).unwrap();
    let plain = send(&bare, get("/static/shop.css", None)).await;
    let full = send(&layered, get("/static/shop.css", None)).await;
    assert_eq!(
        (plain.status, full.status),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(plain.body, full.body);
    assert!(plain.headers.get(header::CONTENT_SECURITY_POLICY).is_none());
    assert!(
        full.headers.get(header::CONTENT_SECURITY_POLICY).is_none(),
        "a stylesheet runs nothing a CSP governs"
    );
    let page = send(&layered, get("/", None)).await;
    assert!(page.headers.get(header::CONTENT_SECURITY_POLICY).is_some());
    for path in ["/", "/account", "/privacy"] {
        let page = send(&bare, get(path, None)).await;
        assert!(page.status.is_server_error(), "{path}: {}", page.status);
        assert!(page.set_cookies().is_empty());
    }
}
