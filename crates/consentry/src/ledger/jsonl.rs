//! The embedded ledger: one JSON object per line, fsynced before a decision is applied.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead as _, BufReader, Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::mpsc;
use std::sync::{Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_channel::oneshot;
use futures_core::Stream;

use super::{
    ConsentLedger, DEFAULT_RETENTION, LedgerFuture, LedgerRecord, Lookup, Period, PruneFuture,
    RecordStream, RecordsFuture,
};
use crate::error::LedgerError;

/// Work for the writer thread, in arrival order.
enum Job {
    /// One serialized record and its line break, acknowledged once synced.
    Append {
        line: Vec<u8>,
        done: oneshot::Sender<io::Result<()>>,
    },
    /// A scan of every file for the records one lookup wants. Done by the writer, so it
    /// sees every acknowledged record and no rotation can move a file under it.
    Scan {
        lookup: OwnedLookup,
        done: oneshot::Sender<io::Result<Vec<LedgerRecord>>>,
    },
    /// Opens every file for an export: what is in them now is what the export reads,
    /// whatever is appended or rotated after.
    Open {
        done: oneshot::Sender<io::Result<Snapshot>>,
    },
    /// Deletes rotated files that hold only records older than `before`.
    Prune {
        before: u64,
        done: oneshot::Sender<io::Result<u64>>,
    },
}

/// A [`Lookup`] the writer thread can own.
enum OwnedLookup {
    ConsentId(String),
    Subject(String),
}

impl OwnedLookup {
    fn borrow(&self) -> Lookup<'_> {
        match self {
            Self::ConsentId(id) => Lookup::ConsentId(id),
            Self::Subject(subject) => Lookup::Subject(subject),
        }
    }
}

/// A JSON-lines file ledger.
///
/// A writer thread appends records and calls `fsync` before acknowledging them; records
/// that arrive while a sync is under way are committed together, so throughput does not
/// collapse under load. When the file passes [`JsonlLedger::open_with_max_bytes`] it is renamed
/// to `<name>.<unix time>.jsonl` and a new file begun. On open, a torn last line (from a
/// crash mid-write, never acknowledged) is cut off.
///
/// Queries ([`ConsentLedger::history`], [`ConsentLedger::subject_history`]) scan every file,
/// rotated ones included, on the writer thread: they see every acknowledged record, and
/// appends wait while a scan runs. That is fine for a site's own lookups at small scale (a
/// 64 MiB file scans in well under a second); a site that looks records up often, or keeps
/// many files, wants a database-backed ledger. An export ([`ConsentLedger::export`]) reads
/// the files as they were when it began, on a thread of its own, without holding up
/// appends; daily figures are counted from it.
///
/// Retention ([`JsonlLedgerBuilder::retention`], default [`DEFAULT_RETENTION`])
/// and [`ConsentLedger::prune`] delete whole rotated files, never the file being written:
/// a record outlives its retention by up to one rotation.
///
/// ```
/// use consentry::ledger::JsonlLedger;
///
/// let dir = std::env::temp_dir().join(format!("consentry-doc-{}", std::process::id()));
/// let ledger = JsonlLedger::open(dir.join("consent-ledger.jsonl"))?;
/// # drop(ledger);
/// # std::fs::remove_dir_all(dir).ok();
/// # Ok::<(), consentry::ledger::LedgerError>(())
/// ```
pub struct JsonlLedger {
    jobs: Mutex<mpsc::Sender<Job>>,
    path: PathBuf,
}

impl std::fmt::Debug for JsonlLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonlLedger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl JsonlLedger {
    /// Default size at which the file is rotated: 64 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;

