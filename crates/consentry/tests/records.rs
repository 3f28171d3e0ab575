//! The proof read back: the visitor's own records through the endpoint, exports, daily
//! figures and pruning of the in-memory ledger.

use std::convert::Infallible;

use bytes::Bytes;
use consentry::ledger::{
    ConsentLedger, Day, ExportFormat, LedgerError, LedgerFuture, LedgerRecord, MemoryLedger,
    Period, RecordsFuture,
};
use consentry::testing::Client;
use consentry::{ConsentConfig, Consentry, ConsentryLayer, Key, Keyring, ManualClock, Policy};
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use tower::{Layer, service_fn};

const NOW: u64 = 1_800_000_000;

fn layer(ledger: impl ConsentLedger, clock: ManualClock) -> ConsentryLayer {
    Consentry::builder(Keyring::new(1, Key::from_bytes(&[6; 32]).unwrap()))
        .consent(ConsentConfig::new(Policy::new(1)).ledger(ledger))
        .clock(clock)
        .dev_cookies(true)
        .build()
        .unwrap()
}

/// The app behind the layer: an empty page.
type Answer = std::future::Ready<Result<Response<String>, Infallible>>;
type App = consentry::ConsentryService<tower::util::ServiceFn<fn(Request<Full<Bytes>>) -> Answer>>;

fn empty_page(_: Request<Full<Bytes>>) -> Answer {
    std::future::ready(Ok(Response::new(String::new())))
}

fn client(layer: &ConsentryLayer) -> Client<App> {
    Client::new(layer.layer(service_fn(empty_page as fn(_) -> _)))
}

#[tokio::test]
async fn a_visitor_downloads_their_own_records_and_nobody_elses() {
    let ledger = MemoryLedger::new();
    let clock = ManualClock::new(NOW);
    let layer = layer(ledger.clone(), clock.clone());
    let none = client(&layer).get("/consent/records").await;
    assert_eq!(
        none.status,
        StatusCode::NOT_FOUND,
        "no signed cookie, no records"
    );
    assert_eq!(none.json()["error"], "no_consent_id");

    let visitor = client(&layer);
    visitor
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    clock.advance(std::time::Duration::from_secs(60));
    visitor
        .post_json("/consent", r#"{"action":"reject_all"}"#)
        .await;
    let other = client(&layer);
    other
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    assert_eq!(ledger.records().len(), 3);

    let mine = visitor.get("/consent/records").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert_eq!(mine.header("cache-control"), Some("no-store"));
    let body = mine.json();
    let id = body["id"].as_str().unwrap();
    let records = body["records"].as_array().unwrap();
    assert_eq!(records.len(), 2, "only this browser's decisions");
    assert!(records.iter().all(|r| r["consent_id"] == id));
    assert_eq!(records[0]["time"], NOW);
    assert_eq!(
        records[1]["denied"].as_array().unwrap().len(),
        3,
        "oldest first"
    );

    // A forged or altered cookie is no key to anyone's records.
    let forged = client(&layer);
    let value = visitor.cookie("consent").unwrap();
    // One character in the middle changed (a whole base64 digit, so the bytes change).
    let middle = value.len() / 2;
    let other = if &value[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    forged.set_cookie(
        "consent",
        format!("{}{other}{}", &value[..middle], &value[middle + 1..]),
    );
    assert_eq!(
        forged.get("/consent/records").await.status,
        StatusCode::NOT_FOUND
    );

    // The settings page says who and when, and links the download.
    let page = visitor
        .send(
            visitor
                .request(&http::Method::GET, "/consent")
                .header(header::ACCEPT, "text/html")
                .body(Full::default())
                .unwrap(),
        )
        .await
        .text();
    assert!(
        page.contains(&format!("Your consent id is <code>{id}</code>")),
        "{page}"
    );
    assert!(page.contains("2027-01-15 08:01:00 UTC under policy revision 1"));
    assert!(page.contains(r#"href="/consent/records""#));

    assert_eq!(
        visitor.post_json("/consent/records", "{}").await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

/// A ledger that appends but cannot look anything up, or fails every lookup.
struct Blind {
    inner: MemoryLedger,
    failing: bool,
}

impl ConsentLedger for Blind {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        self.inner.append(record)
    }

    fn history<'a>(&'a self, consent_id: &'a str) -> RecordsFuture<'a> {
        if self.failing {
            Box::pin(async { Err(LedgerError::Closed) })
        } else {
            let _ = consent_id;
            Box::pin(async { Err(LedgerError::Unsupported("history")) })
        }
    }
}

#[tokio::test]
async fn a_ledger_that_cannot_answer_says_so() {
    for (failing, status) in [
        (false, StatusCode::NOT_IMPLEMENTED),
        (true, StatusCode::SERVICE_UNAVAILABLE),
    ] {
        let layer = layer(
            Blind {
                inner: MemoryLedger::new(),
                failing,
            },
            ManualClock::new(NOW),
        );
        let visitor = client(&layer);
        visitor
            .post_json("/consent", r#"{"action":"reject_all"}"#)
            .await;
        let reply = visitor.get("/consent/records").await;
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("retry-after").is_some(), failing);
    }
}

async fn drain(ledger: &MemoryLedger, period: Period, format: ExportFormat) -> String {
    let mut stream = format.encode_stream(ledger.export(period));
    let mut out = Vec::new();
    while let Some(chunk) = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut stream), cx)
    })
    .await
    {
        out.extend_from_slice(&chunk.unwrap());
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn exports_daily_figures_and_pruning_of_a_period() {
    let ledger = MemoryLedger::new();
    let clock = ManualClock::new(NOW);
    let layer = layer(ledger.clone(), clock.clone());
    for day in 0..3 {
        for action in ["accept_all", "reject_all", "reject_all"] {
            client(&layer)
                .post_json("/consent", &format!(r#"{{"action":"{action}"}}"#))
                .await;
        }
        if day < 2 {
            clock.advance(std::time::Duration::from_secs(86_400));
        }
    }
    let first = Day::of(NOW);
    let second = first.next();
    let two_days = Period::days(first, second);

    let csv = drain(&ledger, two_days, ExportFormat::Csv).await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 6, "a header and the two days' decisions");
    assert!(lines[0].starts_with("time,time_utc,consent_id"));
    let jsonl = drain(&ledger, Period::ALL, ExportFormat::JsonLines).await;
    assert_eq!(jsonl.lines().count(), 9);
    for line in jsonl.lines() {
        serde_json::from_str::<LedgerRecord>(line).unwrap();
    }

    let stats = ledger.daily_stats(Period::ALL).await.unwrap();
    assert_eq!(stats.len(), 3);
    assert_eq!(stats[0].day, first);
    assert_eq!(
        (stats[0].decisions, stats[0].accept_all, stats[0].reject_all),
        (3, 1, 2)
    );
    assert_eq!(stats[0].categories["analytics"].granted, 1);
    assert_eq!(stats[0].categories["analytics"].denied, 2);

    let removed = ledger.prune(second.start()).await.unwrap();
    assert_eq!(removed, 3, "the first day's records");
    assert!(ledger.records().iter().all(|r| r.time >= second.start()));
}
