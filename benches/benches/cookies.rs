//! Signing and verifying cookies alone, in the same run: consentry's codec (the session
//! cookie), axum-extra's `SignedCookieJar` (one and ten cookies); then one signed value read
//! through a layer, in one harness beside the bare service: tower-cookies' signed jar and
//! consentry's session layer. Last, one cookie verified on two threads at once.
//!
//! `cargo bench -p consentry-benches --bench cookies`

use std::convert::Infallible;

use axum::response::IntoResponse as _;
use axum_extra::extract::cookie::{Cookie, Key as JarKey, SignedCookieJar};
use consentry::internals::SessionCodec;
use consentry::{Key, Keyring};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Request, Response, header};
use http_body_util::BodyExt as _;
use std::hint::black_box;
use tower::{Layer as _, Service as _, ServiceExt as _};

const NOW: u64 = 1_800_000_000;
/// A session cookie's body: a 128-bit id and two times, as the session part seals it.
const BODY: [u8; 32] = [7; 32];

fn jar_key() -> JarKey {
    JarKey::from(&[9u8; 64])
}

/// A `Cookie` header with `n` cookies signed by axum-extra's jar: the signed values of its
/// `Set-Cookie` headers, as a browser would send them back.
fn signed_jar_header(n: usize) -> HeaderMap {
    let mut jar = SignedCookieJar::new(jar_key());
    for i in 0..n {
        jar = jar.add(Cookie::new(
            format!("c{i}"),
            "0123456789abcdef0123456789abcdef",
        ));
    }
    let response = jar.into_response();
    let pairs: Vec<&str> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap().split(';').next().unwrap())
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_str(&pairs.join("; ")).unwrap(),
    );
    // Every cookie verifies: the benchmark measures checks that succeed.
    let read = SignedCookieJar::from_headers(&headers, jar_key());
    assert!((0..n).all(|i| read.get(&format!("c{i}")).is_some()));
    headers
}

fn bench(c: &mut Criterion) {
    let codec = SessionCodec::new(&Keyring::new(1, Key::from_bytes(&[3; 32]).unwrap()));
    let sealed = codec.seal("__Host-sid", NOW + 3_600, &BODY);
    assert!(codec.verify("__Host-sid", &sealed, NOW));

    let mut sign = c.benchmark_group("sign one cookie");
    sign.bench_function("consentry codec", |b| {
        b.iter(|| codec.seal(black_box("__Host-sid"), NOW + 3_600, black_box(&BODY)));
    });
    sign.bench_function("axum-extra SignedCookieJar", |b| {
        let key = jar_key();
        b.iter(|| {
            let jar = SignedCookieJar::new(key.clone())
                .add(Cookie::new("sid", "0123456789abcdef0123456789abcdef"));
            black_box(jar.get("sid"))
        });
    });
    sign.finish();

    let mut verify = c.benchmark_group("verify cookies");
    // "first sight" computes every MAC, as for a value the layer has not seen before;
    // "seen before" is a returning visitor's value, taken from the cache of verified values.
    let ten: Vec<(String, String)> = (0..10)
        .map(|i| {
            let name = format!("c{i}");
            let value = codec.seal(&name, NOW + 3_600, &BODY);
            (name, value)
        })
        .collect();
    for (cached, label) in [(false, "first sight"), (true, "seen before")] {
        let verify_one = |name: &str, value: &str| {
            if cached {
                codec.verify(black_box(name), black_box(value), NOW)
            } else {
                codec.verify_uncached(black_box(name), black_box(value), NOW)
            }
        };
        verify.bench_function(format!("consentry codec, 1, {label}"), |b| {
            b.iter(|| verify_one("__Host-sid", &sealed));
        });
        verify.bench_function(format!("consentry codec, 10, {label}"), |b| {
            b.iter(|| ten.iter().all(|(name, value)| verify_one(name, value)));
        });
    }
    for n in [1, 10] {
        let headers = signed_jar_header(n);
        let key = jar_key();
        verify.bench_function(format!("axum-extra SignedCookieJar, {n}"), |b| {
            b.iter(|| {
                let jar = SignedCookieJar::from_headers(black_box(&headers), key.clone());
                (0..n).all(|i| jar.get(&format!("c{i}")).is_some())
            });
        });
    }
    verify.finish();

    // Both cores verifying the same cookie at once, as a server's worker threads do for a
    // visitor's parallel requests (or for visitors whose values share a cache line).
    let mut both = c.benchmark_group("verify one cookie on two threads at once");
    both.bench_function("consentry codec, seen before", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, || {
                codec.verify(black_box("__Host-sid"), black_box(&sealed), NOW)
            })
        });
    });
    let headers = signed_jar_header(1);
    let key = jar_key();
    both.bench_function("axum-extra SignedCookieJar", |b| {
        b.iter_custom(|iters| {
            on_two_threads(iters, || {
                let jar = SignedCookieJar::from_headers(black_box(&headers), key.clone());
                jar.get("c0").is_some()
            })
        });
    });
    both.finish();
}

