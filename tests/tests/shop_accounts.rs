//! Registration and consent to offers by email in the example shop, in process: the HTTP
//! contract, and the proof each decision leaves in the ledger.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use consentry::Key;
use consentry::ledger::{
    ConsentLedger, LedgerError, LedgerFuture, LedgerRecord, MemoryLedger, RecordsFuture,
};
use consentry_tests::oneshot::{Reply, send};
use shop::{OFFERS, ShopConfig};

const SITE: &str = "http://127.0.0.1:3000";

fn shop_with(ledger: Arc<dyn ConsentLedger>) -> Router {
    let mut config = ShopConfig::new(Key::from_bytes(&[4; 32]).unwrap());
    config.ledger = ledger;
    shop::app(config).unwrap()
}

fn request(method: &str, path: &str, sid: Option<&str>, form: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000");
    if let Some(sid) = sid {
        request = request.header(header::COOKIE, format!("__Host-sid={sid}"));
    }
    match form {
        Some(form) => request
            .header(header::ORIGIN, SITE)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    }
}

async fn get(app: &Router, path: &str, sid: Option<&str>) -> Reply {
    send(app, request("GET", path, sid, None)).await
}

async fn post(app: &Router, path: &str, sid: Option<&str>, form: &str) -> Reply {
    send(app, request("POST", path, sid, Some(form))).await
}

/// Registers and returns the new session id.
async fn register(app: &Router, form: &str) -> String {
    let reply = post(app, "/register", None, form).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(reply.location(), Some("/account"));
    reply.new_cookie("__Host-sid").expect("signed in")
}

fn purpose_records(ledger: &MemoryLedger) -> Vec<LedgerRecord> {
    ledger
        .records()
        .into_iter()
        .filter(LedgerRecord::is_purpose)
        .collect()
}

#[tokio::test]
async fn the_registration_form_has_the_offers_box_unticked() {
    let app = shop_with(Arc::new(MemoryLedger::new()));
    let page = get(&app, "/register", None).await;
    assert_eq!(page.status, StatusCode::OK);
    for field in [r#"name="email""#, r#"name="password""#, r#"name="offers""#] {
        assert!(page.body.contains(field), "{field}");
    }
    let offers = page
        .body
        .split("<input")
        .find(|input| input.contains(r#"name="offers""#))
        .unwrap();
    assert!(
        offers.contains(r#"type="checkbox""#) && !offers.contains("checked"),
        "{offers}"
    );
    assert!(page.body.contains("Send me offers by email"));
}

#[tokio::test]
async fn registering_signs_in_and_records_the_unticked_box_as_a_refusal() {
    let ledger = MemoryLedger::new();
    let app = shop_with(Arc::new(ledger.clone()));
    let sid = register(&app, "email=New%40Example.com&password=correct+horse").await;
    let account = get(&app, "/account", Some(&sid)).await;
    assert!(account.body.contains("new@example.com"));
    assert!(
        account.body.contains("Offers by email: no"),
        "{}",
        account.body
    );

    let records = purpose_records(&ledger);
    assert_eq!(records.len(), 1, "the choice at registration is proven");
    let record = &records[0];
    assert_eq!(record.purpose.as_deref(), Some(OFFERS));
    assert_eq!(record.denied, [OFFERS]);
    let subject = record.subject.as_deref().unwrap();
    assert!(subject.starts_with("account-"), "{subject}");
    let line = serde_json::to_string(record).unwrap();
    assert!(
        !line.to_ascii_lowercase().contains("example.com"),
        "no email in the proof: {line}"
    );

    // The new account logs in with its password.
    let login = post(
        &app,
        "/login",
        None,
        "email=new%40example.com&password=correct+horse",
    )
    .await;
    assert_eq!(login.location(), Some("/account"));
}

#[tokio::test]
async fn a_ticked_box_is_a_grant_and_the_account_page_withdraws_it() {
    let ledger = MemoryLedger::new();
    let app = shop_with(Arc::new(ledger.clone()));
    let sid = register(&app, "email=yes%40example.com&password=12345678&offers=yes").await;
    let account = get(&app, "/account", Some(&sid)).await;
    assert!(
        account.body.contains("Offers by email: yes"),
        "{}",
        account.body
    );
    assert!(account.body.contains(r#"action="/account/offers""#));

    let stop = post(&app, "/account/offers", Some(&sid), "offers=no").await;
    assert_eq!(stop.status, StatusCode::SEE_OTHER);
    assert_eq!(stop.location(), Some("/account"));
    let account = get(&app, "/account", Some(&sid)).await;
    assert!(account.body.contains("Offers by email: no"));
    assert!(
        account.body.contains("offers-history"),
        "the records are shown"
    );

    let again = post(&app, "/account/offers", Some(&sid), "offers=yes").await;
    assert_eq!(again.status, StatusCode::SEE_OTHER);
    let records = purpose_records(&ledger);
    let choices: Vec<bool> = records.iter().map(|r| r.granted == [OFFERS]).collect();
    assert_eq!(
        choices,
        [true, false, true],
        "every decision and change in the ledger"
    );
    assert!(records.iter().all(|r| r.subject == records[0].subject));

    // Saying the same again adds nothing.
    post(&app, "/account/offers", Some(&sid), "offers=yes").await;
    assert_eq!(purpose_records(&ledger).len(), 3);
}

#[tokio::test]
async fn bad_registrations_name_the_problem_and_keep_nothing() {
    let ledger = MemoryLedger::new();
    let app = shop_with(Arc::new(ledger.clone()));
    for (form, status, says) in [
        (
            "email=not-an-address&password=12345678",
            StatusCode::BAD_REQUEST,
            "not an email address",
        ),
        (
            "email=&password=12345678",
            StatusCode::BAD_REQUEST,
            "not an email address",
        ),
        (
            "email=short%40example.com&password=1234567",
            StatusCode::BAD_REQUEST,
            "at least 8 characters",
        ),
        (
            "password=12345678",
            StatusCode::BAD_REQUEST,
            "not an email address",
        ),
        (
            "email=demo%40example.com&password=12345678",
            StatusCode::CONFLICT,
            "exists",
        ),
        (
            "email=DEMO%40example.com+&password=12345678",
            StatusCode::CONFLICT,
            "exists",
        ),
    ] {
        let reply = post(&app, "/register", None, form).await;
        assert_eq!(reply.status, status, "{form}");
        assert!(reply.body.contains(says), "{form}: {}", reply.body);
        assert!(
            reply.body.contains(r#"action="/register""#),
            "{form}: the form again"
        );
        assert!(
            reply.new_cookie("__Host-sid").is_none(),
            "{form}: not signed in"
        );
    }
    // What was typed comes back escaped.
    let reply = post(&app, "/register", None, "email=%3Cscript%3E&password=x").await;
    assert!(!reply.body.contains("<script>") && reply.body.contains("&lt;script&gt;"));
    // A password far beyond any real one is refused before it is hashed.
    let long = format!("email=long%40example.com&password={}", "a".repeat(5_000));
    assert_eq!(
        post(&app, "/register", None, &long).await.status,
        StatusCode::BAD_REQUEST
    );
    assert!(purpose_records(&ledger).is_empty());
}

#[tokio::test]
async fn offers_need_a_signed_in_account_and_a_yes_or_no() {
    let ledger = MemoryLedger::new();
    let app = shop_with(Arc::new(ledger.clone()));
    let anonymous = post(&app, "/account/offers", None, "offers=yes").await;
    assert_eq!(anonymous.location(), Some("/login"));
    let sid = register(&app, "email=a%40example.com&password=12345678").await;
    let maybe = post(&app, "/account/offers", Some(&sid), "offers=maybe").await;
    assert_eq!(maybe.status, StatusCode::BAD_REQUEST);
    assert_eq!(purpose_records(&ledger).len(), 1, "only the registration's");
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = shop_with(Arc::new(MemoryLedger::new()));
    let request = Request::post("/register")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::ORIGIN, "https://evil.example")
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "email=x%40example.com&password=12345678&offers=yes",
        ))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::FORBIDDEN);
}

/// A ledger that can be taken down.
#[derive(Clone, Default)]
struct Flaky {
    down: Arc<AtomicBool>,
    inner: MemoryLedger,
}

impl ConsentLedger for Flaky {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        if self.down.load(Ordering::SeqCst) {
            Box::pin(async { Err(LedgerError::Closed) })
        } else {
            self.inner.append(record)
        }
    }

    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        if self.down.load(Ordering::SeqCst) {
            Box::pin(async { Err(LedgerError::Closed) })
        } else {
            self.inner.subject_history(subject)
        }
    }
}

