//! A request through the session layer, consentry against tower-sessions (its memory store,
//! signed cookies), in the same run and process, beside the bare service: a handler that
//! never touches the session (no cookie), reading a session value, writing one, and a new
//! session. Then the whole consentry layer (sessions, consent with the CSP on and a declared
//! analytics cookie, referral): a returning visitor (session, consent and referral cookies)
//! whose handler reads a session value and asks consent, and a first visit (no cookies, the
//! handler asks consent only). Every case sends the same request shape as the bare service.
//!
//! `cargo bench -p consentry-benches --bench sessions`

use std::convert::Infallible;

use consentry::ledger::MemoryLedger;
use consentry::store::MemoryStore;
use consentry::{
    Category, ConsentConfig, Consentry, Csp, DeclaredCookie, Key, Keyring, Partner, Policy,
    ReferralConfig, SessionConfig,
};
use consentry_benches::handoff::{CspTemplate, Handle, handoff};
use consentry_benches::set_cookie;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response, header};
use http_body_util::{BodyExt as _, Full};
use tower::{Layer, Service, ServiceExt as _};

type Body = Full<bytes::Bytes>;

/// What the handler does with the session, and whether the request carries a cookie.
#[derive(Clone, Copy)]
enum Work {
    /// No cookie; the handler never touches the session.
    Untouched,
    /// A session cookie; the handler reads one value.
    Read,
    /// A session cookie; the handler writes one value.
    Write,
    /// No cookie; the handler writes one value, so a session is created.
    New,
}

impl Work {
    fn name(self) -> &'static str {
        match self {
            Self::Untouched => "untouched, no cookie",
            Self::Read => "read one value",
            Self::Write => "write one value",
            Self::New => "new session with one value",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Untouched => "/nothing",
            Self::Read => "/read",
            Self::Write | Self::New => "/write",
        }
    }

    fn sends_cookie(self) -> bool {
        matches!(self, Self::Read | Self::Write)
    }
}

async fn bare_app(request: Request<Body>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(request.uri().path().len().to_string()))
}

/// Behind the handoff alone: takes the values handed to it, as the layers' handlers do.
async fn handoff_app(request: Request<Body>) -> Result<Response<String>, Infallible> {
    let first = request.extensions().get::<Handle<0>>().cloned();
    let second = request.extensions().get::<Handle<1>>().cloned();
    let handed = usize::from(first.is_some()) + usize::from(second.is_some());
    Ok(Response::new(handed.to_string()))
}

async fn consentry_app(request: Request<Body>) -> Result<Response<String>, Infallible> {
    let session = request
        .extensions()
        .get::<consentry::Session>()
        .cloned()
        .unwrap();
    let body = match request.uri().path() {
        "/read" => session
            .get::<u64>("count")
            .await
            .unwrap()
            .unwrap_or(0)
            .to_string(),
        "/write" => {
            session.insert("count", &42u64).await.unwrap();
            "ok".to_owned()
        }
        _ => String::new(),
    };
    Ok(Response::new(body))
}

async fn tower_sessions_app(request: Request<Body>) -> Result<Response<String>, Infallible> {
    let session = request
        .extensions()
        .get::<tower_sessions::Session>()
        .cloned()
        .unwrap();
    let body = match request.uri().path() {
        "/read" => session
            .get::<u64>("count")
            .await
            .unwrap()
            .unwrap_or(0)
            .to_string(),
        "/write" => {
            session.insert("count", 42u64).await.unwrap();
            "ok".to_owned()
        }
        _ => String::new(),
    };
    Ok(Response::new(body))
}

