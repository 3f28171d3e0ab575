//! Reading the proof back: lookups, periods, daily figures and exports.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::{Day, LedgerError, LedgerRecord, utc_time};

/// The future the record lookups of [`ConsentLedger`](super::ConsentLedger) return.
pub type RecordsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<LedgerRecord>, LedgerError>> + Send + 'a>>;

/// Records one after another, from [`ConsentLedger::export`](super::ConsentLedger::export).
/// It owns what it needs (no borrow of the ledger), so it can be a response body.
pub type RecordStream = Pin<Box<dyn Stream<Item = Result<LedgerRecord, LedgerError>> + Send>>;

/// The future of [`ConsentLedger::daily_stats`](super::ConsentLedger::daily_stats).
pub type StatsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<DayStats>, LedgerError>> + Send + 'a>>;

/// The future of [`ConsentLedger::prune`](super::ConsentLedger::prune): how many records
/// were deleted.
pub type PruneFuture<'a> = Pin<Box<dyn Future<Output = Result<u64, LedgerError>> + Send + 'a>>;

/// A span of time in unix seconds: `from` included, `until` excluded.
///
/// ```
/// use consentry::ledger::{Day, Period};
///
/// let november = Period::days(Day::parse("2026-11-01").unwrap(), Day::parse("2026-11-30").unwrap());
/// assert!(november.contains(Day::parse("2026-11-30").unwrap().start() + 86_399));
/// assert!(!november.contains(Day::parse("2026-12-01").unwrap().start()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// The first second in it.
    pub from: u64,
    /// The first second after it.
    pub until: u64,
}

impl Period {
    /// Every record, whenever.
    pub const ALL: Self = Self {
        from: 0,
        until: u64::MAX,
    };

    /// From the start of `first` to the end of `last`, both included.
    pub fn days(first: Day, last: Day) -> Self {
        Self {
            from: first.start(),
            until: last.next().start(),
        }
    }

    /// Whether `time` falls in it.
    pub fn contains(&self, time: u64) -> bool {
        self.from <= time && time < self.until
    }
}

/// Which records a lookup wants.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lookup<'a> {
    /// Every record of a browser's consent id.
    ConsentId(&'a str),
    /// Every purpose decision of an account.
    Subject(&'a str),
}

impl Lookup<'_> {
    pub(crate) fn matches(&self, record: &LedgerRecord) -> bool {
        match *self {
            // An empty id is "not linked", never a key to look up.
            Lookup::ConsentId(id) => !id.is_empty() && record.consent_id == id,
            Lookup::Subject(subject) => record.subject.as_deref() == Some(subject),
        }
    }

    /// The text a matching record's JSON line must contain, to skip parsing the others.
    pub(crate) fn needle(&self) -> &str {
        match *self {
            Lookup::ConsentId(id) | Lookup::Subject(id) => id,
        }
    }
}

/// How often something was granted and denied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Granted.
    pub granted: u64,
    /// Denied.
    pub denied: u64,
}

impl Tally {
    /// The share granted, 0.0 to 1.0; `None` with no decision.
    #[allow(clippy::cast_precision_loss, reason = "a share for display")]
    pub fn rate(&self) -> Option<f64> {
        let total = self.granted + self.denied;
        (total > 0).then(|| self.granted as f64 / total as f64)
    }
}

/// The decisions of one day (UTC).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DayStats {
    /// The day.
    pub day: Day,
    /// Cookie decisions recorded.
    pub decisions: u64,
    /// Of those, how many came with Global Privacy Control.
    pub gpc: u64,
    /// Of those, how many granted every category.
    pub accept_all: u64,
    /// Of those, how many granted nothing beyond `necessary`.
    pub reject_all: u64,
    /// Per cookie category, granted and denied.
    pub categories: BTreeMap<String, Tally>,
    /// Per purpose ([`Purposes`](crate::Purposes)), granted and denied.
    pub purposes: BTreeMap<String, Tally>,
}

impl DayStats {
    /// A day with nothing counted yet, for ledgers that aggregate on their own.
    pub fn new(day: Day) -> Self {
        Self {
            day,
            decisions: 0,
            gpc: 0,
            accept_all: 0,
            reject_all: 0,
            categories: BTreeMap::new(),
            purposes: BTreeMap::new(),
        }
    }
}

/// Daily figures built record by record: what [`ConsentLedger::daily_stats`](super::ConsentLedger::daily_stats)
/// does by default, and what a ledger without its own aggregation can use.
///
/// ```
/// use consentry::ledger::DailyTally;
///
/// let tally = DailyTally::default();
/// assert!(tally.finish().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct DailyTally {
    days: BTreeMap<Day, DayStats>,
}

