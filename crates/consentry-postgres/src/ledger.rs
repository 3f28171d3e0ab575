//! [`PgLedger`]: decisions appended with group commit, read back with SQL.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use consentry::ledger::{
    ConsentLedger, DEFAULT_RETENTION, Day, DayStats, LedgerError, LedgerFuture, LedgerRecord,
    Period, PruneFuture, RecordStream, RecordsFuture, StatsFuture, Tally,
};
use futures_core::Stream;
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::RowStream;

use crate::{Failure, Postgres};

/// A record as one JSON text, which deserializes into a [`LedgerRecord`].
const AS_JSON: &str = "json_build_object('consent_id', consent_id, 'time', time, \
     'granted', granted, 'denied', denied, 'revision', revision, 'source', source, \
     'gpc', gpc, 'ip', ip, 'purpose', purpose, 'subject', subject)::text";

struct Job {
    record: serde_json::Value,
    done: oneshot::Sender<Result<(), LedgerError>>,
}

/// The consent ledger on PostgreSQL; get one from [`Postgres::ledger`].
///
/// A writer task takes every decision that is waiting (up to the batch size), inserts them
/// in one transaction and acknowledges each after `COMMIT`: under load, many decisions
/// share one commit. Clones share the writer; the writer and the retention task stop when
/// the last clone is dropped.
#[derive(Clone)]
pub struct PgLedger {
    inner: Arc<Inner>,
}

struct Inner {
    db: Postgres,
    jobs: mpsc::UnboundedSender<Job>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for PgLedger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgLedger")
            .field("db", &self.inner.db)
            .finish_non_exhaustive()
    }
}

/// Configures a [`PgLedger`]; see [`Postgres::ledger_builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct PgLedgerBuilder {
    db: Postgres,
    retention: Option<Duration>,
    max_batch: usize,
}

impl PgLedgerBuilder {
    pub(crate) fn new(db: Postgres) -> Self {
        Self {
            db,
            retention: Some(DEFAULT_RETENTION),
            max_batch: 1_000,
        }
    }

    /// Deletes records older than `retention` at start and once a day (default
    /// [`DEFAULT_RETENTION`]).
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Never deletes records by age.
    pub fn keep_forever(mut self) -> Self {
        self.retention = None;
        self
    }

    /// The most decisions committed together (default 1000).
    pub fn max_batch(mut self, max: usize) -> Self {
        self.max_batch = max.max(1);
        self
    }

    /// Starts the writer (and the retention task). Call inside a Tokio runtime.
    pub fn build(self) -> PgLedger {
        let (jobs, queue) = mpsc::unbounded_channel();
        let mut tasks = vec![tokio::spawn(write(self.db.clone(), queue, self.max_batch))];
        if let Some(retention) = self.retention {
            tasks.push(tokio::spawn(keep_within(self.db.clone(), retention)));
        }
        PgLedger {
            inner: Arc::new(Inner {
                db: self.db,
                jobs,
                tasks,
            }),
        }
    }
}

/// The writer: one transaction per batch of waiting decisions.
async fn write(db: Postgres, mut queue: mpsc::UnboundedReceiver<Job>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    while queue.recv_many(&mut batch, max_batch).await > 0 {
        let records: Vec<&serde_json::Value> = batch.iter().map(|job| &job.record).collect();
        let text = serde_json::to_string(&records).unwrap_or_default();
        let result = db
            .bounded(async {
                let mut connection = db.connection().await?;
                let transaction = connection.transaction().await?;
                transaction
                    .execute(
                        "INSERT INTO consentry_ledger \
                         (consent_id, time, granted, denied, revision, source, gpc, ip, purpose, subject) \
                         SELECT e.v->>'consent_id', (e.v->>'time')::bigint, \
                           ARRAY(SELECT jsonb_array_elements_text(e.v->'granted')), \
                           ARRAY(SELECT jsonb_array_elements_text(e.v->'denied')), \
                           (e.v->>'revision')::integer, e.v->>'source', (e.v->>'gpc')::boolean, \
                           e.v->>'ip', e.v->>'purpose', e.v->>'subject' \
                         FROM jsonb_array_elements($1::text::jsonb) WITH ORDINALITY AS e(v, n) \
                         ORDER BY e.n",
                        &[&text],
                    )
                    .await?;
                transaction.commit().await?;
                Ok(())
            })
            .await;
        let shared = result.map_err(|failure| failure.to_string());
        for job in batch.drain(..) {
            let reply = shared
                .clone()
                .map_err(|message| LedgerError::Unavailable(message.into()));
            let _ = job.done.send(reply);
        }
    }
}

