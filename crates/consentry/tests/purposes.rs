//! Consent to purposes beyond cookies: recorded with proof, read back from the ledger,
//! withdrawn as easily as given, refused for unknown purposes and non-opaque subjects.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use consentry::ledger::{
    ConsentLedger, JsonlLedger, LedgerError, LedgerFuture, LedgerRecord, MemoryLedger,
    RecordsFuture, Source,
};
use consentry::testing::Client;
use consentry::{
    ConfigError, Consent, ConsentConfig, Consentry, ConsentryLayer, Key, Keyring, ManualClock,
    Policy, PurposeChange, PurposeDef, PurposeError, Purposes,
};
use http::{Request, Response};
use http_body_util::Full;
use tower::{Layer, service_fn};

const OFFERS: &str = "email_marketing";

fn policy() -> Policy {
    Policy::new(2).purpose(PurposeDef::new(
        OFFERS,
        "Offers by email",
        "Our offers by email, twice a month.",
    ))
}

fn layer(ledger: impl ConsentLedger) -> ConsentryLayer {
    Consentry::builder(Keyring::new(1, Key::from_bytes(&[9; 32]).unwrap()))
        .consent(ConsentConfig::new(policy()).ledger(ledger))
        .clock(ManualClock::new(1_800_000_000))
        .dev_cookies(true)
        .build()
        .unwrap()
}

fn purposes(ledger: impl ConsentLedger) -> Purposes {
    layer(ledger).purposes().unwrap()
}

#[tokio::test]
async fn a_decision_is_proven_read_back_and_withdrawn_the_same_way() {
    let ledger = MemoryLedger::new();
    let purposes = purposes(ledger.clone());
    assert_eq!(purposes.current("account-1", OFFERS).await.unwrap(), None);
    assert!(
        !purposes.allows("account-1", OFFERS).await.unwrap(),
        "never deciding is no"
    );

    let given = purposes
        .decide(PurposeChange::new("account-1", OFFERS, true))
        .await
        .unwrap();
    assert!(given.granted && given.recorded);
    assert_eq!((given.time, given.revision), (1_800_000_000, 2));
    assert!(purposes.allows("account-1", OFFERS).await.unwrap());
    assert!(
        !purposes.allows("account-2", OFFERS).await.unwrap(),
        "one account's choice only"
    );

    let withdrawn = purposes
        .decide(PurposeChange::new("account-1", OFFERS, false).source(Source::Api))
        .await
        .unwrap();
    assert!(!withdrawn.granted && withdrawn.recorded);
    assert!(!purposes.allows("account-1", OFFERS).await.unwrap());

    let records = ledger.records();
    assert_eq!(records.len(), 2);
    let last = &records[1];
    assert_eq!(last.purpose.as_deref(), Some(OFFERS));
    assert_eq!(last.subject.as_deref(), Some("account-1"));
    assert_eq!(
        (last.granted.len(), last.denied.as_slice()),
        (0, [OFFERS.to_owned()].as_slice())
    );
    assert_eq!(last.source, Source::Api);
    assert!(last.consent_id.is_empty(), "not linked to a browser");
    let json = serde_json::to_string(last).unwrap();
    assert!(
        json.contains(r#""purpose":"email_marketing""#)
            && json.contains(r#""subject":"account-1""#)
    );
    assert_eq!(purposes.history("account-1").await.unwrap(), records);
}

#[tokio::test]
async fn the_same_decision_again_adds_no_record() {
    let ledger = MemoryLedger::new();
    let purposes = purposes(ledger.clone());
    for _ in 0..3 {
        purposes
            .decide(PurposeChange::new("account-1", OFFERS, false))
            .await
            .unwrap();
    }
    let again = purposes
        .decide(PurposeChange::new("account-1", OFFERS, false))
        .await
        .unwrap();
    assert!(!again.recorded);
    assert_eq!(ledger.records().len(), 1);
}

#[tokio::test]
async fn unknown_purposes_and_email_subjects_are_refused_and_nothing_recorded() {
    let ledger = MemoryLedger::new();
    let purposes = purposes(ledger.clone());
    let unknown = purposes
        .decide(PurposeChange::new("account-1", "sms_marketing", true))
        .await;
    assert!(matches!(unknown, Err(PurposeError::UnknownPurpose(p)) if p == "sms_marketing"));
    let email = purposes
        .decide(PurposeChange::new("demo@example.com", OFFERS, true))
        .await;
    assert!(matches!(email, Err(PurposeError::InvalidSubject)));
    assert!(matches!(
        purposes.history("").await,
        Err(PurposeError::InvalidSubject)
    ));
    assert!(ledger.records().is_empty());
}

/// A ledger that can be made to fail, for reads and writes alike.
#[derive(Clone, Default)]
struct FlakyLedger {
    failing: Arc<AtomicBool>,
    inner: MemoryLedger,
}

impl FlakyLedger {
    fn down(&self) -> bool {
        self.failing.load(Ordering::SeqCst)
    }
}

impl ConsentLedger for FlakyLedger {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        if self.down() {
            Box::pin(async { Err(LedgerError::Io(std::io::Error::other("disk full"))) })
        } else {
            self.inner.append(record)
        }
    }

    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        if self.down() {
            Box::pin(async { Err(LedgerError::Closed) })
        } else {
            self.inner.subject_history(subject)
        }
    }
}