/// The time two threads take to call `verify` `iters` times each, side by side: per
/// iteration, what one call costs while the other thread makes the same call.
fn on_two_threads(iters: u64, verify: impl Fn() -> bool + Sync) -> std::time::Duration {
    let start = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..iters {
                    assert!(black_box(verify()));
                }
            });
        }
    });
    start.elapsed()
}

/// One request through `service` carrying `cookie`, its body read, as every case of
/// [`through_a_layer`] sends it.
fn read_through<S, B>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    name: &str,
    service: &mut S,
    cookie: &str,
) where
    S: tower::Service<Request<String>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Error: std::fmt::Debug>,
{
    group.bench_function(name, |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = Request::builder()
                    .header(header::COOKIE, cookie)
                    .body(String::new())
                    .unwrap();
                let response = service.ready().await.unwrap().call(request).await.unwrap();
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(&body[..], b"true");
            });
        });
    });
}

/// One signed value read through a layer, in one harness: the bare service, tower-cookies'
/// signed jar (its layer parses the header, the handler reads one signed cookie) and
/// consentry's session layer (the handler reads one value of the session its signed cookie
/// names).
fn through_a_layer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let key = tower_cookies::Key::from(&[9u8; 64]);
    let handler_key = key.clone();
    let mut theirs = tower_cookies::CookieManagerLayer::new().layer(tower::service_fn(
        move |request: Request<String>| {
            let key = handler_key.clone();
            async move {
                let cookies = request
                    .extensions()
                    .get::<tower_cookies::Cookies>()
                    .cloned()
                    .unwrap();
                let found = cookies.signed(&key).get("sid").is_some();
                Ok::<_, Infallible>(Response::new(found.to_string()))
            }
        },
    ));
    let their_cookie = {
        let jar = tower_cookies::Cookies::default();
        jar.signed(&key).add(tower_cookies::Cookie::new(
            "sid",
            "0123456789abcdef0123456789abcdef",
        ));
        let cookie = jar.get("sid").unwrap();
        format!("sid={}", cookie.value())
    };
    let mut ours =
        consentry::Consentry::builder(Keyring::new(1, Key::from_bytes(&[3; 32]).unwrap()))
            .session(consentry::SessionConfig::new(
                consentry::store::MemoryStore::new(),
            ))
            .build()
            .unwrap()
            .layer(tower::service_fn(|request: Request<String>| async move {
                let session = request
                    .extensions()
                    .get::<consentry::Session>()
                    .cloned()
                    .unwrap();
                if request.uri().path() == "/write" {
                    session
                        .insert("sid", "0123456789abcdef0123456789abcdef")
                        .await
                        .unwrap();
                }
                let found = session.get::<String>("sid").await.unwrap().is_some();
                Ok::<_, Infallible>(Response::new(found.to_string()))
            }));
    let our_cookie = runtime.block_on(async {
        let request = Request::get("/write").body(String::new()).unwrap();
        let response = ours.ready().await.unwrap().call(request).await.unwrap();
        consentry_benches::set_cookie(&response, "__Host-sid")
    });
    let mut bare = tower::service_fn(|_: Request<String>| async {
        Ok::<_, Infallible>(Response::new("true".to_owned()))
    });
    let mut group = c.benchmark_group("verify cookies");
    read_through(
        &mut group,
        &runtime,
        "bare service, one cookie",
        &mut bare,
        &their_cookie,
    );
    read_through(
        &mut group,
        &runtime,
        "tower-cookies signed, through its layer, 1",
        &mut theirs,
        &their_cookie,
    );
    read_through(
        &mut group,
        &runtime,
        "consentry session read, through its layer, 1",
        &mut ours,
        &our_cookie,
    );
    group.finish();
}

criterion_group!(benches, bench, through_a_layer);
criterion_main!(benches);
