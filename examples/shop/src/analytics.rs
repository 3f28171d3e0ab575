//! A stand-in for a third-party analytics provider, on its own port: it serves `/a.js`
//! (which sets a first-party `_sa` cookie and reports the page view to `/collect`) and
//! counts what reaches it, so anyone can check that nothing arrives before consent.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

/// What the analytics server has seen.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Requests for the script.
    pub script_loads: u64,
    /// Page views reported to `/collect`.
    pub hits: u64,
    /// Page views per path.
    pub by_path: BTreeMap<String, u64>,
    /// Distinct `_sa` visitor ids seen.
    pub visitors: BTreeSet<String>,
}

/// Shared counters; clones see the same numbers.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<Mutex<Stats>>);

impl Counter {
    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

const SCRIPT: &str = r#"(function () {
  var found = document.cookie.match(/(?:^|; )_sa=([A-Za-z0-9]+)/);
  var id = found ? found[1] : Math.random().toString(36).slice(2) + Date.now().toString(36);
  document.cookie = "_sa=" + id + "; Path=/; Max-Age=31536000; SameSite=Lax";
  var origin = new URL(document.currentScript.src).origin;
  fetch(origin + "/collect", {
    method: "POST",
    mode: "no-cors",
    keepalive: true,
    headers: { "Content-Type": "text/plain" },
    body: JSON.stringify({ visitor: id, path: location.pathname })
  });
})();
"#;

#[derive(Deserialize)]
struct Hit {
    visitor: String,
    path: String,
}

async fn script(State(counter): State<Counter>) -> impl IntoResponse {
    counter.update(|stats| stats.script_loads += 1);
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SCRIPT,
    )
}

async fn collect(State(counter): State<Counter>, body: Bytes) -> StatusCode {
    let Ok(hit) = serde_json::from_slice::<Hit>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    if hit.visitor.len() > 64 || hit.path.len() > 512 {
        return StatusCode::BAD_REQUEST;
    }
    counter.update(|stats| {
        stats.hits += 1;
        *stats.by_path.entry(hit.path).or_default() += 1;
        stats.visitors.insert(hit.visitor);
    });
    StatusCode::NO_CONTENT
}

async fn stats(State(counter): State<Counter>) -> impl IntoResponse {
    (
        [
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        axum::Json(counter.stats()),
    )
}

/// The analytics server and its counters.
pub fn app() -> (Router, Counter) {
    let counter = Counter::default();
    let router = Router::new()
        .route("/a.js", get(script))
        .route("/collect", post(collect))
        .route("/stats", get(stats))
        .layer(axum::extract::DefaultBodyLimit::max(4096))
        .with_state(counter.clone());
    (router, counter)
}
