//! The shop's consent report and exports, in process: who may see them, what they show,
//! and what bad input gets.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use consentry::ledger::{LedgerRecord, MemoryLedger};
use consentry::{Key, ManualClock};
use consentry_tests::oneshot::{Reply, send};
use shop::ShopConfig;

/// 2027-01-15 08:00 UTC.
const START: u64 = 1_800_000_000;

struct Fixture {
    app: Router,
    ledger: MemoryLedger,
    clock: ManualClock,
}

fn fixture() -> Fixture {
    let ledger = MemoryLedger::new();
    let clock = ManualClock::new(START);
    let mut config = ShopConfig::new(Key::from_bytes(&[5; 32]).unwrap());
    config.ledger = Arc::new(ledger.clone());
    config.clock = Arc::new(clock.clone());
    Fixture {
        app: shop::app(config).unwrap(),
        ledger,
        clock,
    }
}

fn request(
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<(&str, &str)>,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    match body {
        Some((content_type, body)) => request
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    }
}

async fn sign_in(app: &Router, email: &str, password: &str) -> String {
    let form = format!("email={}&password={password}", email.replace('@', "%40"));
    let reply = send(
        app,
        request(
            "POST",
            "/login",
            None,
            Some(("application/x-www-form-urlencoded", &form)),
        ),
    )
    .await;
    format!(
        "__Host-sid={}",
        reply.new_cookie("__Host-sid").expect("signed in")
    )
}

