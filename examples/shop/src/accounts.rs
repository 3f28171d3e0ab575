//! The demo account. A real shop would keep accounts in a database.

/// A customer account.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// Internal user id; kept server-side in the session record, never in a cookie.
    pub id: u64,
    /// Login email.
    pub email: &'static str,
    password: &'static str,
}

/// The demo account: `demo@example.com` / `demo`.
pub const DEMO: Account = Account {
    id: 7_315_604_229,
    email: "demo@example.com",
    password: "demo",
};

const ACCOUNTS: &[Account] = &[DEMO];

/// The account with these credentials.
pub fn authenticate(email: &str, password: &str) -> Option<Account> {
    ACCOUNTS
        .iter()
        .find(|account| {
            account.email.eq_ignore_ascii_case(email.trim()) && account.password == password
        })
        .copied()
}

/// The account with this id.
pub fn by_id(id: u64) -> Option<Account> {
    ACCOUNTS.iter().find(|account| account.id == id).copied()
}
