//! Proof of consent (GDPR Art. 7(1)): every decision appended to a [`ConsentLedger`].

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod day;
mod jsonl;
mod records;
pub use crate::error::LedgerError;
pub use day::{Day, utc_time};
pub use jsonl::{JsonlLedger, JsonlLedgerBuilder};
pub(crate) use records::Lookup;
pub use records::{
    DailyTally, DayStats, EncodedStream, ExportFormat, Period, PruneFuture, RecordStream,
    RecordsFuture, StatsFuture, Tally,
};

/// How long records are kept by default: three years after a decision made under the
/// default lifetime ([`Policy::DEFAULT_MAX_AGE`](crate::Policy::DEFAULT_MAX_AGE), 182 days)
/// ran out, about 3½ years in all.
///
/// A record proves a decision while someone could question what the decision allowed;
/// three years is the regular limitation period for claims in several member states (for
/// example Germany, § 195 BGB). After that the record is personal data (a consent id, a
/// truncated address) kept for no purpose. Set your own with the retention setting of
/// your ledger, as your counsel advises.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs((3 * 365 + 182) * 86_400);

/// Where a decision came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Source {
    /// The JavaScript/WASM banner.
    Banner,
    /// The server-rendered form (no JavaScript).
    Form,
    /// A direct API call.
    Api,
}

impl Source {
    /// Its name as the ledger writes it: `banner`, `form` or `api`.
    ///
    /// ```
    /// assert_eq!(consentry::ledger::Source::Form.as_str(), "form");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Banner => "banner",
            Self::Form => "form",
            Self::Api => "api",
        }
    }
}

/// One decision, as proven in the ledger. No account data, no raw IP.
///
/// Two kinds share this shape. A **cookie decision** (from the banner, the form or the
/// endpoint's API) has `purpose` and `subject` absent and lists every category of the
/// policy as granted or denied. A **purpose decision** ([`Purposes`](crate::Purposes)) names
/// its `purpose` and the `subject` (the app's opaque account id) and lists that one purpose
/// as granted or denied; its `consent_id` is the browser's consent id when the app linked
/// it, otherwise empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LedgerRecord {
    /// The random consent id of the browser (hex).
    pub consent_id: String,
    /// When, in unix seconds.
    pub time: u64,
    /// Categories granted, `necessary` included.
    pub granted: Vec<String>,
    /// Categories denied.
    pub denied: Vec<String>,
    /// The policy revision shown.
    pub revision: u32,
    /// Where the decision came from.
    pub source: Source,
    /// Whether Global Privacy Control was on.
    pub gpc: bool,
    /// The truncated IP address, only when enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// For a purpose decision: the purpose decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// For a purpose decision: the account it is for, as the app's opaque id (never an
    /// email address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

impl LedgerRecord {
    /// Whether this is a purpose decision (see [`Purposes`](crate::Purposes)).
    pub fn is_purpose(&self) -> bool {
        self.purpose.is_some()
    }

    /// Whether this record grants `name` (a category, or the purpose it decides).
    ///
    /// ```
    /// use consentry::ledger::LedgerRecord;
    ///
    /// let line = r#"{"consent_id":"","time":0,"granted":["necessary"],"denied":["analytics"],
    ///     "revision":1,"source":"form","gpc":false}"#;
    /// let record: LedgerRecord = serde_json::from_str(line).unwrap();
    /// assert!(record.grants("necessary") && !record.grants("analytics"));
    /// ```
    pub fn grants(&self, name: &str) -> bool {
        self.granted.iter().any(|granted| granted == name)
    }
}

/// The future [`ConsentLedger::append`] returns.
pub type LedgerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), LedgerError>> + Send + 'a>>;

