//! [`PgStore`]: sessions in two tables, changes merged per key, expiry by the database's
//! clock.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use consentry_store::{Changes, Record, SessionKey, SessionStore, StoreFuture};

use crate::{Failure, Postgres};

/// Now, in unix seconds, by the database's clock.
const NOW: &str = "extract(epoch from clock_timestamp())::bigint";

/// A [`SessionStore`] on PostgreSQL; get one from [`Postgres::store`].
///
/// Clones share the pool and the background sweep, which stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct PgStore {
    db: Postgres,
    _sweeper: Arc<Sweeper>,
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// The background sweep of expired sessions; aborted on drop.
struct Sweeper(tokio::task::JoinHandle<()>);

impl Drop for Sweeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl PgStore {
    /// How often expired sessions are deleted.
    pub const SWEEP_INTERVAL: Duration = Duration::from_secs(300);
    /// Most sessions one sweep statement deletes, so a sweep never holds long locks.
    const SWEEP_BATCH: i64 = 10_000;

    pub(crate) fn new(db: Postgres) -> Self {
        let sweeping = db.clone();
        let sweeper = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Self::SWEEP_INTERVAL);
            loop {
                ticks.tick().await;
                match sweep(&sweeping).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::debug!(removed, "swept expired sessions"),
                    Err(error) => tracing::warn!(%error, "could not sweep expired sessions"),
                }
            }
        });
        Self {
            db,
            _sweeper: Arc::new(Sweeper(sweeper)),
        }
    }

    /// Deletes every expired session now; returns how many. The background sweep does this
    /// every [`PgStore::SWEEP_INTERVAL`].
    ///
    /// # Errors
    /// When the database fails or the timeout passes.
    pub async fn sweep(&self) -> Result<u64, consentry_store::StoreError> {
        Ok(sweep(&self.db).await?)
    }
}

async fn sweep(db: &Postgres) -> Result<u64, Failure> {
    let statement = format!(
        "DELETE FROM consentry_sessions WHERE key IN \
         (SELECT key FROM consentry_sessions WHERE deadline <= {NOW} LIMIT $1)"
    );
    let mut total = 0;
    loop {
        let removed = db
            .bounded(async {
                let connection = db.connection().await?;
                Ok(connection
                    .execute(&statement, &[&PgStore::SWEEP_BATCH])
                    .await?)
            })
            .await?;
        total += removed;
        if removed < PgStore::SWEEP_BATCH.unsigned_abs() {
            return Ok(total);
        }
    }
}

fn deadline_param(deadline: u64) -> i64 {
    i64::try_from(deadline).unwrap_or(i64::MAX)
}

impl SessionStore for PgStore {
    fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>> {
        Box::pin(async move {
            let rows = self
                .db
                .bounded(async {
                    let connection = self.db.connection().await?;
                    let statement = connection
                        .prepare_cached(&format!(
                            "SELECT f.field, f.value FROM consentry_sessions s \
                             LEFT JOIN consentry_session_fields f ON f.key = s.key \
                             WHERE s.key = $1 AND s.deadline > {NOW}"
                        ))
                        .await?;
                    Ok(connection
                        .query(&statement, &[&key.as_bytes().as_slice()])
                        .await?)
                })
                .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let text = |bytes| {
                std::str::from_utf8(bytes)
                    .map_err(|_| Failure::Data("a session field is not UTF-8".into()))
            };
            let mut fields = Vec::with_capacity(rows.len());
            for row in &rows {
                let field: Option<&[u8]> = row.get(0);
                let value: Option<&[u8]> = row.get(1);
                if let (Some(field), Some(value)) = (field, value) {
                    fields.push((text(field)?, text(value)?));
                }
            }
            Ok(Some(fields.into_iter().collect()))
        })
    }

    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let fields: Vec<&[u8]> = record.keys().map(str::as_bytes).collect();
            let values: Vec<&[u8]> = record.values().map(str::as_bytes).collect();
            let key = key.as_bytes().as_slice();
            self.db
                .bounded(async {
                    let mut connection = self.db.connection().await?;
                    let transaction = connection.transaction().await?;
                    transaction
                        .execute("DELETE FROM consentry_sessions WHERE key = $1", &[&key])
                        .await?;
                    transaction
                        .execute(
                            "INSERT INTO consentry_sessions (key, deadline) VALUES ($1, $2)",
                            &[&key, &deadline_param(deadline)],
                        )
                        .await?;
                    if !fields.is_empty() {
                        transaction
                            .execute(
                                "INSERT INTO consentry_session_fields (key, field, value) \
                                 SELECT $1, f, v FROM unnest($2::bytea[], $3::bytea[]) AS n(f, v)",
                                &[&key, &fields, &values],
                            )
                            .await?;
                    }
                    transaction.commit().await?;
                    Ok(())
                })
                .await?;
            Ok(())
        })
    }

    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let removed: Vec<&[u8]> = changes.removed().map(str::as_bytes).collect();
            let (fields, values): (Vec<&[u8]>, Vec<&[u8]>) = changes
                .set()
                .map(|(field, value)| (field.as_bytes(), value.as_bytes()))
                .unzip();
            let key = key.as_bytes().as_slice();
            let updated = self
                .db
                .bounded(async {
                    let mut connection = self.db.connection().await?;
                    let transaction = connection.transaction().await?;
                    // Locks the live session's row: a concurrent delete waits, and a
                    // session that is gone or expired is never brought back.
                    let live = transaction
                        .execute(
                            &format!(
                                "UPDATE consentry_sessions SET deadline = $2 \
                                 WHERE key = $1 AND deadline > {NOW}"
                            ),
                            &[&key, &deadline_param(deadline)],
                        )
                        .await?;
                    if live == 0 {
                        return Ok(false);
                    }
                    if !removed.is_empty() {
                        transaction
                            .execute(
                                "DELETE FROM consentry_session_fields \
                                 WHERE key = $1 AND field = ANY($2::bytea[])",
                                &[&key, &removed],
                            )
                            .await?;
                    }
                    if !fields.is_empty() {
                        transaction
                            .execute(
                                "INSERT INTO consentry_session_fields (key, field, value) \
                                 SELECT $1, f, v FROM unnest($2::bytea[], $3::bytea[]) AS n(f, v) \
                                 ON CONFLICT (key, field) DO UPDATE SET value = EXCLUDED.value",
                                &[&key, &fields, &values],
                            )
                            .await?;
                    }
                    transaction.commit().await?;
                    Ok(true)
                })
                .await?;
            Ok(updated)
        })
    }

    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let key = key.as_bytes().as_slice();
            self.db
                .bounded(async {
                    let connection = self.db.connection().await?;
                    connection
                        .execute("DELETE FROM consentry_sessions WHERE key = $1", &[&key])
                        .await?;
                    Ok(())
                })
                .await?;
            Ok(())
        })
    }
}