#[tokio::test]
async fn a_ledger_outage_answers_503_and_loses_nothing() {
    let ledger = Flaky::default();
    let app = shop_with(Arc::new(ledger.clone()));
    let sid = register(&app, "email=b%40example.com&password=12345678&offers=yes").await;

    ledger.down.store(true, Ordering::SeqCst);
    let form = "email=c%40example.com&password=12345678";
    let refused = post(&app, "/register", None, form).await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    assert!(refused.new_cookie("__Host-sid").is_none());
    let stop = post(&app, "/account/offers", Some(&sid), "offers=no").await;
    assert_eq!(stop.status, StatusCode::SERVICE_UNAVAILABLE);
    let account = get(&app, "/account", Some(&sid)).await;
    assert_eq!(
        account.status,
        StatusCode::OK,
        "the page works without the ledger"
    );
    assert!(account.body.contains("cannot be shown just now"));

    ledger.down.store(false, Ordering::SeqCst);
    register(&app, form).await; // not "taken": the failed registration kept nothing
    let account = get(&app, "/account", Some(&sid)).await;
    assert!(
        account.body.contains("Offers by email: yes"),
        "the failed withdrawal changed nothing"
    );
    assert_eq!(
        post(&app, "/account/offers", Some(&sid), "offers=no")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn privacy_states_each_promise_beside_the_declaration() {
    let app = shop_with(Arc::new(MemoryLedger::new()));
    let page = get(&app, "/privacy", None).await.body;
    let promises = page.find("Our promises").expect("a promises section");
    let declaration = page.find("Cookies we use").unwrap();
    assert!(promises < declaration, "next to the declaration");
    for promise in [
        "Cookies hold no personal information",
        "before you agree",
        "preferences",
        "offers by email",
        "Withdrawing consent is as easy as giving it",
        "when this policy changes",
    ] {
        assert!(page[promises..declaration].contains(promise), "{promise}");
    }
    assert!(page[promises..declaration].contains(shop::UNITS_COOKIE));
}