/// Prunes past the retention at start and once a day.
async fn keep_within(db: Postgres, retention: Duration) {
    let mut ticks = tokio::time::interval(Duration::from_secs(86_400));
    loop {
        ticks.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match prune(&db, now.saturating_sub(retention.as_secs())).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "pruned consent records past retention"),
            Err(error) => tracing::warn!(%error, "could not prune consent records"),
        }
    }
}

fn seconds(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

async fn prune(db: &Postgres, before: u64) -> Result<u64, Failure> {
    db.bounded(async {
        let connection = db.connection().await?;
        Ok(connection
            .execute(
                "DELETE FROM consentry_ledger WHERE time < $1",
                &[&seconds(before)],
            )
            .await?)
    })
    .await
}

fn parse(text: &str) -> Result<LedgerRecord, Failure> {
    serde_json::from_str(text).map_err(|error| Failure::Data(error.to_string()))
}

impl PgLedger {
    async fn find(&self, column: &str, value: &str) -> Result<Vec<LedgerRecord>, Failure> {
        let db = &self.inner.db;
        let rows = db
            .bounded(async {
                let connection = db.connection().await?;
                let statement = connection
                    .prepare_cached(&format!(
                        "SELECT {AS_JSON} FROM consentry_ledger WHERE {column} = $1 ORDER BY seq"
                    ))
                    .await?;
                Ok(connection.query(&statement, &[&value]).await?)
            })
            .await?;
        rows.iter().map(|row| parse(row.get(0))).collect()
    }

    async fn stats(&self, period: Period) -> Result<Vec<DayStats>, Failure> {
        let db = &self.inner.db;
        let range = [seconds(period.from), seconds(period.until)];
        let (totals, names) = db
            .bounded(async {
                let connection = db.connection().await?;
                let totals = connection
                    .query(
                        "SELECT time / 86400, count(*), count(*) FILTER (WHERE gpc), \
                           count(*) FILTER (WHERE cardinality(denied) = 0), \
                           count(*) FILTER (WHERE granted <@ ARRAY['necessary']) \
                         FROM consentry_ledger \
                         WHERE purpose IS NULL AND time >= $1 AND time < $2 \
                         GROUP BY 1 ORDER BY 1",
                        &[&range[0], &range[1]],
                    )
                    .await?;
                let names = connection
                    .query(
                        "SELECT day, is_purpose, name, sum(g)::bigint, sum(d)::bigint FROM ( \
                           SELECT time / 86400 AS day, purpose IS NOT NULL AS is_purpose, \
                                  unnest(granted) AS name, 1 AS g, 0 AS d \
                             FROM consentry_ledger WHERE time >= $1 AND time < $2 \
                           UNION ALL \
                           SELECT time / 86400, purpose IS NOT NULL, unnest(denied), 0, 1 \
                             FROM consentry_ledger WHERE time >= $1 AND time < $2 \
                         ) named GROUP BY 1, 2, 3",
                        &[&range[0], &range[1]],
                    )
                    .await?;
                Ok((totals, names))
            })
            .await?;
        let count = |value: i64| u64::try_from(value).unwrap_or(0);
        let day_of = |value: i64| Day::of(count(value) * 86_400);
        let mut days: BTreeMap<Day, DayStats> = BTreeMap::new();
        for row in totals {
            let day = day_of(row.get(0));
            let stats = days.entry(day).or_insert_with(|| DayStats::new(day));
            stats.decisions = count(row.get(1));
            stats.gpc = count(row.get(2));
            stats.accept_all = count(row.get(3));
            stats.reject_all = count(row.get(4));
        }
        for row in names {
            let day = day_of(row.get(0));
            let stats = days.entry(day).or_insert_with(|| DayStats::new(day));
            let is_purpose: bool = row.get(1);
            let name: String = row.get(2);
            let tally = Tally {
                granted: count(row.get(3)),
                denied: count(row.get(4)),
            };
            if is_purpose {
                stats.purposes.insert(name, tally);
            } else {
                stats.categories.insert(name, tally);
            }
        }
        Ok(days.into_values().collect())
    }
}

impl ConsentLedger for PgLedger {
    fn append<'a>(&'a self, record: &'a LedgerRecord) -> LedgerFuture<'a> {
        Box::pin(async move {
            let record = serde_json::to_value(record)
                .map_err(|error| LedgerError::Unavailable(Box::new(error)))?;
            let (done, reply) = oneshot::channel();
            self.inner
                .jobs
                .send(Job { record, done })
                .map_err(|_| LedgerError::Closed)?;
            reply.await.map_err(|_| LedgerError::Closed)?
        })
    }

    fn history<'a>(&'a self, consent_id: &'a str) -> RecordsFuture<'a> {
        Box::pin(async move {
            if consent_id.is_empty() {
                return Ok(Vec::new());
            }
            Ok(self.find("consent_id", consent_id).await?)
        })
    }

    fn subject_history<'a>(&'a self, subject: &'a str) -> RecordsFuture<'a> {
        Box::pin(async move { Ok(self.find("subject", subject).await?) })
    }

    fn export(&self, period: Period) -> RecordStream {
        let db = self.inner.db.clone();
        let opening = Box::pin(async move {
            let opened = db
                .bounded(async {
                    let connection = db.connection().await?;
                    let rows = connection
                        .query_raw(
                            &format!(
                                "SELECT {AS_JSON} FROM consentry_ledger \
                                 WHERE time >= $1 AND time < $2 ORDER BY time, seq"
                            ),
                            [seconds(period.from), seconds(period.until)],
                        )
                        .await?;
                    Ok((connection, rows))
                })
                .await;
            opened.map_err(LedgerError::from)
        });
        Box::pin(Export::Opening(opening))
    }

    fn daily_stats(&self, period: Period) -> StatsFuture<'_> {
        Box::pin(async move { Ok(self.stats(period).await?) })
    }

    fn prune(&self, before: u64) -> PruneFuture<'_> {
        Box::pin(async move { Ok(prune(&self.inner.db, before).await?) })
    }
}

