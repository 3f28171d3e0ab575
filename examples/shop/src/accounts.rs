//! Accounts: the two demo accounts and every account registered while the shop runs.
//! Passwords are kept only as Argon2id hashes. A real shop would keep accounts in a
//! database.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};

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

/// Every account, shared by clones.
#[derive(Debug, Clone)]
pub struct Accounts {
    by_email: Arc<RwLock<HashMap<String, Account>>>,
}

impl Accounts {
    /// The demo customer and administrator.
    pub fn with_demo_accounts() -> Self {
        let by_email = seeds()
            .iter()
            .map(|account| (account.email.clone(), account.clone()))
            .collect();
        Self {
            by_email: Arc::new(RwLock::new(by_email)),
        }
    }

    /// The account with these credentials. Costs one password hash whether or not the
    /// email exists, so the answer's timing does not tell which emails have accounts.
    pub async fn authenticate(&self, email: &str, password: &str) -> Option<Account> {
        let account = self.by_email(&normalize(email));
        let hash = account.as_ref().map_or_else(
            || seeds()[0].password_hash.clone(),
            |a| a.password_hash.clone(),
        );
        let password = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify(&password, &hash))
            .await
            .unwrap_or(false);
        account.filter(|_| matches)
    }

    /// The account with this id.
    pub fn by_id(&self, id: u64) -> Option<Account> {
        self.read()
            .values()
            .find(|account| account.id == id)
            .cloned()
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
        if self.by_email(&email).is_some() {
            return Err(RegisterError::Taken);
        }
        let password = password.to_owned();
        let password_hash = tokio::task::spawn_blocking(move || hash(&password))
            .await
            .ok()
            .flatten()
            .ok_or(RegisterError::Unavailable)?;
        let id = getrandom::u64().map_err(|_| RegisterError::Unavailable)?;
        let account = Account {
            id,
            email: email.clone(),
            role: Role::Customer,
            password_hash,
        };
        let mut accounts = self
            .by_email
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if accounts.contains_key(&email) {
            return Err(RegisterError::Taken);
        }
        accounts.insert(email, account.clone());
        Ok(account)
    }

    /// Removes an account (a registration that could not be completed).
    pub fn remove(&self, id: u64) {
        self.by_email
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, account| account.id != id);
    }

    fn by_email(&self, email: &str) -> Option<Account> {
        self.read().get(email).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Account>> {
        self.by_email.read().unwrap_or_else(PoisonError::into_inner)
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
                password_hash: hash(seed.password).expect("the OS provides randomness for a salt"),
            })
            .collect()
    })
}

fn hash(password: &str) -> Option<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .ok()
        .map(|hash| hash.to_string())
}

fn verify(password: &str, hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
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
    use super::*;

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

    #[tokio::test]
    async fn registered_accounts_log_in_with_their_password_only() {
        let accounts = Accounts::with_demo_accounts();
        let account = accounts
            .register(" New@Example.com ", "long enough")
            .await
            .unwrap();
        assert_eq!(account.email, "new@example.com");
        assert!(!account.password_hash.contains("long enough"));
        assert_eq!(
            accounts
                .register("new@example.com", "another one")
                .await
                .unwrap_err(),
            RegisterError::Taken
        );
        assert!(
            accounts
                .authenticate("new@example.com", "long enough")
                .await
                .is_some()
        );
        assert!(
            accounts
                .authenticate("new@example.com", "wrong password")
                .await
                .is_none()
        );
        assert!(
            accounts
                .authenticate("nobody@example.com", "long enough")
                .await
                .is_none()
        );
        assert!(
            accounts
                .authenticate(DEMO.email, DEMO.password)
                .await
                .is_some()
        );
        accounts.remove(account.id);
        assert!(accounts.by_id(account.id).is_none());
    }
}
