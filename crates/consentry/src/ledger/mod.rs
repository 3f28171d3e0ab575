//! Proof of consent (GDPR Art. 7(1)): every decision appended to a [`ConsentLedger`].

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

mod jsonl;
pub use crate::error::LedgerError;
pub use jsonl::{JsonlLedger, JsonlLedgerBuilder};

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

/// One decision, as proven in the ledger. No account data, no raw IP.
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
}

/// The future [`ConsentLedger::append`] returns.
pub type LedgerFuture<'a> = Pin<Box<dyn Future<Output = Result<(), LedgerError>> + Send + 'a>>;

/// Durable storage for consent decisions. `append` must resolve only once the record is
/// durable: the decision is applied after it.
pub trait ConsentLedger: Send + Sync + 'static {
    /// Appends one record.
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a>;
}

impl<L: ConsentLedger + ?Sized> ConsentLedger for Arc<L> {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        (**self).append(record)
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
}

impl ConsentLedger for MemoryLedger {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(record.clone());
        Box::pin(std::future::ready(Ok(())))
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
