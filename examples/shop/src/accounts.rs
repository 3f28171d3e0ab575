//! Accounts: the two demo accounts, and every registered account, kept in memory for as
//! long as the shop runs or in PostgreSQL when the shop has a database. Passwords are kept
//! only as Argon2id hashes.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use deadpool_postgres::{Manager, Pool, Runtime};
use tokio_postgres::NoTls;
use tokio_postgres::types::ToSql;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Orders for themselves.
    Customer,
    /// Also sees the shop's reports (`/admin/…`).
    Admin,
}

/// An account the shop starts with.
#[derive(Debug, Clone, Copy)]
pub struct Seed {
    /// Internal user id; kept server-side in the session record, never in a cookie.
    pub id: u64,
    /// Login email.
    pub email: &'static str,
    /// What the account may do.
    pub role: Role,
    password: &'static str,
}

/// The demo customer: `demo@example.com` / `demo`.
pub const DEMO: Seed = Seed {
    id: 7_315_604_229,
    email: "demo@example.com",
    role: Role::Customer,
    password: "demo",
};

/// The demo administrator: `admin@example.com` / `admin`.
pub const ADMIN: Seed = Seed {
    id: 1_940_227_861,
    email: "admin@example.com",
    role: Role::Admin,
    password: "admin",
};

/// Fewest characters of a new password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most bytes of a password: hashing is deliberately costly, so its input is bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// An account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Internal user id; kept server-side in the session record, never in a cookie.
    pub id: u64,
    /// Login email, lower-cased.
    pub email: String,
    /// What the account may do.
    pub role: Role,
    password_hash: String,
}

impl Account {
    /// The account's opaque id in the consent ledger: no email, nothing personal.
    pub fn subject(&self) -> String {
        subject(self.id)
    }
}

/// The consent ledger's opaque id for the account `id`.
pub fn subject(id: u64) -> String {
    format!("account-{id}")
}

/// Why a registration was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterError {
    /// Not an email address.
    MalformedEmail,
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters, or more than [`MAX_PASSWORD_BYTES`] bytes.
    WeakPassword,
    /// An account with this email exists.
    Taken,
    /// The password could not be hashed (no randomness for the salt).
    Unavailable,
}

impl RegisterError {
    /// What to tell the person, in plain words.
    pub fn message(self) -> String {
        match self {
            Self::MalformedEmail => "That is not an email address.".to_owned(),
            Self::WeakPassword => format!(
                "Choose a password of at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)."
            ),
            Self::Taken => "An account with this email exists. Log in instead.".to_owned(),
            Self::Unavailable => {
                "We could not create your account just now. Please try again.".to_owned()
            }
        }
    }
}

/// The account store could not be reached; the page answers `503`.
#[derive(Debug, thiserror::Error)]
#[error("the account store is unavailable: {0}")]
pub struct Unavailable(String);

/// How long one account query may take.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Every account, shared by clones.
#[derive(Clone)]
pub struct Accounts {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Memory(Arc<RwLock<HashMap<String, Account>>>),
    Postgres(Pool),
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Postgres(_) => "postgres",
        };
        f.debug_struct("Accounts")
            .field("backend", &backend)
            .finish()
    }
}

impl Accounts {
    /// The demo customer and administrator, and registrations kept in memory.
    pub fn with_demo_accounts() -> Self {
        Self {
            backend: Backend::Memory(Arc::default()),
        }
    }

