//! Signing and verifying cookies alone, in the same run: consentry's codec (the session
//! cookie), axum-extra's `SignedCookieJar` (one and ten cookies) and tower-cookies' signed
//! jar through its layer.
//!
//! `cargo bench -p consentry-benches --bench cookies`

use std::convert::Infallible;

use axum_extra::extract::cookie::{Cookie, Key as JarKey, SignedCookieJar};
use consentry::internals::SessionCodec;
use consentry::{Key, Keyring};
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, HeaderValue, Request, Response, header};
use std::hint::black_box;
use tower::{Layer as _, Service as _, ServiceExt as _};

const NOW: u64 = 1_800_000_000;
/// A session cookie's body: a 128-bit id and two times, as the session part seals it.
const BODY: [u8; 32] = [7; 32];

fn jar_key() -> JarKey {
    JarKey::from(&[9u8; 64])
}

/// A `Cookie` header with `n` cookies signed by axum-extra's jar.
fn signed_jar_header(n: usize) -> HeaderMap {
    let mut jar = SignedCookieJar::new(jar_key());
    for i in 0..n {
        jar = jar.add(Cookie::new(
            format!("c{i}"),
            "0123456789abcdef0123456789abcdef",
        ));
    }
    let pairs: Vec<String> = jar
        .iter()
        .map(|cookie| format!("{}={}", cookie.name(), cookie.value()))
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::COOKIE,
        HeaderValue::from_str(&pairs.join("; ")).unwrap(),
    );
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

    // tower-cookies: its layer parses the header, the handler reads one signed cookie.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let key = tower_cookies::Key::from(&[9u8; 64]);
    let handler_key = key.clone();
    let mut service = tower_cookies::CookieManagerLayer::new().layer(tower::service_fn(
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
    let header = {
        let jar = tower_cookies::Cookies::default();
        jar.signed(&key).add(tower_cookies::Cookie::new(
            "sid",
            "0123456789abcdef0123456789abcdef",
        ));
        let cookie = jar.get("sid").unwrap();
        format!("sid={}", cookie.value())
    };
    let mut group = c.benchmark_group("verify cookies");
    group.bench_function("tower-cookies signed, through its layer, 1", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let request = Request::builder()
                    .header(header::COOKIE, header.as_str())
                    .body(String::new())
                    .unwrap();
                let response = service.ready().await.unwrap().call(request).await.unwrap();
                assert_eq!(response.body(), "true");
            });
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