    /// Opens (or creates, with its directory) the ledger at `path`, rotating at
    /// [`JsonlLedger::DEFAULT_MAX_BYTES`].
    ///
    /// # Errors
    /// [`LedgerError::Io`] when the file cannot be created, repaired or opened.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, LedgerError> {
        Self::open_with_max_bytes(path, Self::DEFAULT_MAX_BYTES)
    }

    /// Like [`JsonlLedger::open`], rotating once the file reaches `max_bytes`.
    ///
    /// # Errors
    /// [`LedgerError::Io`] when the file cannot be created, repaired or opened.
    pub fn open_with_max_bytes(
        path: impl Into<PathBuf>,
        max_bytes: u64,
    ) -> Result<Self, LedgerError> {
        Self::builder(path).max_bytes(max_bytes).open()
    }

    /// Options beyond [`JsonlLedger::open`]: the rotation size and how long rotated files
    /// are kept.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consentry::ledger::JsonlLedger;
    ///
    /// let dir = std::env::temp_dir().join(format!("consentry-doc-retention-{}", std::process::id()));
    /// let ledger = JsonlLedger::builder(dir.join("consent-ledger.jsonl"))
    ///     .max_bytes(16 * 1024 * 1024)
    ///     .retention(Duration::from_secs(3 * 365 * 86_400))
    ///     .open()?;
    /// # drop(ledger);
    /// # std::fs::remove_dir_all(dir).ok();
    /// # Ok::<(), consentry::ledger::LedgerError>(())
    /// ```
    pub fn builder(path: impl Into<PathBuf>) -> JsonlLedgerBuilder {
        JsonlLedgerBuilder {
            path: path.into(),
            max_bytes: Self::DEFAULT_MAX_BYTES,
            retention: Some(DEFAULT_RETENTION),
        }
    }

    fn start(
        path: PathBuf,
        max_bytes: u64,
        retention: Option<Duration>,
    ) -> Result<Self, LedgerError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            fs::create_dir_all(dir)?;
        }
        let file = open_append(&path)?;
        let cut = repair_torn_tail(&file)?;
        if cut > 0 {
            tracing::warn!(bytes = cut, path = %path.display(), "cut a torn last line from the consent ledger");
        }
        let (jobs, queue) = mpsc::channel();
        let writer = Writer {
            file,
            path: path.clone(),
            max_bytes: max_bytes.max(1),
            retention,
        };
        writer.prune();
        std::thread::Builder::new()
            .name("consentry-ledger".into())
            .spawn(move || writer.run(&queue))?;
        Ok(Self {
            jobs: Mutex::new(jobs),
            path,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads every complete record of a ledger file (a torn last line is skipped).
    ///
    /// # Errors
    /// When the file cannot be read or a complete line is not a record.
    pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<LedgerRecord>> {
        let text = fs::read_to_string(path)?;
        let complete = text.rfind('\n').map_or("", |end| &text[..end]);
        complete
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_str(line).map_err(io::Error::other))
            .collect()
    }
}

impl ConsentLedger for JsonlLedger {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        let mut line = match serde_json::to_vec(record) {
            Ok(line) => line,
            Err(error) => {
                return Box::pin(std::future::ready(Err(LedgerError::Io(io::Error::other(
                    error,
                )))));
            }
        };
        line.push(b'\n');
        self.ask(|done| Job::Append { line, done })
    }

    fn history<'a>(&'a self, consent_id: &'a str) -> RecordsFuture<'a> {
        let lookup = OwnedLookup::ConsentId(consent_id.to_owned());
        self.ask(|done| Job::Scan { lookup, done })
    }

    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        let lookup = OwnedLookup::Subject(subject.to_owned());
        self.ask(|done| Job::Scan { lookup, done })
    }

    fn export(&self, period: Period) -> RecordStream {
        let (done, opened) = oneshot::channel();
        let state = match self.send(Job::Open { done }) {
            Ok(()) => ExportState::Opening(opened),
            Err(error) => ExportState::Failed(Some(error)),
        };
        Box::pin(JsonlExport {
            period,
            state,
            buffer: VecDeque::new(),
        })
    }

    fn prune(&self, before: u64) -> PruneFuture<'_> {
        self.ask(|done| Job::Prune { before, done })
    }
}

impl JsonlLedger {
    fn send(&self, job: Job) -> Result<(), LedgerError> {
        self.jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job)
            .map_err(|_| LedgerError::Closed)
    }

    /// Hands the writer the job `job` builds around its reply channel; resolves with the
    /// writer's answer.
    fn ask<T: Send + 'static>(
        &self,
        job: impl FnOnce(oneshot::Sender<io::Result<T>>) -> Job,
    ) -> Pin<Box<dyn Future<Output = Result<T, LedgerError>> + Send + 'static>> {
        let (done, reply) = oneshot::channel();
        let sent = self.send(job(done));
        Box::pin(async move {
            sent?;
            answered(reply.await)
        })
    }
}

