//! The example shop's router in process, with its consentry layer and without it, on the
//! one route that needs no layer (`/static/shop.css`): what the layer costs a real app's
//! request, beside `scripts/bench-shop`, which measures the same over HTTP.
//!
//! A second group renders a page (the catalogue, `/`): the banner's markup on a first visit,
//! and the hidden settings view for a returning visitor.
//!
//! `cargo bench -p consentry-benches --bench shop`

use axum::body::Body;
use consentry::Key;
use consentry_benches::set_cookie;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, header};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

fn request(cookies: &str) -> Request<Body> {
    get("/static/shop.css", cookies)
}

fn get(path: &str, cookies: &str) -> Request<Body> {
    consentry_benches::iteration();
    let mut builder = Request::get(path).header(header::HOST, "127.0.0.1:3000");
    if !cookies.is_empty() {
        builder = builder.header(header::COOKIE, cookies);
    }
    builder.body(Body::empty()).unwrap()
}

fn config() -> shop::ShopConfig {
    shop::ShopConfig::new(Key::from_bytes(&[3; 32]).unwrap())
}

/// A returning visitor's cookies: a session (logged in), consent to everything and a
/// partner referral.
async fn returning_cookies(app: &axum::Router) -> String {
    let send = async |request: Request<Body>| app.clone().oneshot(request).await.unwrap();
    let form = |path: &str, body: &str| {
        Request::post(path)
            .header(header::HOST, "127.0.0.1:3000")
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let sid = set_cookie(
        &send(form("/login", "email=demo%40example.com&password=demo")).await,
        "__Host-sid",
    );
    let consent = set_cookie(
        &send(form("/consent", "action=accept_all&return_to=/")).await,
        "__Host-consent",
    );
    let mut tagged = Request::get("/?ref=acme")
        .header(header::HOST, "127.0.0.1:3000")
        .header(header::COOKIE, &consent);
    tagged = tagged.header(header::ACCEPT, "text/html");
    let referral = set_cookie(
        &send(tagged.body(Body::empty()).unwrap()).await,
        "__Host-ref",
    );
    format!("{sid}; {consent}; {referral}")
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let with = shop::app(config()).unwrap();
    let without = shop::app_without_consentry(config()).unwrap();
    let cookies = runtime.block_on(returning_cookies(&with));
    let mut group = c.benchmark_group("shop stylesheet");
    for (name, app, cookies) in [
        ("with the layer, first visit", &with, ""),
        ("with the layer, returning", &with, cookies.as_str()),
        ("without the layer", &without, ""),
        (
            "without the layer, same cookies",
            &without,
            cookies.as_str(),
        ),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = app.clone().oneshot(request(cookies)).await.unwrap();
                assert!(response.status().is_success());
                response.into_body().collect().await.unwrap()
            });
        });
    }
    group.finish();
    let mut group = c.benchmark_group("shop page");
    for (name, cookies) in [("first visit", ""), ("returning", cookies.as_str())] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let response = with.clone().oneshot(get("/", cookies)).await.unwrap();
                assert!(response.status().is_success());
                response.into_body().collect().await.unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
