//! The demo accounts. A real shop would keep accounts in a database.

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Orders for themselves.
    Customer,
    /// Also sees the shop's reports (`/admin/…`).
    Admin,
}

/// A customer account.
#[derive(Debug, Clone, Copy)]
pub struct Account {
    /// Internal user id; kept server-side in the session record, never in a cookie.
    pub id: u64,
    /// Login email.
    pub email: &'static str,
    /// What the account may do.
    pub role: Role,
    password: &'static str,
}

/// The demo customer: `demo@example.com` / `demo`.
pub const DEMO: Account = Account {
    id: 7_315_604_229,
    email: "demo@example.com",
    role: Role::Customer,
    password: "demo",
};

/// The demo administrator: `admin@example.com` / `admin`.
pub const ADMIN: Account = Account {
    id: 1_940_227_861,
    email: "admin@example.com",
    role: Role::Admin,
    password: "admin",
};

const ACCOUNTS: &[Account] = &[DEMO, ADMIN];

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