/// Options of a [`JsonlLedger`]; see [`JsonlLedger::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct JsonlLedgerBuilder {
    path: PathBuf,
    max_bytes: u64,
    retention: Option<Duration>,
}

impl JsonlLedgerBuilder {
    /// Rotates the file once it reaches `max_bytes` (default
    /// [`JsonlLedger::DEFAULT_MAX_BYTES`]).
    pub fn max_bytes(mut self, max_bytes: u64) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// Deletes rotated files once everything in them is older than `retention` (judged by
    /// the rotation time in the file name), at open and after each rotation. The file being
    /// written is never deleted. Default [`DEFAULT_RETENTION`]: the
    /// ledger is the site's proof of consent, needed while a decision can be questioned, and
    /// personal data (the consent id, a truncated address) kept no longer than that.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Never deletes rotated files: for a site whose own archive takes over the files and
    /// their retention.
    pub fn keep_forever(mut self) -> Self {
        self.retention = None;
        self
    }

    /// Opens (or creates, with its directory) the ledger.
    ///
    /// # Errors
    /// [`LedgerError::Io`] when the file cannot be created, repaired or opened.
    pub fn open(self) -> Result<JsonlLedger, LedgerError> {
        JsonlLedger::start(self.path, self.max_bytes, self.retention)
    }
}

struct Writer {
    file: File,
    path: PathBuf,
    max_bytes: u64,
    retention: Option<Duration>,
}

impl Writer {
    fn run(mut self, queue: &mpsc::Receiver<Job>) {
        while let Ok(first) = queue.recv() {
            // Appends waiting together are committed together; reads that arrived among
            // them run after that commit.
            let mut batch = Vec::new();
            let mut reads = Vec::new();
            for job in std::iter::once(first).chain(queue.try_iter().take(1023)) {
                match job {
                    Job::Append { line, done } => batch.push((line, done)),
                    other => reads.push(other),
                }
            }
            if !batch.is_empty() {
                self.commit_and_acknowledge(batch);
            }
            for job in reads {
                match job {
                    Job::Scan { lookup, done } => {
                        let _ = done.send(self.scan(lookup.borrow()));
                    }
                    Job::Open { done } => {
                        let _ = done.send(self.open_all());
                    }
                    Job::Prune { before, done } => {
                        let _ = done.send(self.prune_before(before));
                    }
                    Job::Append { .. } => {}
                }
            }
        }
    }

    fn commit_and_acknowledge(&mut self, batch: Vec<(Vec<u8>, oneshot::Sender<io::Result<()>>)>) {
        let result = self.commit(batch.iter().map(|(line, _)| line.as_slice()));
        // Rotate before acknowledging, so no file work is left once `append` returns.
        if result.is_ok()
            && let Err(error) = self.rotate_if_full()
        {
            tracing::error!(%error, "consent ledger rotation failed; writing on");
        }
        for (_, done) in batch {
            let reply = match &result {
                Ok(()) => Ok(()),
                Err(error) => Err(io::Error::new(error.kind(), error.to_string())),
            };
            let _ = done.send(reply);
        }
    }

