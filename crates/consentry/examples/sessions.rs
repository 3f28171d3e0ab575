//! Sessions only: a visit counter, login with a fresh session id, logout.
//!
//! `cargo run -p consentry --example sessions`, then open <http://127.0.0.1:3000>
//! (another address: `EXAMPLE_ADDR=127.0.0.1:8080`).

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use consentry::store::MemoryStore;
use consentry::{Consentry, Keyring, Session, SessionConfig, SessionError};

async fn home(session: Session) -> Result<String, SessionError> {
    let visits: u64 = session.get("visits").await?.unwrap_or(0) + 1;
    session.insert("visits", &visits).await?; // the first insert sets the cookie
    let user: Option<String> = session.get("user").await?;
    Ok(format!(
        "visit number {visits}, logged in as {}\n\
         curl -X POST /login to log in, -X POST /logout to end the session\n",
        user.as_deref().unwrap_or("nobody")
    ))
}

async fn login(session: Session) -> Result<Redirect, SessionError> {
    session.cycle_id().await?; // a new id at every change of privilege
    session.insert("user", "demo").await?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Redirect {
    session.destroy(); // record deleted, cookie expired
    Redirect::to("/")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Production: Key::from_env("CONSENTRY_SECRET")? with 32+ random bytes.
    // Without CONSENTRY_SECRET: a generated key, development only (it says so on stderr).
    let keyring = Keyring::from_env("CONSENTRY_SECRET", "CONSENTRY_PREVIOUS_SECRETS")?
        .unwrap_or_else(Keyring::development);
    let layer = Consentry::builder(keyring)
        .session(SessionConfig::new(MemoryStore::new()))
        .build()?;
    let app = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .layer(layer);
    let addr = std::env::var("EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("sessions example on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