impl DailyTally {
    /// Counts one record.
    pub fn add(&mut self, record: &LedgerRecord) {
        let day = Day::of(record.time);
        let stats = self.days.entry(day).or_insert_with(|| DayStats::new(day));
        if let Some(purpose) = &record.purpose {
            let tally = stats.purposes.entry(purpose.clone()).or_default();
            if record.grants(purpose) {
                tally.granted += 1;
            } else {
                tally.denied += 1;
            }
            return;
        }
        for category in &record.granted {
            stats
                .categories
                .entry(category.clone())
                .or_default()
                .granted += 1;
        }
        for category in &record.denied {
            stats.categories.entry(category.clone()).or_default().denied += 1;
        }
        stats.decisions += 1;
        stats.gpc += u64::from(record.gpc);
        stats.accept_all += u64::from(record.denied.is_empty());
        stats.reject_all += u64::from(record.granted.iter().all(|c| c == "necessary"));
    }

    /// The days with at least one record, oldest first.
    pub fn finish(self) -> Vec<DayStats> {
        self.days.into_values().collect()
    }
}

/// How records are written out for download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportFormat {
    /// One JSON object per line, as the JSONL ledger stores them.
    JsonLines,
    /// Comma-separated values with a header row; lists joined by spaces.
    Csv,
}

impl ExportFormat {
    /// `jsonl` or `csv`.
    ///
    /// ```
    /// use consentry::ledger::ExportFormat;
    ///
    /// assert_eq!(ExportFormat::parse("csv"), Some(ExportFormat::Csv));
    /// assert_eq!(ExportFormat::parse("xlsx"), None);
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "jsonl" => Some(Self::JsonLines),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }

    /// The media type to send it as.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::JsonLines => "application/jsonl",
            Self::Csv => "text/csv; charset=utf-8",
        }
    }

    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::JsonLines => "jsonl",
            Self::Csv => "csv",
        }
    }

    /// The CSV header row.
    const CSV_HEADER: &'static str =
        "time,time_utc,consent_id,source,revision,gpc,granted,denied,purpose,subject,ip\r\n";

    /// Writes one record (and its line end) to `out`.
    pub fn encode(self, record: &LedgerRecord, out: &mut Vec<u8>) {
        match self {
            Self::JsonLines => {
                // A record always serializes: strings, numbers and lists only.
                if serde_json::to_writer(&mut *out, record).is_ok() {
                    out.push(b'\n');
                }
            }
            Self::Csv => {
                let fields = [
                    record.time.to_string(),
                    utc_time(record.time),
                    record.consent_id.clone(),
                    record.source.as_str().to_owned(),
                    record.revision.to_string(),
                    record.gpc.to_string(),
                    record.granted.join(" "),
                    record.denied.join(" "),
                    record.purpose.clone().unwrap_or_default(),
                    record.subject.clone().unwrap_or_default(),
                    record.ip.clone().unwrap_or_default(),
                ];
                for (index, field) in fields.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    csv_field(field, out);
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }

    /// The records of `records` as a stream of byte chunks in this format (a CSV header
    /// first), ready for a streaming response body.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use consentry::ledger::{ConsentLedger, ExportFormat, MemoryLedger, Period};
    ///
    /// let ledger = MemoryLedger::new();
    /// let body = ExportFormat::Csv.encode_stream(ledger.export(Period::ALL));
    /// # let _ = body;
    /// # }
    /// ```
    pub fn encode_stream(self, records: RecordStream) -> EncodedStream {
        EncodedStream {
            format: self,
            records,
            header_sent: false,
            done: false,
        }
    }
}

/// RFC 4180 quoting, and a leading `'` before what a spreadsheet would run as a formula.
fn csv_field(field: &str, out: &mut Vec<u8>) {
    let formula = field.starts_with(['=', '+', '@', '\t', '\r']);
    let quote = formula || field.contains([',', '"', '\n', '\r']);
    if quote {
        out.push(b'"');
    }
    if formula {
        out.push(b'\'');
    }
    for byte in field.bytes() {
        if byte == b'"' {
            out.push(b'"');
        }
        out.push(byte);
    }
    if quote {
        out.push(b'"');
    }
}

/// Byte chunks of an export ([`ExportFormat::encode_stream`]), about 16 KiB each.
#[must_use = "a stream does nothing unless polled"]
pub struct EncodedStream {
    format: ExportFormat,
    records: RecordStream,
    header_sent: bool,
    done: bool,
}

impl std::fmt::Debug for EncodedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedStream")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Stream for EncodedStream {
    type Item = Result<Bytes, LedgerError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        const CHUNK: usize = 16 * 1024;
        if self.done {
            return Poll::Ready(None);
        }
        let mut out = Vec::new();
        if !self.header_sent {
            self.header_sent = true;
            if self.format == ExportFormat::Csv {
                out.extend_from_slice(ExportFormat::CSV_HEADER.as_bytes());
            }
        }
        while out.len() < CHUNK {
            match self.records.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(record))) => self.format.encode(&record, &mut out),
                Poll::Ready(Some(Err(error))) => {
                    self.done = true;
                    // What was encoded so far is lost with the failed response anyway.
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    self.done = true;
                    break;
                }
                Poll::Pending if out.is_empty() => return Poll::Pending,
                Poll::Pending => break,
            }
        }
        if out.is_empty() {
            Poll::Ready(None)
        } else {
            Poll::Ready(Some(Ok(Bytes::from(out))))
        }
    }
}

