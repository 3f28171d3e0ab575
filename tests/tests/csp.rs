//! The layer's CSP in a real browser: inline `style` attributes are blocked by the base
//! policy and allowed with `Csp::style_attributes(true)`; nonce'd inline scripts run.

use axum::response::Html;
use axum::routing::get;
use consentry::ledger::MemoryLedger;
use consentry::{ConsentConfig, Consentry, Csp, Key, Keyring, Page, Policy};
use consentry_tests::{Browser, BrowserOptions};
use serde_json::Value;

async fn page(page: Page) -> Html<String> {
    let nonce = page.nonce().unwrap_or_default().to_owned();
    Html(format!(
        r#"<!doctype html><html lang="en"><head><title>CSP</title></head><body>
<p id="styled" style="color: rgb(1, 2, 3)">styled</p>
<script nonce="{nonce}">window.__inline = true;</script>
<script>window.__unnonced = true;</script>
{}</body></html>"#,
        page.banner_html()
    ))
}

async fn serve(csp: Csp) -> (String, tokio::task::JoinHandle<()>) {
    let layer = Consentry::builder(Keyring::new(1, Key::from_bytes(&[4; 32]).unwrap()))
        .consent(
            ConsentConfig::new(Policy::necessary_only(1))
                .ledger(MemoryLedger::new())
                .csp(csp),
        )
        .build()
        .unwrap();
    consentry_tests::serve(axum::Router::new().route("/", get(page)).layer(layer)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn style_attributes_are_blocked_unless_allowed_and_nonces_run() {
    for (allowed, csp) in [
        (false, Csp::new()),
        (true, Csp::new().style_attributes(true)),
    ] {
        let (url, server) = serve(csp).await;
        let browser = Browser::start("csp-style-attributes", BrowserOptions::default()).await;
        browser.goto(&url).await;
        let color = browser
            .js("return getComputedStyle(document.getElementById('styled')).color")
            .await;
        let expected = if allowed {
            "rgb(1, 2, 3)"
        } else {
            "rgb(0, 0, 0)"
        };
        browser
            .ensure(
                color == Value::String(expected.to_owned()),
                &format!("style_attributes({allowed}): color {color}"),
            )
            .await;
        let scripts = browser
            .js("return [window.__inline === true, window.__unnonced === undefined]")
            .await;
        browser
            .ensure(
                scripts == serde_json::json!([true, true]),
                &format!("the nonce'd script ran, the other did not: {scripts}"),
            )
            .await;
        browser.close().await;
        server.abort();
    }
}