    /// Every file of the ledger, oldest first: the rotated ones, then the one being written.
    fn files(&self) -> io::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = rotated_files(&self.path)?
            .into_iter()
            .map(|(_, path)| path)
            .collect();
        files.push(self.path.clone());
        Ok(files)
    }

    /// The records `lookup` wants, from every file, oldest first.
    fn scan(&self, lookup: Lookup<'_>) -> io::Result<Vec<LedgerRecord>> {
        let needle = lookup.needle();
        let mut found = Vec::new();
        for path in self.files()? {
            let text = match fs::read(&path) {
                Ok(text) => text,
                // Pruned between listing and reading: nothing of it to report.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            };
            for line in text.split(|&b| b == b'\n') {
                if line.is_empty() || !contains(line, needle.as_bytes()) {
                    continue;
                }
                found.extend(parse_line(line, &path).filter(|record| lookup.matches(record)));
            }
        }
        Ok(found)
    }

    /// Every file, oldest first, opened for reading with its length now.
    fn open_all(&self) -> io::Result<Snapshot> {
        self.files()?
            .into_iter()
            .map(|path| {
                let file = File::open(&path)?;
                let len = file.metadata()?.len();
                Ok((path, file, len))
            })
            .collect()
    }

    /// Deletes the rotated files whose every record is older than `before`; returns how
    /// many records went with them.
    fn prune_before(&self, before: u64) -> io::Result<u64> {
        let mut removed = 0;
        for (_, path) in rotated_files(&self.path)? {
            let (count, newest) = records_in(&path)?;
            if newest.is_none_or(|newest| newest < before) {
                fs::remove_file(&path)?;
                removed += count;
            }
        }
        if removed > 0 {
            tracing::info!(removed, before, "pruned consent ledger records");
        }
        Ok(removed)
    }

    /// Writes the batch and syncs it; on failure, cuts the file back so no partial line stays.
    fn commit<'l>(&mut self, lines: impl Iterator<Item = &'l [u8]>) -> io::Result<()> {
        let start = self.file.metadata()?.len();
        let mut lines = lines;
        let written = lines
            .try_for_each(|line| self.file.write_all(line))
            .and_then(|()| self.file.sync_data());
        if written.is_err() {
            let _ = self.file.set_len(start);
        }
        written
    }

    fn rotate_if_full(&mut self) -> io::Result<()> {
        if self.file.metadata()?.len() < self.max_bytes {
            return Ok(());
        }
        let stem = self
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("ledger");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let mut target = self.path.with_file_name(format!("{stem}.{now}.jsonl"));
        let mut n = 1;
        while target.exists() {
            target = self.path.with_file_name(format!("{stem}.{now}-{n}.jsonl"));
            n += 1;
        }
        fs::rename(&self.path, &target)?;
        self.file = open_append(&self.path)?;
        if let Some(dir) = self.path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            File::open(dir)?.sync_all()?;
        }
        tracing::info!(rotated_to = %target.display(), "consent ledger rotated");
        self.prune();
        Ok(())
    }

    /// Deletes rotated files past the retention; failures are logged, never fatal.
    fn prune(&self) {
        let Some(retention) = self.retention else {
            return;
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let cutoff = now.saturating_sub(retention.as_secs());
        match prune_rotated(&self.path, cutoff) {
            Ok(0) => {}
            Ok(removed) => tracing::info!(
                removed,
                "pruned rotated consent ledger files past retention"
            ),
            Err(error) => tracing::warn!(%error, "could not prune rotated consent ledger files"),
        }
    }
}

