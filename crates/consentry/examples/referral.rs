//! Partner referral: `/?ref=acme` tags the visitor; the signed `__Host-ref` cookie is
//! written once marketing is granted (the banner's form carries the referral until then),
//! and `/order` attributes to the partner.
//!
//! `cargo run -p consentry --example referral`, then open <http://127.0.0.1:3000/?ref=acme>.

use axum::Router;
use axum::response::Html;
use axum::routing::get;
use consentry::ledger::MemoryLedger;
use consentry::{
    ConsentConfig, Consentry, Keyring, Page, Partner, Policy, Referral, ReferralConfig,
};

async fn home(page: Page, referral: Option<Referral>) -> Html<String> {
    let from = referral.map_or_else(
        || "no partner".to_owned(),
        |r| format!("partner {} (via {:?})", r.partner_name(), r.via()),
    );
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Referral</title></head>\
         <body><main><h1>You came from {from}</h1><p><a href=\"/order\">Place an order</a> · {link}</p>\
         </main>{banner}</body></html>",
        link = page.settings_link(),
        banner = page.banner_html(),
    ))
}

async fn order(referral: Option<Referral>) -> String {
    match referral {
        Some(r) => format!("order attributed to {}\n", r.partner_id()),
        None => "order not attributed (no referral, or marketing not granted)\n".to_owned(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let referral = ReferralConfig::new()
        .partner(Partner::new("acme", "Acme Print Partners"))
        .partner(Partner::new("globex", "Globex Resellers"));
    // Without CONSENTRY_SECRET: a generated key, development only (it says so on stderr).
    let keyring = Keyring::from_env("CONSENTRY_SECRET", "CONSENTRY_PREVIOUS_SECRETS")?
        .unwrap_or_else(Keyring::development);
    let layer = Consentry::builder(keyring)
        .consent(ConsentConfig::new(Policy::new(1)).ledger(MemoryLedger::new()))
        .referral(referral)
        .build()?;
    let app = Router::new()
        .route("/", get(home))
        .route("/order", get(order))
        .layer(layer);
    let addr = std::env::var("EXAMPLE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("referral example on http://{addr}");
    axum::serve(listener, app).await?;
    Ok(())
}
