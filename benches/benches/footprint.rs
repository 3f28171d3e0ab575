//! What a request allocates and what a stored session costs, counted by a global allocator
//! (not timed; one run prints the numbers):
//! - allocations of a request whose handler never touches the session (no cookie), and of a
//!   first visit through the whole layer (CSP on), each beside the handoff alone (the values
//!   put into the request's extensions, and the CSP header, with nothing else done);
//! - bytes per session in `MemoryStore` with one small value, at 1,000,000 sessions,
//!   against tower-sessions' `MemoryStore`.
//!
//! `cargo bench -p consentry-benches --bench footprint` (`-- 100000` for fewer sessions)

use std::alloc::System;
use std::collections::HashMap;
use std::convert::Infallible;

use consentry::ledger::MemoryLedger;
use consentry::store::{Changes, MemoryStore, Record, SessionKey, SessionStore as _};
use consentry::{ConsentConfig, Consentry, Csp, Key, Keyring, Policy, SessionConfig};
use consentry_benches::handoff::{CspTemplate, handoff};
use http::{Request, Response};
use http_body_util::{BodyExt as _, Full};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tower::{Layer as _, Service as _, ServiceExt as _};
use tower_sessions::session_store::SessionStore as _;

/// Counts every allocation of this process.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

type Body = Full<bytes::Bytes>;

async fn untouched(_: Request<Body>) -> Result<Response<Body>, Infallible> {
    Ok(Response::new(Body::default()))
}

/// One `GET /` through `service`, its body read.
async fn one_request<S, B>(service: &mut S)
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    let request = Request::get("/")
        .header("host", "shop.test")
        .body(Body::default())
        .unwrap();
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    response.into_body().collect().await.unwrap();
}

/// Allocations of one request (the response body read), averaged over `rounds`.
async fn allocations_per_request<S, B>(service: &mut S, rounds: usize) -> f64
where
    S: tower::Service<Request<Body>, Response = Response<B>>,
    S::Error: std::fmt::Debug,
    B: http_body::Body,
    B::Error: std::fmt::Debug,
{
    // Warm up: lazily built state allocates once.
    for _ in 0..10 {
        one_request(service).await;
    }
    let region = Region::new(GLOBAL);
    for _ in 0..rounds {
        one_request(service).await;
    }
    let change = region.change();
    #[allow(clippy::cast_precision_loss, reason = "an average for display")]
    let per = (change.allocations + change.reallocations) as f64 / rounds as f64;
    per
}

/// Live bytes added by `work`, per item.
fn bytes_per<T>(items: usize, work: impl FnOnce() -> T) -> (f64, T) {
    let region = Region::new(GLOBAL);
    let kept = work();
    let change = region.change();
    // A reallocation's growth is already in `bytes_allocated` (and its shrinking in
    // `bytes_deallocated`); `bytes_reallocated` repeats it, so it is not added.
    let live = change.bytes_allocated.cast_signed() - change.bytes_deallocated.cast_signed();
    #[allow(clippy::cast_precision_loss, reason = "an average for display")]
    let per = live as f64 / items as f64;
    (per, kept)
}