/// Deletes the files rotated from `path` (`<stem>.<unix time>[-n].jsonl`) before `cutoff`;
/// returns how many.
fn prune_rotated(path: &Path, cutoff: u64) -> io::Result<usize> {
    let mut removed = 0;
    for ((rotated_at, _), file) in rotated_files(path)? {
        if rotated_at < cutoff {
            fs::remove_file(file)?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// The files rotated from `path`, oldest first, each with its (rotation time, counter).
fn rotated_files(path: &Path) -> io::Result<Vec<((u64, u64), PathBuf)>> {
    let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
        return Ok(Vec::new());
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut files = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if let Some(order) = name.to_str().and_then(|name| rotation_order(name, stem)) {
            files.push((order, entry.path()));
        }
    }
    files.sort_unstable();
    Ok(files)
}

/// The (rotation time, counter) in a rotated file's name, if `name` is one rotated from
/// `stem`: `<stem>.<time>.jsonl` is counter 0, `<stem>.<time>-<n>.jsonl` counter `n`.
fn rotation_order(name: &str, stem: &str) -> Option<(u64, u64)> {
    let middle = name
        .strip_prefix(stem)?
        .strip_prefix('.')?
        .strip_suffix(".jsonl")?;
    let (time, n) = middle.split_once('-').unwrap_or((middle, "0"));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(time) || !digits(n) {
        return None;
    }
    Some((time.parse().ok()?, n.parse().ok()?))
}

/// How many records a file holds, and the newest record's time.
fn records_in(path: &Path) -> io::Result<(u64, Option<u64>)> {
    let mut count = 0;
    let mut newest: Option<u64> = None;
    for line in BufReader::new(File::open(path)?).split(b'\n') {
        let line = line?;
        if line.is_empty() {
            continue;
        }
        count += 1;
        // A line that is not a record keeps the file: nothing is deleted unread.
        let time = serde_json::from_slice::<LedgerRecord>(&line).map_or(u64::MAX, |r| r.time);
        newest = Some(newest.map_or(time, |n| n.max(time)));
    }
    Ok((count, newest))
}

/// The writer's answer to a job, or [`LedgerError::Closed`] when it stopped without one.
fn answered<T>(reply: Result<io::Result<T>, oneshot::Canceled>) -> Result<T, LedgerError> {
    match reply {
        Ok(result) => result.map_err(LedgerError::Io),
        Err(_) => Err(LedgerError::Closed),
    }
}

/// A record from one line of a ledger file; a line that is not one is skipped with a
/// warning, so one damaged line cannot hide the rest of the proof.
fn parse_line(line: &[u8], path: &Path) -> Option<LedgerRecord> {
    serde_json::from_slice(line)
        .map_err(|error| {
            tracing::warn!(%error, path = %path.display(), "skipped a consent ledger line that is not a record");
        })
        .ok()
}

/// Every file of the ledger at one moment, oldest first: its path, opened, and its length
/// then (what an export reads, whatever is appended or rotated after).
type Snapshot = Vec<(PathBuf, File, u64)>;

/// An export's progress: opening the files (on the writer thread), then reading them
/// batch by batch on a thread of its own.
enum ExportState {
    Opening(oneshot::Receiver<io::Result<Snapshot>>),
    Reading {
        requests: mpsc::Sender<oneshot::Sender<io::Result<Vec<LedgerRecord>>>>,
        pending: Option<oneshot::Receiver<io::Result<Vec<LedgerRecord>>>>,
    },
    Failed(Option<LedgerError>),
    Done,
}

struct JsonlExport {
    period: Period,
    state: ExportState,
    buffer: VecDeque<LedgerRecord>,
}

impl Stream for JsonlExport {
    type Item = Result<LedgerRecord, LedgerError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(record) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(record)));
            }
            match &mut this.state {
                ExportState::Done => return Poll::Ready(None),
                ExportState::Failed(error) => {
                    let error = error.take();
                    this.state = ExportState::Done;
                    return Poll::Ready(error.map(Err));
                }
                ExportState::Opening(opened) => match Pin::new(opened).poll(cx).map(answered) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok(files)) => {
                        let (requests, queue) = mpsc::channel();
                        let period = this.period;
                        let spawned = std::thread::Builder::new()
                            .name("consentry-ledger-export".into())
                            .spawn(move || read_export(files, period, &queue));
                        this.state = match spawned {
                            Ok(_) => ExportState::Reading {
                                requests,
                                pending: None,
                            },
                            Err(error) => ExportState::Failed(Some(LedgerError::Io(error))),
                        };
                    }
                    Poll::Ready(Err(error)) => this.state = ExportState::Failed(Some(error)),
                },
                ExportState::Reading { requests, pending } => {
                    if pending.is_none() {
                        let (reply, receiver) = oneshot::channel();
                        if requests.send(reply).is_err() {
                            this.state = ExportState::Failed(Some(LedgerError::Closed));
                            continue;
                        }
                        *pending = Some(receiver);
                    }
                    let Some(receiver) = pending else {
                        continue;
                    };
                    match Pin::new(receiver).poll(cx).map(answered) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Ok(batch)) if batch.is_empty() => {
                            this.state = ExportState::Done;
                        }
                        Poll::Ready(Ok(batch)) => {
                            *pending = None;
                            this.buffer = batch.into();
                        }
                        Poll::Ready(Err(error)) => this.state = ExportState::Failed(Some(error)),
                    }
                }
            }
        }
    }
}