async fn decide(app: &Router, action: &str, gpc: bool) -> String {
    let mut request = request(
        "POST",
        "/consent",
        None,
        Some(("application/json", &format!(r#"{{"action":"{action}"}}"#))),
    );
    if gpc {
        request
            .headers_mut()
            .insert("sec-gpc", "1".parse().unwrap());
    }
    let reply = send(app, request).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str::<serde_json::Value>(&reply.body).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn get(app: &Router, path: &str, cookie: Option<&str>) -> Reply {
    send(app, request("GET", path, cookie, None)).await
}

/// Two days of decisions: day one 2 accept-all and 1 reject-all (with GPC), day two one
/// reject-all.
async fn two_days(fixture: &Fixture) -> String {
    let first = decide(&fixture.app, "accept_all", false).await;
    decide(&fixture.app, "accept_all", false).await;
    decide(&fixture.app, "reject_all", true).await;
    fixture.clock.advance(Duration::from_secs(86_400));
    decide(&fixture.app, "reject_all", false).await;
    first
}

#[tokio::test]
async fn only_administrators_see_the_report_and_the_exports() {
    let fixture = fixture();
    let customer = sign_in(&fixture.app, "demo@example.com", "demo").await;
    for path in [
        "/admin/consent",
        "/admin/consent/export?from=2027-01-01&to=2027-01-31&format=csv",
    ] {
        let visitor = get(&fixture.app, path, None).await;
        assert_eq!(visitor.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(visitor.location(), Some("/login"));
        assert_eq!(
            get(&fixture.app, path, Some(&customer)).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_report_charts_each_day_with_its_numbers_and_the_shares() {
    let fixture = fixture();
    two_days(&fixture).await;
    let admin = sign_in(&fixture.app, "admin@example.com", "admin").await;
    let report = get(
        &fixture.app,
        "/admin/consent?from=2027-01-15&to=2027-01-16",
        Some(&admin),
    )
    .await;
    assert_eq!(report.status, StatusCode::OK);
    let body = &report.body;
    assert_eq!(body.matches("<svg").count(), 2, "two charts");
    assert!(
        body.contains("Decisions per day") && body.contains("Opt-in rate per category per day")
    );
    assert!(body.contains(r#"<dd id="decisions">4</dd>"#), "{body}");
    assert!(body.contains(r#"<dd id="gpc-share">25.0%</dd>"#));
    assert!(body.contains(r#"<dd id="reject-all-share">50.0%</dd>"#));
    assert!(body.contains(r#"<dd id="accept-all-share">50.0%</dd>"#));
    // The table behind the charts: day one's analytics opt-in is 2 of 3.
    let day_one = body
        .split("<tr><th scope=\"row\">2027-01-15</th>")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("a row for the first day");
    assert!(
        day_one.starts_with("<td>3</td><td>2</td><td>1</td><td>1</td>"),
        "{day_one}"
    );
    assert!(day_one.contains("66.7%"), "{day_one}");
    assert!(body.contains("<th scope=\"row\">2027-01-16</th><td>1</td>"));
    // Defaults: the last 30 days up to today.
    let default = get(&fixture.app, "/admin/consent", Some(&admin)).await;
    assert!(
        default.body.contains("From 2026-12-18 to 2027-01-16"),
        "{}",
        default.body
    );
}

#[tokio::test]
async fn the_lookup_shows_every_record_of_one_consent_id_oldest_first() {
    let fixture = fixture();
    let id = two_days(&fixture).await;
    let admin = sign_in(&fixture.app, "admin@example.com", "admin").await;
    let proof = get(
        &fixture.app,
        &format!("/admin/consent?id={id}"),
        Some(&admin),
    )
    .await;
    assert_eq!(proof.status, StatusCode::OK);
    let table = proof
        .body
        .split(r#"<table id="proof">"#)
        .nth(1)
        .expect("a proof table");
    let table = table.split("</table>").next().unwrap();
    assert_eq!(
        table.matches("<tr><td>").count(),
        1,
        "one decision for this id"
    );
    assert!(
        table.contains("2027-01-15 08:00:00 UTC")
            && table.contains("necessary, preferences, analytics, marketing")
    );

    let unknown = get(
        &fixture.app,
        &format!("/admin/consent?id={}", "0".repeat(32)),
        Some(&admin),
    )
    .await;
    assert!(unknown.body.contains("No records for"));
    let bad = get(&fixture.app, "/admin/consent?id=%3Cscript%3E", Some(&admin)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(!bad.body.contains("<script>"));
    for range in [
        "from=2027-13-01",
        "from=2027-01-20&to=2027-01-10",
        "to=yesterday",
    ] {
        let reply = get(
            &fixture.app,
            &format!("/admin/consent?{range}"),
            Some(&admin),
        )
        .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{range}");
    }
}

#[tokio::test]
async fn exports_download_the_range_as_csv_or_json_lines() {
    let fixture = fixture();
    two_days(&fixture).await;
    let admin = sign_in(&fixture.app, "admin@example.com", "admin").await;
    let csv = get(
        &fixture.app,
        "/admin/consent/export?from=2027-01-15&to=2027-01-15&format=csv",
        Some(&admin),
    )
    .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        csv.headers[header::CONTENT_DISPOSITION],
        r#"attachment; filename="consent-records-2027-01-15-to-2027-01-15.csv""#
    );
    assert_eq!(
        csv.body.lines().count(),
        1 + 3,
        "the header and day one's three decisions"
    );
    let jsonl = get(
        &fixture.app,
        "/admin/consent/export?from=2027-01-01&to=2027-01-31&format=jsonl",
        Some(&admin),
    )
    .await;
    let records: Vec<LedgerRecord> = jsonl
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        records,
        fixture.ledger.records(),
        "every record, as the ledger holds it"
    );

    for query in [
        "from=2027-01-15&format=csv",
        "from=2027-01-15&to=2027-01-15",
        "from=2027-01-15&to=2027-01-15&format=xlsx",
        "from=15.01.2027&to=2027-01-16&format=csv",
        "from=2027-01-16&to=2027-01-15&format=csv",
        "from=2000-01-01&to=2027-01-15&format=csv",
    ] {
        let reply = get(
            &fixture.app,
            &format!("/admin/consent/export?{query}"),
            Some(&admin),
        )
        .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{query}: {}",
            reply.body
        );
    }
}

#[tokio::test]
async fn a_visitor_reads_their_own_records_and_sees_their_consent_id_on_privacy() {
    let fixture = fixture();
    let reply = send(
        &fixture.app,
        request(
            "POST",
            "/consent",
            None,
            Some(("application/json", r#"{"action":"reject_all"}"#)),
        ),
    )
    .await;
    let consent = format!(
        "__Host-consent={}",
        reply.new_cookie("__Host-consent").unwrap()
    );
    let own = get(&fixture.app, "/consent/records", Some(&consent)).await;
    assert_eq!(own.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&own.body).unwrap();
    let id = json["id"].as_str().unwrap();
    assert_eq!(json["records"].as_array().unwrap().len(), 1);
    assert_eq!(
        get(&fixture.app, "/consent/records", None).await.status,
        StatusCode::NOT_FOUND
    );
    let privacy = get(&fixture.app, "/privacy", Some(&consent)).await;
    assert!(
        privacy
            .body
            .contains(&format!("Your consent id is <code>{id}</code>"))
    );
}