/// Prints the allocations per request of each layer, and of the handoff alone.
async fn print_allocations() {
    let keyring = || Keyring::new(1, Key::from_bytes(&[4; 32]).unwrap());
    // What building, sending and reading a request costs with no layer at all: the
    // layers' own allocations are what they add to it.
    let bare = allocations_per_request(&mut tower::service_fn(untouched), 10_000).await;
    let mut theirs =
        tower_sessions::SessionManagerLayer::new(tower_sessions::MemoryStore::default())
            .with_signed(tower_sessions::cookie::Key::from(&[7; 64]))
            .layer(tower::service_fn(untouched));
    let theirs_untouched = allocations_per_request(&mut theirs, 10_000).await;
    let mut session_only = Consentry::builder(keyring())
        .session(SessionConfig::new(MemoryStore::new()))
        .build()
        .unwrap()
        .layer(tower::service_fn(untouched));
    let untouched_allocs = allocations_per_request(&mut session_only, 10_000).await;
    let mut whole = Consentry::builder(keyring())
        .session(SessionConfig::new(MemoryStore::new()))
        .consent(
            ConsentConfig::new(Policy::new(1))
                .ledger(MemoryLedger::new())
                .csp(Csp::new()),
        )
        .build()
        .unwrap()
        .layer(tower::service_fn(untouched));
    let first_visit_allocs = allocations_per_request(&mut whole, 10_000).await;
    // The least the same requests allocate with any layer that hands the handler its
    // values through the extensions (and sends a CSP with a fresh nonce).
    let mut one_value = handoff(tower::service_fn(untouched), 1, None);
    let handoff_untouched = allocations_per_request(&mut one_value, 10_000).await;
    let csp = {
        let request = Request::get("/").body(Body::default()).unwrap();
        let response = whole.ready().await.unwrap().call(request).await.unwrap();
        let header = response
            .headers()
            .get(http::header::CONTENT_SECURITY_POLICY);
        CspTemplate::from_header(header.expect("a CSP").to_str().unwrap())
    };
    let mut page = handoff(tower::service_fn(untouched), 3, Some(csp));
    let handoff_first_visit = allocations_per_request(&mut page, 10_000).await;
    println!(
        "allocations per request (request, response and body; added by the layer in brackets):"
    );
    println!("  no layer:                                                   {bare:.1}");
    println!(
        "  consentry, handler never touches the session, no cookie:    {untouched_allocs:.1} (+{:.1})",
        untouched_allocs - bare
    );
    println!(
        "  tower-sessions, the same:                                   {theirs_untouched:.1} (+{:.1})",
        theirs_untouched - bare
    );
    println!(
        "  the handoff alone, one value:                               {handoff_untouched:.1} (+{:.1})",
        handoff_untouched - bare
    );
    println!(
        "  consentry, whole layer, first visit (CSP on):               {first_visit_allocs:.1} (+{:.1})",
        first_visit_allocs - bare
    );
    println!(
        "  the handoff alone, three values and the same CSP:           {handoff_first_visit:.1} (+{:.1})",
        handoff_first_visit - bare
    );
}

fn main() {
    let sessions: usize = std::env::args()
        .skip(1)
        .find_map(|arg| arg.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    runtime.block_on(print_allocations());

    let deadline = 4_000_000_000;
    let (ours, store) = bytes_per(sessions, || {
        let store = MemoryStore::new().with_capacity(sessions);
        runtime.block_on(async {
            for n in 0..sessions {
                let mut digest = [0u8; 32];
                digest[..8].copy_from_slice(&(n as u64).to_le_bytes());
                let mut changes = Changes::default();
                changes.insert("user", "7315604229");
                let mut record = Record::new();
                changes.apply_to(&mut record);
                store
                    .create(&SessionKey::from_digest(digest), &record, deadline)
                    .await
                    .unwrap();
            }
        });
        store
    });
    assert_eq!(store.len(), sessions, "every session kept");
    drop(store);

    let (theirs, store) = bytes_per(sessions, || {
        let store = tower_sessions::MemoryStore::default();
        let expiry = tower_sessions::cookie::time::OffsetDateTime::now_utc()
            + tower_sessions::cookie::time::Duration::hours(1);
        runtime.block_on(async {
            for _ in 0..sessions {
                let mut data = HashMap::new();
                data.insert("user".to_owned(), serde_json::json!(7_315_604_229u64));
                let mut record = tower_sessions::session::Record {
                    id: tower_sessions::session::Id::default(),
                    data,
                    expiry_date: expiry,
                };
                store.create(&mut record).await.unwrap();
            }
        });
        store
    });
    drop(store);
    println!(
        "bytes per session at {sessions} sessions, one small value: consentry MemoryStore {ours:.0}, tower-sessions MemoryStore {theirs:.0} ({:.2}×)",
        ours / theirs
    );
}