    /// The demo accounts, and registrations kept in PostgreSQL at `url` (table
    /// `shop_accounts`, created if missing), so every instance of the shop knows them.
    ///
    /// # Errors
    /// When the URL is invalid or the database cannot be reached.
    pub async fn in_postgres(url: &str) -> Result<Self, Unavailable> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| Unavailable(e.to_string()))?;
        let pool = Pool::builder(Manager::new(config, NoTls))
            .max_size(8)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .build()
            .map_err(|e| Unavailable(e.to_string()))?;
        let accounts = Self {
            backend: Backend::Postgres(pool),
        };
        accounts
            .query(|client| async move {
                client
                    .batch_execute(
                        "CREATE TABLE IF NOT EXISTS shop_accounts (
                            id bigint PRIMARY KEY,
                            email text NOT NULL UNIQUE,
                            password_hash text NOT NULL
                        )",
                    )
                    .await
            })
            .await?;
        Ok(accounts)
    }

    /// Runs `work` on a pooled connection within [`TIMEOUT`].
    async fn query<T, F, Fut>(&self, work: F) -> Result<T, Unavailable>
    where
        F: FnOnce(deadpool_postgres::Object) -> Fut,
        Fut: Future<Output = Result<T, tokio_postgres::Error>>,
    {
        let Backend::Postgres(pool) = &self.backend else {
            return Err(Unavailable("no database".into()));
        };
        let run = async {
            let client = pool.get().await.map_err(|e| Unavailable(e.to_string()))?;
            work(client).await.map_err(|e| Unavailable(e.to_string()))
        };
        tokio::time::timeout(TIMEOUT, run)
            .await
            .unwrap_or_else(|_| Err(Unavailable("timed out".into())))
    }

    /// The account with these credentials. Costs one password hash whether or not the
    /// email exists, so the answer's timing does not tell which emails have accounts.
    ///
    /// # Errors
    /// When the account store cannot be reached, or too many password checks are waiting
    /// for a hashing thread already.
    pub async fn authenticate(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<Account>, Unavailable> {
        let account = self.by_email(&normalize(email)).await?;
        let hash = account.as_ref().map_or_else(
            || seeds()[0].password_hash.clone(),
            |a| a.password_hash.clone(),
        );
        let password = password.to_owned();
        let matches = crate::hashing::run(move || verify(&password, &hash))
            .await
            .ok_or_else(|| Unavailable("too many password checks waiting".into()))?;
        Ok(account.filter(|_| matches))
    }

    /// The account with this id.
    ///
    /// # Errors
    /// When the account store cannot be reached.
    pub async fn by_id(&self, id: u64) -> Result<Option<Account>, Unavailable> {
        if let Some(seed) = seeds().iter().find(|a| a.id == id) {
            return Ok(Some(seed.clone()));
        }
        match &self.backend {
            Backend::Memory(accounts) => Ok(read(accounts)
                .values()
                .find(|account| account.id == id)
                .cloned()),
            Backend::Postgres(_) => self.stored("id", &id.cast_signed()).await,
        }
    }

    async fn by_email(&self, email: &str) -> Result<Option<Account>, Unavailable> {
        if let Some(seed) = seeds().iter().find(|a| a.email == email) {
            return Ok(Some(seed.clone()));
        }
        match &self.backend {
            Backend::Memory(accounts) => Ok(read(accounts).get(email).cloned()),
            Backend::Postgres(_) => self.stored("email", &email).await,
        }
    }

    /// The account in the database whose `column` (`id` or `email`) is `value`.
    async fn stored(
        &self,
        column: &str,
        value: &(dyn ToSql + Sync),
    ) -> Result<Option<Account>, Unavailable> {
        let sql = format!("SELECT id, email, password_hash FROM shop_accounts WHERE {column} = $1");
        let row = self
            .query(|client| async move { client.query_opt(sql.as_str(), &[value]).await })
            .await?;
        Ok(row.map(|row| from_row(&row)))
    }

    /// A new customer account.
    ///
    /// # Errors
    /// A [`RegisterError`] naming what to fix.
    pub async fn register(&self, email: &str, password: &str) -> Result<Account, RegisterError> {
        let email = normalize(email);
        if !is_email(&email) {
            return Err(RegisterError::MalformedEmail);
        }
        if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
            return Err(RegisterError::WeakPassword);
        }
        // Refuse a taken email before paying for a hash; checked again when inserting.
        if self
            .by_email(&email)
            .await
            .map_err(|_| RegisterError::Unavailable)?
            .is_some()
        {
            return Err(RegisterError::Taken);
        }
        let password = password.to_owned();
        let password_hash = crate::hashing::run(move || hash(&password))
            .await
            .flatten()
            .ok_or(RegisterError::Unavailable)?;
        let id = getrandom::u64().map_err(|_| RegisterError::Unavailable)?;
        let account = Account {
            id,
            email: email.clone(),
            role: Role::Customer,
            password_hash,
        };
        match &self.backend {
            Backend::Memory(accounts) => {
                let mut accounts = accounts.write().unwrap_or_else(PoisonError::into_inner);
                if accounts.contains_key(&email) {
                    return Err(RegisterError::Taken);
                }
                accounts.insert(email, account.clone());
            }
            Backend::Postgres(_) => {
                let (key, hash) = (id.cast_signed(), account.password_hash.clone());
                let inserted = self
                    .query(|client| async move {
                        client
                            .execute(
                                "INSERT INTO shop_accounts (id, email, password_hash) VALUES ($1, $2, $3) \
                                 ON CONFLICT (email) DO NOTHING",
                                &[&key, &email, &hash],
                            )
                            .await
                    })
                    .await
                    .map_err(|_| RegisterError::Unavailable)?;
                if inserted == 0 {
                    return Err(RegisterError::Taken);
                }
            }
        }
        Ok(account)
    }

    /// Removes an account (a registration that could not be completed).
    ///
    /// # Errors
    /// When the account store cannot be reached.
    pub async fn remove(&self, id: u64) -> Result<(), Unavailable> {
        match &self.backend {
            Backend::Memory(accounts) => {
                accounts
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|_, account| account.id != id);
                Ok(())
            }
            Backend::Postgres(_) => {
                let key = id.cast_signed();
                self.query(|client| async move {
                    client
                        .execute("DELETE FROM shop_accounts WHERE id = $1", &[&key])
                        .await
                })
                .await?;
                Ok(())
            }
        }
    }
}