/// The export thread: answers each request with the next batch of records in `period`
/// (empty at the end); stops when the stream is dropped.
fn read_export(
    files: Snapshot,
    period: Period,
    requests: &mpsc::Receiver<oneshot::Sender<io::Result<Vec<LedgerRecord>>>>,
) {
    const BATCH: usize = 256;
    let (paths, readers): (Vec<PathBuf>, Vec<_>) = files
        .into_iter()
        .map(|(path, file, len)| (path, BufReader::new(file.take(len))))
        .unzip();
    let mut lines = readers
        .into_iter()
        .enumerate()
        .flat_map(|(index, reader)| reader.split(b'\n').map(move |line| (index, line)));
    while let Ok(reply) = requests.recv() {
        let mut batch = Vec::with_capacity(BATCH);
        let result = loop {
            if batch.len() == BATCH {
                break Ok(batch);
            }
            match lines.next() {
                None => break Ok(batch),
                Some((_, Err(error))) => break Err(error),
                Some((_, Ok(line))) if line.is_empty() => {}
                Some((index, Ok(line))) => batch.extend(
                    parse_line(&line, &paths[index]).filter(|record| period.contains(record.time)),
                ),
            }
        };
        let _ = reply.send(result);
    }
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
}

/// Truncates the file after its last newline; returns how many bytes were cut.
fn repair_torn_tail(file: &File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    let mut reader = file;
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let start = end.saturating_sub(chunk.len() as u64);
        let size = usize::try_from(end - start).expect("chunk fits in memory");
        reader.seek(SeekFrom::Start(start))?;
        reader.read_exact(&mut chunk[..size])?;
        if let Some(index) = chunk[..size].iter().rposition(|&b| b == b'\n') {
            let keep = start + index as u64 + 1;
            if keep < len {
                file.set_len(keep)?;
                file.sync_all()?;
            }
            return Ok(len - keep);
        }
        if start == 0 {
            file.set_len(0)?;
            file.sync_all()?;
            return Ok(len);
        }
        end = start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Source;

    fn record(n: u64) -> LedgerRecord {
        LedgerRecord {
            consent_id: format!("{n:032x}"),
            time: 1_800_000_000 + n,
            granted: vec!["necessary".into(), "analytics".into()],
            denied: vec!["marketing".into()],
            revision: 1,
            source: Source::Banner,
            gpc: false,
            ip: None,
            purpose: None,
            subject: None,
        }
    }

    fn purpose_record(subject: &str, granted: bool, time: u64) -> LedgerRecord {
        let name = vec!["email_marketing".to_owned()];
        LedgerRecord {
            consent_id: String::new(),
            time,
            granted: if granted { name.clone() } else { Vec::new() },
            denied: if granted { Vec::new() } else { name },
            revision: 1,
            source: Source::Form,
            gpc: false,
            ip: None,
            purpose: Some("email_marketing".into()),
            subject: Some(subject.into()),
        }
    }

    fn collect(ledger: &JsonlLedger, period: Period) -> Vec<LedgerRecord> {
        block_on(async {
            let mut stream = ledger.export(period);
            let mut out = Vec::new();
            while let Some(record) = crate::ledger::records::next(&mut stream).await {
                out.push(record.unwrap());
            }
            out
        })
    }

    #[test]
    fn an_export_streams_a_period_across_rotated_files_in_order() {
        let dir = temp_dir("export");
        let path = dir.join("ledger.jsonl");
        let ledger = JsonlLedger::open_with_max_bytes(&path, 2_000).unwrap();
        for n in 0..1_000 {
            block_on(ledger.append(&record(n))).unwrap();
        }
        assert!(rotated_files(&path).unwrap().len() > 10);
        let all = collect(&ledger, Period::ALL);
        let times: Vec<u64> = all.iter().map(|r| r.time).collect();
        assert_eq!(
            times,
            (0..1_000).map(|n| 1_800_000_000 + n).collect::<Vec<_>>()
        );
        let some = collect(
            &ledger,
            Period {
                from: 1_800_000_100,
                until: 1_800_000_700,
            },
        );
        assert_eq!(some.len(), 600);
        assert_eq!(some[0].time, 1_800_000_100);
        // Daily figures default to counting the export.
        let stats = block_on(ledger.daily_stats(Period::ALL)).unwrap();
        assert_eq!(stats.iter().map(|d| d.decisions).sum::<u64>(), 1_000);
        // Dropping an export half-read stops its thread and leaves the ledger working.
        let mut stream = ledger.export(Period::ALL);
        let first = block_on(crate::ledger::records::next(&mut stream));
        assert!(first.is_some());
        drop(stream);
        block_on(ledger.append(&record(5_000))).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn prune_deletes_only_files_wholly_before_the_cutoff() {
        let dir = temp_dir("prune");
        let path = dir.join("ledger.jsonl");
        let ledger = JsonlLedger::builder(&path)
            .max_bytes(1_000)
            .keep_forever()
            .open()
            .unwrap();
        for n in 0..100 {
            block_on(ledger.append(&record(n * 10))).unwrap();
        }
        let cutoff = 1_800_000_500;
        let removed = block_on(ledger.prune(cutoff)).unwrap();
        let left = collect(&ledger, Period::ALL);
        assert_eq!(removed + left.len() as u64, 100, "counted right");
        assert!(removed > 0, "whole old files went");
        assert!(
            left.iter().filter(|r| r.time >= cutoff).count() == 50,
            "nothing at or after the cutoff"
        );
        assert!(
            left.iter().filter(|r| r.time < cutoff).count() < 10,
            "at most about one file's worth of older records stays"
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn lookups_find_every_record_across_rotations_and_reopening_in_order() {
        let dir = temp_dir("lookup");
        let path = dir.join("ledger.jsonl");
        // Small files: nearly every append rotates.
        let ledger = JsonlLedger::open_with_max_bytes(&path, 300).unwrap();
        for n in 0..6 {
            block_on(ledger.append(&record(n % 2))).unwrap();
            block_on(ledger.append(&purpose_record("account-7", n % 2 == 0, 100 + n))).unwrap();
            block_on(ledger.append(&purpose_record("account-77", true, 200 + n))).unwrap();
        }
        assert!(
            rotated_files(&path).unwrap().len() >= 3,
            "the test spans rotated files"
        );
        drop(ledger);
        // A damaged line (not from this ledger) does not hide the others.
        let mut file = open_append(&path).unwrap();
        file.write_all(b"{\"consent_id\": not json account-7\n")
            .unwrap();

        let ledger = JsonlLedger::open_with_max_bytes(&path, 300).unwrap();
        let mine = block_on(ledger.subject_history("account-7")).unwrap();
        let times: Vec<u64> = mine.iter().map(|r| r.time).collect();
        assert_eq!(
            times,
            [100, 101, 102, 103, 104, 105],
            "every decision, oldest first"
        );
        assert!(
            mine.iter()
                .all(|r| r.subject.as_deref() == Some("account-7")),
            "not account-77's"
        );
        let browser = block_on(ledger.history(&format!("{:032x}", 1))).unwrap();
        assert_eq!(browser.len(), 3);
        assert!(
            block_on(ledger.history("")).unwrap().is_empty(),
            "empty id is no key"
        );
        assert!(
            block_on(ledger.subject_history("account-8"))
                .unwrap()
                .is_empty()
        );
        // A record appended now is seen by the next lookup.
        block_on(ledger.append(&purpose_record("account-7", true, 999))).unwrap();
        let last = block_on(ledger.subject_history("account-7"))
            .unwrap()
            .pop()
            .unwrap();
        assert_eq!(last.time, 999);
        fs::remove_dir_all(dir).unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("consentry-ledger-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn appends_one_line_per_record_and_reads_them_back() {
        let dir = temp_dir("append");
        let path = dir.join("ledger.jsonl");
        let ledger = JsonlLedger::open(&path).unwrap();
        block_on(async {
            for n in 0..5 {
                ledger.append(&record(n)).await.unwrap();
            }
        });
        let records = JsonlLedger::read(&path).unwrap();
        assert_eq!(records, (0..5).map(record).collect::<Vec<_>>());
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(!text.contains("ip"), "no ip field unless enabled");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_torn_last_line_is_cut_on_reopen_and_writing_goes_on() {
        let dir = temp_dir("torn");
        let path = dir.join("ledger.jsonl");
        {
            let ledger = JsonlLedger::open(&path).unwrap();
            block_on(async {
                ledger.append(&record(1)).await.unwrap();
                ledger.append(&record(2)).await.unwrap();
            });
        }
        // A crash in the middle of the third write.
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(br#"{"consent_id":"00","time":18000"#)
            .unwrap();
        drop(file);

        let ledger = JsonlLedger::open(&path).unwrap();
        block_on(ledger.append(&record(3))).unwrap();
        assert_eq!(
            JsonlLedger::read(&path).unwrap(),
            vec![record(1), record(2), record(3)]
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_file_that_is_only_a_torn_line_is_emptied() {
        let dir = temp_dir("only-torn");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.jsonl");
        fs::write(&path, b"{\"consent").unwrap();
        let ledger = JsonlLedger::open(&path).unwrap();
        block_on(ledger.append(&record(7))).unwrap();
        assert_eq!(JsonlLedger::read(&path).unwrap(), vec![record(7)]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rotated_files_past_retention_are_pruned_and_nothing_else() {
        let dir = temp_dir("retention");
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.jsonl");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let day = 86_400;
        let old = format!("ledger.{}.jsonl", now - 40 * day);
        let old_second = format!("ledger.{}-1.jsonl", now - 40 * day);
        let recent = format!("ledger.{}.jsonl", now - 5 * day);
        let unrelated = [
            "other.1.jsonl",
            "ledger.x.jsonl",
            "ledger.1-.jsonl",
            "notes.txt",
        ];
        for name in [&old, &old_second, &recent]
            .into_iter()
            .chain(&unrelated.map(String::from))
        {
            fs::write(dir.join(name), b"{}\n").unwrap();
        }
        let ledger = JsonlLedger::builder(&path)
            .retention(std::time::Duration::from_secs(30 * day))
            .max_bytes(1)
            .open()
            .unwrap();
        let mut left: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut expected: Vec<String> = [recent.clone(), "ledger.jsonl".into()]
            .into_iter()
            .chain(unrelated.map(String::from))
            .collect();
        expected.sort();
        assert_eq!(left, expected, "old rotated files pruned at open");
        // A rotation prunes too, and never the records just written.
        block_on(ledger.append(&record(1))).unwrap();
        let rotated = fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| rotation_order(e.unwrap().file_name().to_str().unwrap(), "ledger"))
            .count();
        assert_eq!(rotated, 2, "the recent file and the one just rotated");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rotates_by_size_without_losing_records() {
        let dir = temp_dir("rotate");
        let path = dir.join("ledger.jsonl");
        let ledger = JsonlLedger::open_with_max_bytes(&path, 600).unwrap();
        block_on(async {
            for n in 0..12 {
                ledger.append(&record(n)).await.unwrap();
            }
        });
        drop(ledger);
        let mut all = Vec::new();
        let mut files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() > 1, "rotation happened: {files:?}");
        for file in &files {
            assert!(
                fs::metadata(file).unwrap().len() < 600 + 300,
                "{file:?} too big"
            );
            all.extend(JsonlLedger::read(file).unwrap());
        }
        all.sort_by_key(|r| r.time);
        assert_eq!(all, (0..12).map(record).collect::<Vec<_>>());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn concurrent_appends_are_all_durable() {
        let dir = temp_dir("concurrent");
        let path = dir.join("ledger.jsonl");
        let ledger = std::sync::Arc::new(JsonlLedger::open(&path).unwrap());
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap()
            .block_on(async {
                let tasks: Vec<_> = (0..200)
                    .map(|n| {
                        let ledger = ledger.clone();
                        tokio::spawn(async move { ledger.append(&record(n)).await.unwrap() })
                    })
                    .collect();
                for task in tasks {
                    task.await.unwrap();
                }
            });
        let mut records = JsonlLedger::read(&path).unwrap();
        records.sort_by_key(|r| r.time);
        assert_eq!(records, (0..200).map(record).collect::<Vec<_>>());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unwritable_location_is_a_config_error() {
        let dir = temp_dir("unwritable");
        fs::create_dir_all(&dir).unwrap();
        // A directory where the file should be.
        let path = dir.join("ledger.jsonl");
        fs::create_dir_all(&path).unwrap();
        assert!(matches!(JsonlLedger::open(&path), Err(LedgerError::Io(_))));
        fs::remove_dir_all(dir).unwrap();
    }
}
