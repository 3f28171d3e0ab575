//! Consent with the banner, the cookie gate and the CSP: an analytics tag that stays inert
//! (and its origin out of the CSP) until analytics is granted, and a cookie the gate
//! removes until then.
//!
//! `cargo run -p consentry --example consent`, then open <http://127.0.0.1:3000>.

use axum::Router;
use axum::http::header::SET_COOKIE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use consentry::ledger::JsonlLedger;
use consentry::{
    Category, CategoryDef, ConsentConfig, Consentry, Csp, DeclaredCookie, Keyring, Page, Policy,
};

async fn home(page: Page) -> impl IntoResponse {
    let analytics = page.consent().allows(&Category::ANALYTICS);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Consent</title>\
         {mode}{tag}</head><body><main><h1>Analytics {state}</h1>\
         <p>{link} · <a href=\"/consent/declaration\">declared cookies</a></p></main>{banner}</body></html>",
        mode = page.consent_mode_snippet(),
        tag = page.script_tag(&Category::ANALYTICS, "https://stats.example/a.js"),
        state = if analytics { "granted" } else { "not granted" },
        link = page.settings_link(),
        banner = page.banner_html(),
    );
    // The gate drops this header unless analytics is granted.
    (
        [(SET_COOKIE, "_sa=visit; Path=/; Max-Age=31536000")],
        Html(html),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::new(1).category(
        CategoryDef::new(
            Category::ANALYTICS,
            "Analytics",
            "Counts visits, in aggregate.",
        )
        .allow_origin("https://stats.example"),
    );
    let consent = ConsentConfig::new(policy)
        .ledger(JsonlLedger::open(
            std::env::temp_dir().join("consentry-example-ledger.jsonl"),
        )?)
        .declare(DeclaredCookie::exact("_sa", Category::ANALYTICS).purpose("Counts visits"))
        .csp(Csp::new());
    // Without CONSENTRY_SECRET: a generated key, development only (it says so on stderr).
    let keyring = Keyring::from_env("CONSENTRY_SECRET", "CONSENTRY_PREVIOUS_SECRETS")?
        .unwrap_or_else(Keyring::development);
    let layer = Consentry::builder(keyring).consent(consent).build()?;
    let app = Router::new().route("/", get(home)).layer(layer);
    let addr = std::env::var("EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("consent example on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