/// Behind the whole layer: asks consent, and reads or writes the session.
async fn whole_layer_app(request: Request<Body>) -> Result<Response<String>, Infallible> {
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

/// The whole layer in front of [`whole_layer_app`], and a returning visitor's cookies.
fn whole_layer(
    runtime: &tokio::runtime::Runtime,
) -> (
    impl Service<
        Request<Body>,
        Response = Response<consentry::ConsentryBody<String>>,
        Error = Infallible,
    > + Clone,
    String,
) {
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
    let mut service = layer.layer(tower::service_fn(whole_layer_app));
    let cookies = runtime.block_on(async {
        let mut send = async |request| service.ready().await.unwrap().call(request).await.unwrap();
        let sid = set_cookie(&send(request("/write", None)).await, "__Host-sid");
        let decision = Request::post("/consent")
            .header(header::HOST, "shop.test")
            .header(header::ORIGIN, "https://shop.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("action=accept_all&return_to=/"))
            .unwrap();
        let consent = set_cookie(&send(decision).await, "__Host-consent");
        let referral = set_cookie(
            &send(request("/?ref=acme", Some(&consent))).await,
            "__Host-ref",
        );
        format!("{sid}; {consent}; {referral}")
    });
    (service, cookies)
}

fn request(path: &str, cookie: Option<&str>) -> Request<Body> {
    consentry_benches::iteration();
    let mut builder = Request::get(path);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    builder.body(Body::default()).unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let consentry_layer = consentry::Consentry::builder(consentry::Keyring::new(
        1,
        consentry::Key::from_bytes(&[7; 32]).unwrap(),
    ))
    .session(consentry::SessionConfig::new(
        consentry::store::MemoryStore::new(),
    ))
    .build()
    .unwrap();
    let mut ours = consentry_layer.layer(tower::service_fn(consentry_app));
    let our_cookie = runtime.block_on(async {
        let response = ours
            .ready()
            .await
            .unwrap()
            .call(request("/write", None))
            .await
            .unwrap();
        set_cookie(&response, "__Host-sid")
    });

    let store = tower_sessions::MemoryStore::default();
    let theirs_layer = tower_sessions::SessionManagerLayer::new(store)
        .with_secure(true)
        .with_signed(tower_sessions::cookie::Key::from(&[7; 64]));
    let mut theirs = theirs_layer.layer(tower::service_fn(tower_sessions_app));
    let their_cookie = runtime.block_on(async {
        let response = theirs
            .ready()
            .await
            .unwrap()
            .call(request("/write", None))
            .await
            .unwrap();
        set_cookie(&response, "id")
    });

    let bare = tower::service_fn(bare_app);
    c.bench_function("bare service", |b| {
        b.to_async(&runtime).iter(|| send(bare, "/nothing", None));
    });
    for work in [Work::Untouched, Work::Read, Work::Write, Work::New] {
        let mut group = c.benchmark_group(work.name());
        let path = work.path();
        let cookie = work.sends_cookie();
        let our_cookie = cookie.then_some(our_cookie.as_str());
        group.bench_function("consentry", |b| {
            b.to_async(&runtime)
                .iter(|| send(ours.clone(), path, our_cookie));
        });
        let their_cookie = cookie.then_some(their_cookie.as_str());
        group.bench_function("tower-sessions", |b| {
            b.to_async(&runtime)
                .iter(|| send(theirs.clone(), path, their_cookie));
        });
        if matches!(work, Work::Untouched) {
            // The least an untouched request costs any layer that hands the handler its
            // session through the extensions.
            let floor = handoff(tower::service_fn(handoff_app), 1, None);
            group.bench_function("handoff alone", |b| {
                b.to_async(&runtime)
                    .iter(|| send(floor.clone(), path, None));
            });
        }
        group.finish();
    }
    bench_whole_layer(c, &runtime);
}

/// The whole layer, a returning visitor and a first visit, each beside the handoff alone.
fn bench_whole_layer(c: &mut Criterion, runtime: &tokio::runtime::Runtime) {
    let (whole, returning) = whole_layer(runtime);
    let mut group = c.benchmark_group("whole layer");
    let cases = [
        (
            "returning visitor, session read",
            "/read",
            Some(returning.as_str()),
        ),
        ("first visit", "/", None),
    ];
    for (name, path, cookie) in cases {
        group.bench_function(name, |b| {
            b.to_async(runtime)
                .iter(|| send(whole.clone(), path, cookie));
        });
    }
    // The least the same requests cost a layer that only hands the handler as many values
    // (session, consent, page, and a referral for the returning visitor) and sends a CSP
    // as long as consentry's, with a fresh nonce.
    for ((name, path, cookie), values) in cases.into_iter().zip([4, 3]) {
        let header = runtime.block_on(async {
            let response = whole.clone().oneshot(request(path, cookie)).await.unwrap();
            let csp = response.headers().get(header::CONTENT_SECURITY_POLICY);
            csp.expect("the layer sends its CSP")
                .to_str()
                .unwrap()
                .to_owned()
        });
        let floor = handoff(
            tower::service_fn(handoff_app),
            values,
            Some(CspTemplate::from_header(&header)),
        );
        group.bench_function(format!("{name}, handoff alone"), |b| {
            b.to_async(runtime)
                .iter(|| send(floor.clone(), path, cookie));
        });
    }
    group.finish();
}

/// One request for `path` (with `cookie`) through `service`, its response body read.
async fn send<S, B>(
    service: S,
    path: &str,
    cookie: Option<&str>,
) -> http_body_util::Collected<B::Data>
where
    S: Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let response = service.oneshot(request(path, cookie)).await.unwrap();
    response.into_body().collect().await.unwrap()
}

criterion_group!(benches, bench);
criterion_main!(benches);
