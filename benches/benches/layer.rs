//! The whole layer: sessions, consent (CSP on, a declared analytics cookie) and referral.
//! A returning visitor (session, consent and referral cookies) whose handler reads a session
//! value and asks consent; and a first visit (no cookies, the handler asks consent only).
//!
//! `cargo bench -p consentry-benches --bench layer`

use std::convert::Infallible;

use consentry::ledger::MemoryLedger;
use consentry::store::MemoryStore;
use consentry::{
    Category, ConsentConfig, Consentry, Csp, DeclaredCookie, Key, Keyring, Partner, Policy,
    ReferralConfig, SessionConfig,
};
use consentry_benches::set_cookie;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response, header};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer, Service, ServiceExt as _};

type Body = Full<bytes::Bytes>;

async fn app(request: Request<Body>) -> Result<Response<String>, Infallible> {
    let consent = request
        .extensions()
        .get::<consentry::Consent>()
        .cloned()
        .unwrap();
    let analytics = consent.allows(&Category::ANALYTICS);
    let body = match request.uri().path() {
        "/write" => {
            let session = request.extensions().get::<consentry::Session>().unwrap();
            session.insert("count", &42u64).await.unwrap();
            "ok".to_owned()
        }
        "/read" => {
            let session = request.extensions().get::<consentry::Session>().unwrap();
            let count: u64 = session.get("count").await.unwrap().unwrap_or(0);
            format!("{count} {analytics}")
        }
        _ => analytics.to_string(),
    };
    Ok(Response::new(body))
}

fn request(method: &str, path: &str, cookies: &str) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "shop.test")
        .header(header::ORIGIN, "https://shop.test");
    if !cookies.is_empty() {
        builder = builder.header(header::COOKIE, cookies);
    }
    if method == "POST" {
        builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        return builder
            .body(Body::from("action=accept_all&return_to=/"))
            .unwrap();
    }
    builder.body(Body::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let layer = Consentry::builder(Keyring::new(1, Key::from_bytes(&[7; 32]).unwrap()))
        .session(SessionConfig::new(MemoryStore::new()))
        .consent(
            ConsentConfig::new(Policy::new(1))
                .ledger(MemoryLedger::new())
                .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS))
                .csp(Csp::new()),
        )
        .referral(ReferralConfig::new().partner(Partner::new("acme", "Acme")))
        .build()
        .unwrap();
    let mut service = layer.layer(tower::service_fn(app));
    let returning = runtime.block_on(async {
        let mut send = async |request| service.ready().await.unwrap().call(request).await.unwrap();
        let sid = set_cookie(&send(request("GET", "/write", "")).await, "__Host-sid");
        let consent = set_cookie(
            &send(request("POST", "/consent", "")).await,
            "__Host-consent",
        );
        let referral = set_cookie(
            &send(request("GET", "/?ref=acme", &consent)).await,
            "__Host-ref",
        );
        format!("{sid}; {consent}; {referral}")
    });

    let mut group = c.benchmark_group("whole layer");
    for (name, path, cookies) in [
        (
            "returning visitor, session read",
            "/read",
            returning.as_str(),
        ),
        ("first visit", "/", ""),
    ] {
        group.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| {
                let service = service.clone();
                async move {
                    let response = service
                        .oneshot(request("GET", path, cookies))
                        .await
                        .unwrap();
                    response.into_body().collect().await.unwrap()
                }
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