fn read(
    accounts: &RwLock<HashMap<String, Account>>,
) -> std::sync::RwLockReadGuard<'_, HashMap<String, Account>> {
    accounts.read().unwrap_or_else(PoisonError::into_inner)
}

fn from_row(row: &tokio_postgres::Row) -> Account {
    let id: i64 = row.get(0);
    Account {
        id: id.cast_unsigned(),
        email: row.get(1),
        role: Role::Customer,
        password_hash: row.get(2),
    }
}

/// The seed accounts with their hashes, computed once per process.
fn seeds() -> &'static [Account] {
    static SEEDS: OnceLock<Vec<Account>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        [DEMO, ADMIN]
            .iter()
            .map(|seed| Account {
                id: seed.id,
                email: seed.email.to_owned(),
                role: seed.role,
                // Hashed once, on whichever thread asks first: in memory of its own, not
                // kept (only the hashing threads keep Argon2 memory).
                password_hash: hash_in(seed.password, &mut Vec::new())
                    .expect("the OS provides randomness for a salt"),
            })
            .collect()
    })
}

thread_local! {
    /// The Argon2 memory this hashing thread keeps between hashes (see [`with_blocks`]).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Blocks of Argon2 memory a hashing thread keeps between hashes: 64 MiB, above the
/// default cost (19 MiB). A hash of a higher cost runs in memory of its own.
const KEPT_BLOCKS: usize = 64 * 1024;

/// Runs `work` on `count` blocks of Argon2 memory: the start of `kept` (grown to `count`
/// if needed) up to [`KEPT_BLOCKS`], otherwise memory of its own. Argon2's own entry
/// points allocate and free the memory per hash (19 MiB by default), which the C allocator
/// keeps per thread in ways that added up to about 260 MB under a login flood.
fn with_blocks<T>(kept: &mut Vec<Block>, count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    if count <= KEPT_BLOCKS {
        if kept.len() < count {
            kept.resize(count, Block::default());
        }
        work(&mut kept[..count])
    } else {
        work(&mut vec![Block::default(); count])
    }
}

/// A new PHC string for `password`: Argon2id, version 0x13, the default cost and a fresh
/// 16-byte salt, as Argon2's `hash_password` writes it. `None` without randomness. For the
/// hashing threads (`crate::hashing::run`): the memory stays with the calling thread.
fn hash(password: &str) -> Option<String> {
    BLOCKS.with_borrow_mut(|kept| hash_in(password, kept))
}

/// [`hash`] with `kept` as the thread's memory.
fn hash_in(password: &str, kept: &mut Vec<Block>) -> Option<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).ok()?;
    let params = Params::default();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    with_blocks(kept, params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), &salt, &mut out, blocks)
    })
    .ok()?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).ok()?,
        salt: Some(Salt::new(&salt).ok()?),
        hash: Some(Output::new(&out).ok()?),
    };
    Some(phc.to_string())
}