/// Records already in memory, as a stream.
pub(crate) struct BufferedRecords(pub(crate) VecDeque<LedgerRecord>);

impl Stream for BufferedRecords {
    type Item = Result<LedgerRecord, LedgerError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

/// A stream of one error.
pub(crate) fn failed(error: LedgerError) -> RecordStream {
    Box::pin(Failed(Some(error)))
}

struct Failed(Option<LedgerError>);

impl Stream for Failed {
    type Item = Result<LedgerRecord, LedgerError>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Err))
    }
}

/// The next item of a stream.
pub(crate) async fn next<S: Stream + Unpin + ?Sized>(stream: &mut S) -> Option<S::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Source;

    fn record(granted: &[&str], denied: &[&str], gpc: bool) -> LedgerRecord {
        LedgerRecord {
            consent_id: "ab".repeat(16),
            time: 1_800_000_000,
            granted: granted.iter().map(|&s| s.to_owned()).collect(),
            denied: denied.iter().map(|&s| s.to_owned()).collect(),
            revision: 2,
            source: Source::Form,
            gpc,
            ip: None,
            purpose: None,
            subject: None,
        }
    }

    #[test]
    fn a_day_counts_accept_all_reject_all_gpc_and_each_category() {
        let mut tally = DailyTally::default();
        tally.add(&record(
            &["necessary", "analytics", "marketing"],
            &[],
            false,
        ));
        tally.add(&record(&["necessary"], &["analytics", "marketing"], true));
        tally.add(&record(&["necessary", "analytics"], &["marketing"], true));
        let mut offers = record(&[], &["email_marketing"], false);
        offers.purpose = Some("email_marketing".into());
        tally.add(&offers);
        let days = tally.finish();
        assert_eq!(days.len(), 1);
        let day = &days[0];
        assert_eq!(day.day.to_string(), "2027-01-15");
        assert_eq!(
            (day.decisions, day.gpc, day.accept_all, day.reject_all),
            (3, 2, 1, 1)
        );
        assert_eq!(
            day.categories["analytics"],
            Tally {
                granted: 2,
                denied: 1
            }
        );
        assert_eq!(
            day.categories["marketing"],
            Tally {
                granted: 1,
                denied: 2
            }
        );
        assert_eq!(
            day.purposes["email_marketing"],
            Tally {
                granted: 0,
                denied: 1
            }
        );
        assert!(!day.categories.contains_key("email_marketing"));
        assert_eq!(day.categories["analytics"].rate(), Some(2.0 / 3.0));
    }

    #[test]
    fn a_source_is_named_as_the_ledger_writes_it() {
        for source in [Source::Banner, Source::Form, Source::Api] {
            assert_eq!(serde_json::to_value(source).unwrap(), source.as_str());
        }
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let mut out = Vec::new();
        for field in ["plain", "a,b", "say \"hi\"", "=HYPERLINK(1)", "-1"] {
            csv_field(field, &mut out);
            out.push(b'|');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"'=HYPERLINK(1)\"|-1|"
        );
        let mut row = Vec::new();
        ExportFormat::Csv.encode(
            &record(&["necessary", "analytics"], &["marketing"], true),
            &mut row,
        );
        assert_eq!(
            String::from_utf8(row).unwrap(),
            format!(
                "1800000000,2027-01-15 08:00:00 UTC,{},form,2,true,necessary analytics,marketing,,,\r\n",
                "ab".repeat(16)
            )
        );
    }
}