/// Durable storage for consent decisions, and the records it holds.
///
/// `append` must resolve only once the record is durable: the decision is applied after
/// it. The queries answer with records in the order they were appended. A ledger that
/// cannot answer a query keeps the default, which fails with
/// [`LedgerError::Unsupported`] ([`ConsentLedger::daily_stats`] defaults to counting
/// [`ConsentLedger::export`]); [`Purposes`](crate::Purposes) needs
/// [`ConsentLedger::subject_history`], the endpoint's `GET /consent/records`
/// [`ConsentLedger::history`].
pub trait ConsentLedger: Send + Sync + 'static {
    /// Appends one record.
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a>;

    /// Every record of one browser's consent id, oldest first.
    fn history<'a>(&'a self, consent_id: &'a str) -> RecordsFuture<'a> {
        let _ = consent_id;
        Box::pin(std::future::ready(Err(LedgerError::Unsupported("history"))))
    }

    /// Every purpose decision for one subject (the app's account id), oldest first.
    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        let _ = subject;
        Box::pin(std::future::ready(Err(LedgerError::Unsupported(
            "subject_history",
        ))))
    }

    /// Every record of `period`, oldest first, as a stream (encode it for download with
    /// [`ExportFormat::encode_stream`]).
    fn export(&self, period: Period) -> RecordStream {
        let _ = period;
        records::failed(LedgerError::Unsupported("export"))
    }

    /// The decisions of each day of `period` that has any, oldest first. By default,
    /// counted from [`ConsentLedger::export`].
    fn daily_stats(&self, period: Period) -> StatsFuture<'_> {
        Box::pin(async move {
            let mut records = self.export(period);
            let mut tally = DailyTally::default();
            while let Some(record) = records::next(&mut records).await {
                tally.add(&record?);
            }
            Ok(tally.finish())
        })
    }

    /// Deletes records older than `before` (unix seconds) and says how many went: the
    /// retention of the proof. A ledger may delete in coarser units (the JSONL ledger by
    /// whole files), never a record at or after `before`.
    fn prune(&self, before: u64) -> PruneFuture<'_> {
        let _ = before;
        Box::pin(std::future::ready(Err(LedgerError::Unsupported("prune"))))
    }
}

impl<L: ConsentLedger + ?Sized> ConsentLedger for Arc<L> {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        (**self).append(record)
    }

    fn history<'a>(&'a self, consent_id: &'a str) -> RecordsFuture<'a> {
        (**self).history(consent_id)
    }

    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        (**self).subject_history(subject)
    }

    fn export(&self, period: Period) -> RecordStream {
        (**self).export(period)
    }

    fn daily_stats(&self, period: Period) -> StatsFuture<'_> {
        (**self).daily_stats(period)
    }

    fn prune(&self, before: u64) -> PruneFuture<'_> {
        (**self).prune(before)
    }
}

/// A ledger in memory, for tests. Clones share the records.
///
/// ```
/// use consentry::ledger::MemoryLedger;
///
/// let ledger = MemoryLedger::new();
/// let seen_by_test = ledger.clone();
/// assert!(seen_by_test.records().is_empty());
/// # let _ = ledger;
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryLedger {
    records: Arc<Mutex<Vec<LedgerRecord>>>,
}

impl MemoryLedger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every record so far.
    pub fn records(&self) -> Vec<LedgerRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn find(&self, keep: impl Fn(&LedgerRecord) -> bool) -> Vec<LedgerRecord> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|record| keep(record))
            .cloned()
            .collect()
    }
}

impl ConsentLedger for MemoryLedger {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record.clone());
        Box::pin(std::future::ready(Ok(())))
    }

    fn history<'a>(&'a self, consent_id: &'a str) -> RecordsFuture<'a> {
        let found = self.find(|record| Lookup::ConsentId(consent_id).matches(record));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        let found = self.find(|record| Lookup::Subject(subject).matches(record));
        Box::pin(std::future::ready(Ok(found)))
    }

    fn export(&self, period: Period) -> RecordStream {
        let found = self.find(|record| period.contains(record.time));
        Box::pin(records::BufferedRecords(found.into()))
    }

    fn prune(&self, before: u64) -> PruneFuture<'_> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let was = records.len();
        records.retain(|record| record.time >= before);
        let removed = (was - records.len()) as u64;
        Box::pin(std::future::ready(Ok(removed)))
    }
}

/// The visitor's IP address, for apps that want it (truncated) in the ledger: insert it as
/// a request extension before the layer, and enable
/// [`ConsentConfig::record_truncated_ip`](crate::ConsentConfig::record_truncated_ip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// An address reduced to its network: /24 for IPv4, /48 for IPv6.
///
/// ```
/// use consentry::ledger::truncate_ip;
///
/// assert_eq!(truncate_ip("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
/// assert_eq!(truncate_ip("2001:db8:aa:bb::1".parse().unwrap()), "2001:db8:aa::/48");
/// ```
pub fn truncate_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let network = std::net::Ipv6Addr::new(s[0], s[1], s[2], 0, 0, 0, 0, 0);
            format!("{network}/48")
        }
    }
}
