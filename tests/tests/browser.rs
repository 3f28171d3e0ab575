//! Real-browser checks in headless Chromium against the shop.

use std::time::Duration;

use consentry_tests::{Browser, BrowserOptions, TestShop};

const NO_JS: BrowserOptions = BrowserOptions {
    javascript: false,
    gpc: false,
};

/// The banner while it is shown (it stays in the page, `hidden`, once the visitor decided).
const VISIBLE_BANNER: &str = "#consentry:not([hidden])";

fn has(cookies: &[(String, String)], name: &str) -> bool {
    cookies.iter().any(|(n, _)| n == name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_javascript_reject_and_accept_work_through_the_form() {
    let shop = TestShop::start().await;
    let browser = Browser::start("no-js", NO_JS).await;
    browser.goto(&format!("{}/cart", shop.url)).await;
    browser
        .ensure(
            browser.exists("#consentry button[value=reject_all]").await,
            "banner shown",
        )
        .await;
    browser
        .ensure(
            browser.cookies().await.is_empty(),
            "no cookie before a choice",
        )
        .await;

    browser.click("#consentry button[value=reject_all]").await;
    browser
        .ensure(
            browser.wait_absent(VISIBLE_BANNER).await,
            "banner gone after rejecting",
        )
        .await;
    let url = browser.client.current_url().await.unwrap();
    browser
        .ensure(
            url.path() == "/cart",
            &format!("back where the visitor was, got {url}"),
        )
        .await;
    let cookies = browser.cookies().await;
    browser
        .ensure(
            has(&cookies, "__Host-consent"),
            &format!("choice stored: {cookies:?}"),
        )
        .await;
    browser
        .ensure(!has(&cookies, "_sa"), "no analytics cookie")
        .await;

    browser.client.refresh().await.unwrap();
    browser
        .ensure(browser.wait_for_path("/cart").await, "reloaded")
        .await;
    browser
        .ensure(
            !browser.exists(VISIBLE_BANNER).await,
            "the rejection sticks across reloads",
        )
        .await;

    // "Cookie settings" opens the settings page; accept from there.
    browser.click("footer a[data-consent-open]").await;
    browser
        .ensure(
            browser
                .wait_present("details.consentry-customize[open]")
                .await,
            "settings page with switches",
        )
        .await;
    let analytics = browser.find("#consentry-analytics").await;
    browser
        .ensure(
            analytics.prop("checked").await.unwrap().as_deref() == Some("false"),
            "analytics unticked after rejecting",
        )
        .await;
    browser.click("#consentry button[value=accept_all]").await;
    browser
        .ensure(
            browser.wait_absent(VISIBLE_BANNER).await,
            "banner gone after accepting",
        )
        .await;
    let source = browser.source().await;
    browser
        .ensure(
            source.contains(r#"<script src="http://127.0.0.1:"#),
            "analytics tag now live in the page",
        )
        .await;
    browser
        .ensure(
            shop.ledger.records().len() == 2,
            "both decisions in the ledger",
        )
        .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    browser
        .ensure(
            shop.analytics.stats().hits == 0,
            "scripts are off: nothing ran",
        )
        .await;
    browser.close().await;
}

/// Lands on a partner link, decides with `button`, logs in, orders business cards; returns
/// the order page's text.
async fn partner_flow(browser: &Browser, shop: &TestShop, button: &str) -> String {
    browser.goto(&format!("{}/?ref=acme", shop.url)).await;
    let partner = browser.find(".partner").await.text().await.unwrap();
    browser
        .ensure(
            partner.contains("Acme Print Partners"),
            "partner banner shown",
        )
        .await;
    browser
        .click(&format!("#consentry button[value={button}]"))
        .await;
    browser
        .ensure(browser.wait_absent(VISIBLE_BANNER).await, "banner closed")
        .await;
    browser.goto(&format!("{}/login", shop.url)).await;
    browser
        .find("input[name=email]")
        .await
        .send_keys("demo@example.com")
        .await
        .unwrap();
    browser
        .find("input[name=password]")
        .await
        .send_keys("demo")
        .await
        .unwrap();
    browser.click("main form button[type=submit]").await;
    browser
        .ensure(browser.wait_for_path("/account").await, "logged in")
        .await;
    browser.goto(&shop.url).await;
    browser.click("form[action='/cart'] button").await;
    browser
        .ensure(browser.wait_for_path("/cart").await, "cart shown")
        .await;
    browser.click("form[action='/checkout'] button").await;
    browser
        .ensure(
            browser.wait_present(".attribution").await,
            "order page shown",
        )
        .await;
    browser.find("main").await.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partner_referral_survives_consent_login_and_checkout() {
    let shop = TestShop::start().await;
    let browser = Browser::start("referral-accept", BrowserOptions::default()).await;
    let order = partner_flow(&browser, &shop, "accept_all").await;
    browser
        .ensure(
            order.contains("Referred by Acme Print Partners."),
            &format!("attributed: {order}"),
        )
        .await;
    let cookies = browser.cookies().await;
    browser
        .ensure(
            has(&cookies, "__Host-ref"),
            &format!("referral cookie: {cookies:?}"),
        )
        .await;
    browser.close().await;

    let browser = Browser::start("referral-reject", BrowserOptions::default()).await;
    let order = partner_flow(&browser, &shop, "reject_all").await;
    browser
        .ensure(
            order.contains("No partner referral."),
            &format!("not attributed: {order}"),
        )
        .await;
    let cookies = browser.cookies().await;
    browser
        .ensure(
            !has(&cookies, "__Host-ref"),
            &format!("no referral cookie: {cookies:?}"),
        )
        .await;
    browser.close().await;
}
