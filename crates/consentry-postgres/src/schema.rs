//! The schema, created or migrated at start. Each migration runs once, in order, in a
//! transaction, under an advisory lock so instances starting together take turns.

use crate::{Error, Failure, Postgres};

/// An arbitrary key for `pg_advisory_lock`, the same in every instance.
const LOCK: i64 = 0x636f_6e73_656e_7472; // "consentr"

/// Every migration, oldest first; the schema version is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: sessions and the ledger.
    "
    CREATE TABLE consentry_sessions (
        key bytea PRIMARY KEY,
        deadline bigint NOT NULL
    );
    CREATE INDEX consentry_sessions_deadline ON consentry_sessions (deadline);
    CREATE TABLE consentry_session_fields (
        key bytea NOT NULL REFERENCES consentry_sessions (key) ON DELETE CASCADE,
        field bytea NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (key, field)
    );
    CREATE TABLE consentry_ledger (
        seq bigserial PRIMARY KEY,
        consent_id text NOT NULL,
        time bigint NOT NULL,
        granted text[] NOT NULL,
        denied text[] NOT NULL,
        revision integer NOT NULL,
        source text NOT NULL,
        gpc boolean NOT NULL,
        ip text,
        purpose text,
        subject text
    );
    CREATE INDEX consentry_ledger_consent_id ON consentry_ledger (consent_id, seq);
    CREATE INDEX consentry_ledger_time ON consentry_ledger (time);
    CREATE INDEX consentry_ledger_subject ON consentry_ledger (subject, seq)
        WHERE subject IS NOT NULL;
    ",
];

/// The newest schema version this build knows.
#[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
const VERSION: i32 = MIGRATIONS.len() as i32;

pub(crate) async fn migrate(db: &Postgres) -> Result<(), Error> {
    let unavailable = |failure: Failure| Error::Unavailable(Box::new(failure));
    let mut connection = db.connection().await.map_err(unavailable)?;
    db.bounded(async {
        connection
            .execute("SELECT pg_advisory_lock($1)", &[&LOCK])
            .await?;
        Ok(())
    })
    .await
    .map_err(unavailable)?;
    let result = apply(db, &mut connection).await;
    // The lock ends with the session anyway; release it now for the next instance.
    let _ = connection
        .execute("SELECT pg_advisory_unlock($1)", &[&LOCK])
        .await;
    result
}

async fn apply(db: &Postgres, connection: &mut deadpool_postgres::Object) -> Result<(), Error> {
    let unavailable = |failure: Failure| Error::Unavailable(Box::new(failure));
    let found: i32 = db
        .bounded(async {
            connection
                .batch_execute(
                    "CREATE TABLE IF NOT EXISTS consentry_schema (version integer NOT NULL)",
                )
                .await?;
            let row = connection
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM consentry_schema",
                    &[],
                )
                .await?;
            Ok(row.get(0))
        })
        .await
        .map_err(unavailable)?;
    if found > VERSION {
        return Err(Error::SchemaTooNew {
            found,
            known: VERSION,
        });
    }
    for (index, migration) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        #[allow(clippy::cast_possible_truncation, clippy::cast_possible_wrap)]
        let version = index as i32 + 1;
        // Migrations may take longer than one operation's timeout; they run once.
        let transaction = connection
            .transaction()
            .await
            .map_err(|e| unavailable(e.into()))?;
        transaction
            .batch_execute(migration)
            .await
            .map_err(|e| unavailable(e.into()))?;
        transaction
            .execute(
                "INSERT INTO consentry_schema (version) VALUES ($1)",
                &[&version],
            )
            .await
            .map_err(|e| unavailable(e.into()))?;
        transaction
            .commit()
            .await
            .map_err(|e| unavailable(e.into()))?;
        tracing::info!(version, "consentry schema migrated");
    }
    Ok(())
}
