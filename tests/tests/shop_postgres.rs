//! Two shop instances sharing one PostgreSQL database, as a site scaled out behind a load
//! balancer: sessions and decisions made on one are seen by the other, and the database
//! stopped and restarted under traffic costs `503`s, never a wrong answer.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use consentry::Key;
use consentry_postgres::Postgres;
use consentry_postgres::testing::PgServer;
use consentry_tests::oneshot::{Reply, send};
use shop::ShopConfig;

/// One instance: its own pool on the shared database, the site's one key.
async fn instance(server: &PgServer) -> Router {
    let db = Postgres::builder(&server.url())
        .timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let mut config = ShopConfig::new(Key::from_bytes(&[8; 32]).unwrap());
    config.store = Arc::new(db.store());
    config.ledger = Arc::new(db.ledger());
    config.accounts = shop::accounts::Accounts::in_postgres(&server.url())
        .await
        .unwrap();
    shop::app(config).unwrap()
}

fn request(method: &str, path: &str, cookies: &str, form: Option<&str>) -> Request<Body> {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::COOKIE, cookies);
    match form {
        Some(form) => request
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap(),
        None => request.body(Body::empty()).unwrap(),
    }
}

fn cookie(reply: &Reply, name: &str) -> String {
    format!("{name}={}", reply.new_cookie(name).expect(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_sessions_and_records() {
    let server = PgServer::start();
    let (one, two) = (instance(&server).await, instance(&server).await);

    let login = send(
        &one,
        request(
            "POST",
            "/login",
            "",
            Some("email=demo%40example.com&password=demo"),
        ),
    )
    .await;
    let sid = cookie(&login, "__Host-sid");
    let account = send(&two, request("GET", "/account", &sid, None)).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(
        account.body.contains("demo@example.com"),
        "a session made on one is used on the other"
    );

    let decided = send(
        &two,
        request("POST", "/consent", &sid, Some("action=accept_all")),
    )
    .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER);
    let consent = cookie(&decided, "__Host-consent");
    let records = send(&one, request("GET", "/consent/records", &consent, None)).await;
    assert_eq!(records.status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&records.body).unwrap();
    assert_eq!(
        json["records"].as_array().unwrap().len(),
        1,
        "a decision made on two is read on one"
    );

    // The registration's purpose decision too: made on one, shown by two.
    let registered = send(
        &one,
        request(
            "POST",
            "/register",
            "",
            Some("email=new%40example.com&password=12345678&offers=yes"),
        ),
    )
    .await;
    assert_eq!(registered.status, StatusCode::SEE_OTHER);
    let new_sid = cookie(&registered, "__Host-sid");
    let account = send(&two, request("GET", "/account", &new_sid, None)).await;
    assert!(
        account.body.contains("Offers by email: yes"),
        "{}",
        account.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_stopped_and_restarted_under_traffic() {
    let mut server = PgServer::start();
    let app = instance(&server).await;
    let login = send(
        &app,
        request(
            "POST",
            "/login",
            "",
            Some("email=demo%40example.com&password=demo"),
        ),
    )
    .await;
    let sid = cookie(&login, "__Host-sid");

    let traffic = {
        let app = app.clone();
        let sid = sid.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            for n in 0..400u32 {
                let (method, path, form) = match n % 4 {
                    0 => ("GET", "/account", None),
                    1 => ("POST", "/cart", Some("sku=BC-500&qty=1")),
                    2 => ("POST", "/consent", Some("action=reject_all")),
                    _ => ("GET", "/privacy", None),
                };
                // A visitor without cookies reads the privacy page: it needs neither the
                // session store nor the ledger.
                let cookies = if path == "/privacy" { "" } else { sid.as_str() };
                let reply = send(&app, request(method, path, cookies, form)).await;
                seen.push((path, reply.status));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.stop();
    tokio::time::sleep(Duration::from_millis(800)).await;
    server.restart();
    let seen = traffic.await.unwrap();
    for (path, status) in &seen {
        assert!(
            [
                StatusCode::OK,
                StatusCode::SEE_OTHER,
                StatusCode::SERVICE_UNAVAILABLE
            ]
            .contains(status),
            "{path}: {status}"
        );
    }
    let unavailable = seen
        .iter()
        .filter(|(_, s)| *s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    assert!(unavailable > 0, "the outage was seen");
    assert!(
        seen.iter()
            .all(|(path, s)| *path != "/privacy" || *s == StatusCode::OK),
        "a page that needs neither sessions nor the ledger kept working"
    );
    let account = send(&app, request("GET", "/account", &sid, None)).await;
    assert_eq!(
        account.status,
        StatusCode::OK,
        "recovered without a restart"
    );
    assert!(
        account.body.contains("demo@example.com"),
        "the session outlived the outage"
    );
}