#[tokio::test]
async fn a_ledger_outage_is_an_error_and_changes_nothing() {
    let ledger = FlakyLedger::default();
    let purposes = purposes(ledger.clone());
    purposes
        .decide(PurposeChange::new("account-1", OFFERS, true))
        .await
        .unwrap();
    ledger.failing.store(true, Ordering::SeqCst);
    let withdraw = purposes
        .decide(PurposeChange::new("account-1", OFFERS, false))
        .await;
    assert!(
        matches!(withdraw, Err(PurposeError::Ledger(_))),
        "{withdraw:?}"
    );
    assert!(matches!(
        purposes.allows("account-1", OFFERS).await,
        Err(PurposeError::Ledger(_))
    ));
    ledger.failing.store(false, Ordering::SeqCst);
    assert!(
        purposes.allows("account-1", OFFERS).await.unwrap(),
        "the standing decision is the recorded one"
    );
    purposes
        .decide(PurposeChange::new("account-1", OFFERS, false))
        .await
        .unwrap();
    assert!(
        !purposes.allows("account-1", OFFERS).await.unwrap(),
        "recovers without a restart"
    );
}

/// Only `append`: lookups are not supported.
struct AppendOnly(MemoryLedger);

impl ConsentLedger for AppendOnly {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        self.0.append(record)
    }
}

#[tokio::test]
async fn a_ledger_without_lookups_still_records_and_says_it_cannot_read() {
    let inner = MemoryLedger::new();
    let purposes = purposes(AppendOnly(inner.clone()));
    purposes
        .decide(PurposeChange::new("account-1", OFFERS, true))
        .await
        .unwrap();
    assert_eq!(inner.records().len(), 1);
    let read = purposes.current("account-1", OFFERS).await;
    assert!(
        matches!(
            read,
            Err(PurposeError::Ledger(LedgerError::Unsupported(
                "subject_history"
            )))
        ),
        "{read:?}"
    );
}

#[tokio::test]
async fn a_decision_made_in_a_browser_is_among_that_browsers_records() {
    let ledger = MemoryLedger::new();
    let layer = layer(ledger.clone());
    let purposes = layer.purposes().unwrap();
    // The app records the purpose from a request, linking the browser.
    let app = layer.layer(service_fn(move |request: Request<Full<Bytes>>| {
        let purposes = purposes.clone();
        async move {
            let consent = request.extensions().get::<Consent>().cloned().unwrap();
            let decision = purposes
                .decide(PurposeChange::new("account-9", OFFERS, true).browser(&consent))
                .await
                .unwrap();
            Ok::<_, Infallible>(Response::new(decision.granted.to_string()))
        }
    }));
    let client = Client::new(app);
    let decided = client
        .post_json("/consent", r#"{"action":"reject_all"}"#)
        .await;
    let id = decided.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        client
            .post_form("/account/offers", "offers=yes")
            .await
            .text(),
        "true"
    );

    let browser = ledger.history(&id).await.unwrap();
    assert_eq!(
        browser.len(),
        2,
        "the cookie decision and the purpose decision"
    );
    assert!(!browser[0].is_purpose() && browser[1].is_purpose());
    assert_eq!(browser[1].subject.as_deref(), Some("account-9"));
    assert!(
        browser[0].granted.iter().all(|c| c != OFFERS)
            && browser[0].denied.iter().all(|c| c != OFFERS),
        "a purpose is no cookie category: the banner never decides it"
    );
}

#[tokio::test]
async fn decisions_survive_a_restart_with_the_jsonl_ledger() {
    let dir = std::env::temp_dir().join(format!("consentry-purposes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("ledger.jsonl");
    {
        let purposes = purposes(JsonlLedger::open(&path).unwrap());
        purposes
            .decide(PurposeChange::new("account-1", OFFERS, true))
            .await
            .unwrap();
    }
    let purposes = purposes(JsonlLedger::open(&path).unwrap());
    assert!(purposes.allows("account-1", OFFERS).await.unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_purpose_must_be_a_valid_new_id_with_a_label() {
    let build = |policy: Policy| {
        Consentry::builder(Keyring::new(1, Key::generate()))
            .consent(ConsentConfig::new(policy).ledger(MemoryLedger::new()))
            .build()
            .map(|_| ())
    };
    for (policy, why) in [
        (
            Policy::new(1).purpose(PurposeDef::new("Email Offers", "Offers", "…")),
            "not an id",
        ),
        (
            Policy::new(1).purpose(PurposeDef::new("analytics", "Offers", "…")),
            "a category's id",
        ),
        (
            Policy::new(1)
                .purpose(PurposeDef::new("news", "News", "…"))
                .purpose(PurposeDef::new("news", "News again", "…")),
            "twice",
        ),
        (
            Policy::new(1).purpose(PurposeDef::new("news", " ", "…")),
            "no label",
        ),
    ] {
        let error = build(policy).unwrap_err();
        assert!(
            matches!(
                &error,
                ConfigError::Invalid {
                    setting: "purpose",
                    ..
                }
            ),
            "{why}: {error:?}"
        );
    }
    assert!(build(policy()).is_ok());
}