type Opening = Pin<
    Box<dyn Future<Output = Result<(deadpool_postgres::Object, RowStream), LedgerError>> + Send>,
>;

/// An export: the query is sent, then rows are decoded as they arrive. The connection is
/// held until the stream ends or is dropped. Rows stream without a timeout of their own:
/// an export of years of records takes as long as it takes.
enum Export {
    Opening(Opening),
    Streaming {
        _connection: Box<deadpool_postgres::Object>,
        rows: Pin<Box<RowStream>>,
    },
    Done,
}

impl Stream for Export {
    type Item = Result<LedgerRecord, LedgerError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match &mut *self {
                Export::Done => return Poll::Ready(None),
                Export::Opening(opening) => match opening.as_mut().poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(Ok((connection, rows))) => {
                        *self = Export::Streaming {
                            _connection: Box::new(connection),
                            rows: Box::pin(rows),
                        };
                    }
                    Poll::Ready(Err(error)) => {
                        *self = Export::Done;
                        return Poll::Ready(Some(Err(error)));
                    }
                },
                Export::Streaming { rows, .. } => {
                    return match rows.as_mut().poll_next(cx) {
                        Poll::Pending => Poll::Pending,
                        Poll::Ready(None) => {
                            *self = Export::Done;
                            Poll::Ready(None)
                        }
                        Poll::Ready(Some(Ok(row))) => {
                            Poll::Ready(Some(parse(row.get(0)).map_err(LedgerError::from)))
                        }
                        Poll::Ready(Some(Err(error))) => {
                            *self = Export::Done;
                            Poll::Ready(Some(Err(LedgerError::from(Failure::from(error)))))
                        }
                    };
                }
            }
        }
    }
}