/// Whether `password` matches `hash` (a PHC string): the same computation as Argon2's
/// `verify_password`, in this thread's kept memory. For the hashing threads, like [`hash`].
fn verify(password: &str, hash: &str) -> bool {
    BLOCKS.with_borrow_mut(|kept| verify_in(password, hash, kept))
}

/// [`verify`] with `kept` as the thread's memory. A hash that does not parse, names
/// another algorithm or carries no salt or output never matches.
fn verify_in(password: &str, hash: &str, kept: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&hash.salt, &hash.hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(hash.algorithm.as_str()),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let mut buffer = [0u8; Output::MAX_LENGTH];
    let Some(out) = buffer.get_mut(..expected.len()) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    with_blocks(kept, params.block_count(), |blocks| {
        argon2.hash_password_into_with_memory(password.as_bytes(), salt, out, blocks)
    })
    .is_ok()
        // `Output`'s equality is constant-time.
        && Output::new(out).is_ok_and(|computed| computed == *expected)
}

fn normalize(email: &str) -> String {
    email.trim().to_ascii_lowercase()
}

/// A plain check of an address's shape: `local@domain.tld`, no spaces or markup
/// characters, within the lengths mail systems accept.
fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let allowed = |c: char| !c.is_whitespace() && !c.is_control() && !"<>()[]\\,;:\"@".contains(c);
    email.len() <= 254
        && (1..=64).contains(&local.len())
        && local.chars().all(allowed)
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use argon2::PasswordHasher as _;

    use super::*;

    /// A PHC string for `password`, hashed by the argon2 crate itself with `params`.
    fn hashed(password: &str, algorithm: Algorithm, version: Version, params: Params) -> String {
        Argon2::new(algorithm, version, params)
            .hash_password(password.as_bytes())
            .unwrap()
            .to_string()
    }

    #[test]
    fn the_check_in_kept_memory_agrees_with_the_crates_own() {
        use argon2::PasswordVerifier as _;
        let cheap = Params::new(64, 1, 1, None).unwrap();
        let hashes = [
            hashed(
                "demo",
                Algorithm::Argon2id,
                Version::V0x13,
                Params::default(),
            ),
            hashed("demo", Algorithm::Argon2id, Version::V0x13, cheap.clone()),
            hashed("demo", Algorithm::Argon2i, Version::V0x10, cheap.clone()),
            hashed(
                "demo",
                Algorithm::Argon2d,
                Version::V0x13,
                Params::new(64, 2, 2, Some(16)).unwrap(),
            ),
            hashed("", Algorithm::Argon2id, Version::V0x13, cheap),
        ];
        let mut kept = Vec::new();
        for hash in &hashes {
            for password in [
                "demo",
                "Demo",
                "demo ",
                "",
                "a much longer password than demo",
            ] {
                let theirs = Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok();
                assert_eq!(
                    verify_in(password, hash, &mut kept),
                    theirs,
                    "{password:?} against {hash}"
                );
            }
        }
        assert!(verify_in("demo", &hashes[0], &mut kept));
        assert!(!verify_in(
            "demo",
            &hashes[1].replace("$argon2id$", "$argon2d$"),
            &mut kept
        ));
        // The memory is kept at the largest cost met, not grown again.
        assert_eq!(kept.len(), Params::default().block_count());
    }

    #[test]
    fn a_malformed_hash_never_matches() {
        let good = hashed(
            "demo",
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(64, 1, 1, None).unwrap(),
        );
        let (head, output) = good.rsplit_once('$').unwrap();
        let (no_salt, _) = head.rsplit_once('$').unwrap();
        let mut kept = Vec::new();
        for hash in [
            String::new(),
            "not a hash".to_owned(),
            head.to_owned(),
            format!("{no_salt}${output}"),
            good.replace("$argon2id$", "$scrypt$"),
            good.replace("$v=19$", "$v=7$"),
            good.replace("m=64", "m=1"),
            format!("{head}${}", &output[..output.len() - 4]),
        ] {
            assert!(!verify_in("demo", &hash, &mut kept), "{hash:?}");
        }
    }

    #[test]
    fn a_new_hash_is_the_crates_format_with_a_fresh_salt() {
        use argon2::PasswordVerifier as _;
        let mut kept = Vec::new();
        let first = hash_in("demo", &mut kept).unwrap();
        let second = hash_in("demo", &mut kept).unwrap();
        assert!(
            first.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{first}"
        );
        assert_ne!(first, second, "each hash has its own salt");
        for hash in [&first, &second] {
            assert!(
                Argon2::default()
                    .verify_password(b"demo", hash.as_str())
                    .is_ok()
            );
            assert!(
                Argon2::default()
                    .verify_password(b"demO", hash.as_str())
                    .is_err()
            );
            assert!(verify_in("demo", hash, &mut kept));
        }
    }

    #[test]
    fn a_costlier_hash_is_checked_in_memory_of_its_own() {
        let costly = Params::new(u32::try_from(KEPT_BLOCKS).unwrap() + 1024, 1, 1, None).unwrap();
        let hash = hashed("demo", Algorithm::Argon2id, Version::V0x13, costly);
        let mut kept = Vec::new();
        assert!(verify_in("demo", &hash, &mut kept));
        assert!(!verify_in("other", &hash, &mut kept));
        assert!(kept.is_empty(), "nothing above the kept size is kept");
    }

    #[test]
    fn email_shapes() {
        for ok in [
            "a@b.co",
            "first.last+tag@mail.example.com",
            "x_y@sub-domain.example",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.co",
            "a b@c.de",
            "a@b..co",
            "a@-b.co",
            "<a>@b.co",
            "a@b.co\n",
        ] {
            assert!(!is_email(bad), "{bad:?}");
        }
    }

    /// The same behaviour from either backend.
    async fn registered_accounts_log_in_with_their_password_only(accounts: Accounts) {
        let account = accounts
            .register(" New@Example.com ", "long enough")
            .await
            .unwrap();
        assert_eq!(account.email, "new@example.com");
        assert!(!account.password_hash.contains("long enough"));
        for taken in ["new@example.com", DEMO.email] {
            assert_eq!(
                accounts.register(taken, "another one").await.unwrap_err(),
                RegisterError::Taken
            );
        }
        let signed_in = |email: &'static str, password: &'static str| {
            let accounts = accounts.clone();
            async move {
                accounts
                    .authenticate(email, password)
                    .await
                    .unwrap()
                    .map(|a| a.id)
            }
        };
        assert_eq!(
            signed_in("new@example.com", "long enough").await,
            Some(account.id)
        );
        assert_eq!(signed_in("new@example.com", "wrong password").await, None);
        assert_eq!(signed_in("nobody@example.com", "long enough").await, None);
        assert_eq!(signed_in(DEMO.email, DEMO.password).await, Some(DEMO.id));
        let found = accounts.by_id(account.id).await.unwrap().unwrap();
        assert_eq!(found.email, "new@example.com");
        accounts.remove(account.id).await.unwrap();
        assert!(accounts.by_id(account.id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn in_memory() {
        registered_accounts_log_in_with_their_password_only(Accounts::with_demo_accounts()).await;
    }

    #[tokio::test]
    async fn in_postgres_shared_by_instances() {
        let server = consentry_postgres::testing::PgServer::start();
        let accounts = Accounts::in_postgres(&server.url()).await.unwrap();
        registered_accounts_log_in_with_their_password_only(accounts).await;
        // A second instance sees the first one's registrations.
        let first = Accounts::in_postgres(&server.url()).await.unwrap();
        let second = Accounts::in_postgres(&server.url()).await.unwrap();
        let account = first
            .register("both@example.com", "12345678")
            .await
            .unwrap();
        assert!(second.by_id(account.id).await.unwrap().is_some());
        assert_eq!(
            second
                .register("both@example.com", "12345678")
                .await
                .unwrap_err(),
            RegisterError::Taken
        );
        drop(server);
        assert!(
            first.by_id(account.id).await.is_err(),
            "a stopped database is an error, not a missing account"
        );
    }
}
