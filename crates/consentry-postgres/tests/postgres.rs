//! `PgStore` and `PgLedger` against a real PostgreSQL cluster that each test starts on a
//! free port: the store contract's conformance suite, the ledger's records against the
//! in-memory ledger's, group commit, and a layer riding out a database outage.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use consentry::ledger::{
    ConsentLedger, DailyTally, Day, LedgerRecord, MemoryLedger, Period, Source,
};
use consentry::testing::Client;
use consentry::{
    Clock, ConsentConfig, Consentry, ConsentryService, Key, Keyring, Policy, Session,
    SessionConfig, SessionError, SystemClock,
};
use consentry_postgres::testing::PgServer;
use consentry_postgres::{Error, Postgres};
use consentry_store::{Changes, Record, SessionKey, SessionStore, conformance};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::util::ServiceFn;
use tower::{Layer as _, service_fn};

async fn connect(server: &PgServer) -> Postgres {
    Postgres::builder(&server.url())
        .timeout(Duration::from_millis(800))
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_passes_the_conformance_suite_merges_and_sweeps() {
    let server = PgServer::start();
    let db = connect(&server).await;
    // Connecting again finds the schema in place.
    let again = connect(&server).await;
    let store = db.store();
    conformance::run(&store, SystemClock.now()).await;
    conformance::run(&again.store(), SystemClock.now() + 1).await;

    // Concurrent writers of different keys all persist.
    let key = SessionKey::from_digest([0x5A; 32]);
    store
        .create(&key, &Record::new(), SystemClock.now() + 600)
        .await
        .unwrap();
    let writes: Vec<_> = (0..50)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut changes = Changes::default();
                changes.insert(format!("k{n}"), format!("{n}"));
                store
                    .update(&key, &changes, SystemClock.now() + 600)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for write in writes {
        assert!(write.await.unwrap());
    }
    assert_eq!(store.load(&key).await.unwrap().unwrap().len(), 50);

    // Expired sessions are swept.
    let old = SessionKey::from_digest([0x0D; 32]);
    store
        .create(&old, &Record::from([("a", "1")]), SystemClock.now() - 5)
        .await
        .unwrap();
    assert!(store.sweep().await.unwrap() >= 1);
}

fn record(n: u64, consent_id: &str, granted: &[&str], denied: &[&str]) -> LedgerRecord {
    let mut line = serde_json::json!({
        "consent_id": consent_id,
        "time": 1_800_000_000 + n * 3_600,
        "granted": granted,
        "denied": denied,
        "revision": 2,
        "source": if n.is_multiple_of(2) { "banner" } else { "form" },
        "gpc": n.is_multiple_of(3),
    });
    if n.is_multiple_of(5) {
        line["ip"] = "203.0.113.0/24".into();
    }
    serde_json::from_value(line).unwrap()
}

fn purpose(n: u64, subject: &str, granted: bool) -> LedgerRecord {
    let name = ["email_marketing"];
    let (g, d): (&[&str], &[&str]) = if granted { (&name, &[]) } else { (&[], &name) };
    let mut record = record(n, "", g, d);
    record.purpose = Some("email_marketing".into());
    record.subject = Some(subject.into());
    record
}

/// The same records, two ways: every query of the ledger must agree with the in-memory one.
fn sample() -> Vec<LedgerRecord> {
    let mut records = Vec::new();
    for n in 0..120 {
        let id = format!("{:032x}", n % 7);
        let (granted, denied): (&[&str], &[&str]) = match n % 4 {
            0 => (&["necessary", "preferences", "analytics", "marketing"], &[]),
            1 => (&["necessary"], &["preferences", "analytics", "marketing"]),
            2 => (&["necessary", "analytics"], &["preferences", "marketing"]),
            _ => (&["necessary", "marketing"], &["preferences", "analytics"]),
        };
        records.push(record(n, &id, granted, denied));
        if n.is_multiple_of(10) {
            records.push(purpose(
                n,
                &format!("account-{}", n % 3),
                n.is_multiple_of(20),
            ));
        }
    }
    records
}

async fn collect(ledger: &dyn ConsentLedger, period: Period) -> Vec<LedgerRecord> {
    let mut stream = ledger.export(period);
    let mut out = Vec::new();
    while let Some(record) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(stream.as_mut(), cx)).await
    {
        out.push(record.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ledger_answers_every_query_as_the_memory_ledger_does() {
    let server = PgServer::start();
    let db = connect(&server).await;
    let ledger = db.ledger_builder().keep_forever().build();
    let memory = MemoryLedger::new();
    // Group commit: everything appended at once, acknowledged after its commit.
    let records = sample();
    let appends: Vec<_> = records
        .iter()
        .map(|record| {
            let ledger = ledger.clone();
            let record = record.clone();
            tokio::spawn(async move { ledger.append(&record).await })
        })
        .collect();
    for append in appends {
        append.await.unwrap().unwrap();
    }
    for record in &records {
        memory.append(record).await.unwrap();
    }

    let id = format!("{:032x}", 3);
    let mut theirs = ledger.history(&id).await.unwrap();
    let mine = memory.history(&id).await.unwrap();
    theirs.sort_by_key(|r| r.time);
    assert_eq!(theirs, mine, "history of one consent id");
    assert!(ledger.history("").await.unwrap().is_empty());
    let mut subject = ledger.subject_history("account-0").await.unwrap();
    subject.sort_by_key(|r| r.time);
    assert_eq!(subject, memory.subject_history("account-0").await.unwrap());

    let first = Day::of(1_800_000_000);
    let period = Period::days(first.next(), first.next().next());
    let exported = collect(&ledger, period).await;
    let expected = collect(&memory, period).await;
    assert_eq!(exported.len(), expected.len());
    assert!(!exported.is_empty());
    let mut sorted = exported.clone();
    sorted.sort_by_key(|r| r.time);
    assert_eq!(exported, sorted, "oldest first");

    let stats = ledger.daily_stats(Period::ALL).await.unwrap();
    let mut tally = DailyTally::default();
    for record in &records {
        tally.add(record);
    }
    assert_eq!(stats, tally.finish(), "daily figures computed in SQL agree");

    let cutoff = first.next().start();
    let removed = ledger.prune(cutoff).await.unwrap();
    assert_eq!(removed, memory.prune(cutoff).await.unwrap());
    assert_eq!(
        collect(&ledger, Period::ALL).await.len(),
        collect(&memory, Period::ALL).await.len()
    );
}

/// A bare app: `/login`, `/account` need the session; `/static` needs neither.
async fn app(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let session = request
        .extensions()
        .get::<Session>()
        .cloned()
        .expect("layer");
    let answer: Result<(StatusCode, String), SessionError> = async {
        Ok(match request.uri().path() {
            "/login" => {
                session.cycle_id().await?;
                session.insert("user", "demo").await?;
                (StatusCode::SEE_OTHER, String::new())
            }
            "/account" => match session.get::<String>("user").await? {
                Some(user) => (StatusCode::OK, user),
                None => (StatusCode::SEE_OTHER, String::new()),
            },
            _ => (StatusCode::OK, "static".to_owned()),
        })
    }
    .await;
    let (status, body) =
        answer.unwrap_or_else(|error| (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()));
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

type AppFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>,
>;
type App = ConsentryService<ServiceFn<fn(Request<Full<Bytes>>) -> AppFuture>>;

fn boxed(request: Request<Full<Bytes>>) -> AppFuture {
    Box::pin(app(request))
}

fn instance(db: &Postgres) -> Client<App> {
    let layer = Consentry::builder(Keyring::new(1, Key::from_bytes(&[12; 32]).unwrap()))
        .session(SessionConfig::new(db.store()))
        .consent(ConsentConfig::new(Policy::new(1)).ledger(db.ledger()))
        .build()
        .unwrap();
    Client::new(layer.layer(service_fn(boxed as fn(_) -> _)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_503_for_what_needs_the_database_and_recovers_without_restart() {
    let mut server = PgServer::start();
    let db = connect(&server).await;
    let visitor = instance(&db);
    assert_eq!(
        visitor.post_form("/login", "").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(visitor.get("/account").await.status, StatusCode::OK);
    let decided = visitor
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    assert_eq!(decided.status, StatusCode::OK);

    server.stop();
    let started = std::time::Instant::now();
    let account = visitor.get("/account").await;
    assert_eq!(account.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(account.header("retry-after").is_some());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded: {:?}",
        started.elapsed()
    );
    assert_eq!(
        visitor.get("/static").await.status,
        StatusCode::OK,
        "pages without the session work"
    );
    let grant = visitor
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    assert_eq!(
        grant.status,
        StatusCode::OK,
        "the same decision again needs no record"
    );
    let deny = visitor
        .post_json("/consent", r#"{"action":"reject_all"}"#)
        .await;
    assert_eq!(
        deny.status,
        StatusCode::OK,
        "a denial is applied without the ledger"
    );
    let regrant = visitor
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    assert_eq!(
        regrant.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "an unproven grant is refused"
    );
    let state = visitor.get("/consent").await.json();
    assert_eq!(
        state["granted"].as_array().unwrap().len(),
        1,
        "only necessary: {state}"
    );

    server.restart();
    let mut recovered = false;
    for _ in 0..50 {
        if visitor.get("/account").await.status == StatusCode::OK {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "sessions come back with the database");
    let regrant = visitor
        .post_json("/consent", r#"{"action":"accept_all"}"#)
        .await;
    assert_eq!(regrant.status, StatusCode::OK, "grants are proven again");
    let records = db
        .ledger()
        .history(regrant.json()["id"].as_str().unwrap())
        .await
        .unwrap();
    let sources: Vec<Source> = records.iter().map(|r| r.source).collect();
    assert_eq!(
        records.len(),
        2,
        "the first grant and the one after recovery: {sources:?}"
    );
}

#[tokio::test]
async fn bad_settings_and_an_unreachable_database_are_clear_errors() {
    assert!(matches!(
        Postgres::builder("not a url").connect().await,
        Err(Error::InvalidUrl(_))
    ));
    assert!(matches!(
        Postgres::builder("postgres://x@127.0.0.1/x")
            .timeout(Duration::ZERO)
            .connect()
            .await,
        Err(Error::Invalid {
            setting: "timeout",
            ..
        })
    ));
    // Nothing listens there: no server of this process is given the port.
    let port = consentry_store::servers::free_port();
    let started = std::time::Instant::now();
    let refused = Postgres::builder(&format!("postgres://x@127.0.0.1:{port}/x"))
        .timeout(Duration::from_millis(300))
        .connect()
        .await;
    assert!(matches!(refused, Err(Error::Unavailable(_))), "{refused:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_old_records_at_start() {
    let server = PgServer::start();
    let db = connect(&server).await;
    let now = SystemClock.now();
    let keep = db.ledger_builder().keep_forever().build();
    for (n, age_days) in [(0, 40), (1, 20), (2, 1)] {
        let mut old = record(n, &format!("{n:032x}"), &["necessary"], &["analytics"]);
        old.time = now - age_days * 86_400;
        keep.append(&old).await.unwrap();
    }
    // A ledger built with a 30-day retention prunes as it starts.
    let _pruning = db
        .ledger_builder()
        .retention(Duration::from_secs(30 * 86_400))
        .build();
    let mut left = 3;
    for _ in 0..50 {
        left = collect(&keep, Period::ALL).await.len();
        if left == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left, 2, "the 40-day-old record went, the others stayed");
}
