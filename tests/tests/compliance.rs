//! What a visitor and a regulator would check, in headless Chromium against the shop and
//! its analytics provider. Each check is its own test; a failing check leaves a screenshot
//! in `test-output/`.

use std::time::Duration;

use consentry_tests::{Browser, BrowserOptions, TestShop, VISIBLE_BANNER, has, hits_settle};
use serde_json::Value;

const NO_JS: BrowserOptions = BrowserOptions {
    javascript: false,
    gpc: false,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_09_without_javascript_reject_and_accept_work_through_the_form() {
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
    browser.log_in(&shop.url).await;
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
async fn check_11_a_partner_referral_survives_consent_login_and_checkout() {
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

/// The `__Host-sid` value of the browser, if any.
async fn session_value(browser: &Browser) -> Option<String> {
    browser
        .cookies()
        .await
        .into_iter()
        .find(|(n, _)| n == "__Host-sid")
        .map(|(_, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_01_first_visit_banner_visible_nothing_set_nothing_sent() {
    let shop = TestShop::start().await;
    let browser = Browser::start("01-first-visit", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    let in_view = browser
        .js("const r = document.getElementById('consentry').getBoundingClientRect(); return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight")
        .await;
    browser
        .ensure(
            in_view == Value::Bool(true),
            "banner fully visible without scrolling",
        )
        .await;
    let cookies = browser.cookies().await;
    browser
        .ensure(
            cookies.is_empty(),
            &format!("no cookie at all on a first visit: {cookies:?}"),
        )
        .await;
    let inert = browser
        .js("const s = document.querySelector('script[data-consent=analytics]'); return !!s && s.type === 'text/plain' && !s.src")
        .await;
    browser
        .ensure(
            inert == Value::Bool(true),
            "the analytics script element is inert",
        )
        .await;
    let stats = shop.analytics.stats();
    tokio::time::sleep(Duration::from_millis(300)).await;
    browser
        .ensure(
            stats.hits == 0 && stats.script_loads == 0 && shop.analytics.stats().hits == 0,
            "zero hits on the analytics server",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_02_accept_and_reject_are_equal_and_keyboard_reachable() {
    let shop = TestShop::start().await;
    let browser = Browser::start("02-equal-buttons", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    let styles = browser
        .js("const keys = ['width','height','fontFamily','fontSize','fontWeight','color','backgroundColor','borderTopColor','borderTopWidth','paddingTop','paddingLeft'];
             const style = v => { const s = getComputedStyle(document.querySelector(`#consentry button[value=${v}]`)); return keys.map(k => s[k]); };
             return [style('accept_all'), style('reject_all')]")
        .await;
    browser
        .ensure(
            styles[0] == styles[1],
            &format!("Accept all and Reject all look the same: {styles}"),
        )
        .await;
    // Tab from the privacy link: Accept all, Reject all, then Customize.
    browser
        .js("document.querySelector('#consentry a').focus()")
        .await;
    let mut order = Vec::new();
    for _ in 0..3 {
        browser
            .client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{E004}")
            .await
            .unwrap();
        let focused = browser
            .js("const e = document.activeElement; return e.value || e.textContent.trim()")
            .await;
        order.push(focused.as_str().unwrap_or_default().to_owned());
    }
    browser
        .ensure(
            order == ["accept_all", "reject_all", "Customize"],
            &format!("keyboard order: {order:?}"),
        )
        .await;
    // And Enter on the focused Reject all works.
    browser
        .js("document.querySelector('#consentry button[value=reject_all]').focus()")
        .await;
    browser
        .client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{E007}")
        .await
        .unwrap();
    browser
        .ensure(
            browser.wait_absent(VISIBLE_BANNER).await,
            "Enter on Reject all decides",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_03_reject_all_sticks_and_settings_show_everything_off() {
    let shop = TestShop::start().await;
    let browser = Browser::start("03-reject", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=reject_all]").await;
    browser
        .ensure(browser.wait_absent(VISIBLE_BANNER).await, "banner closes")
        .await;
    browser.client.refresh().await.unwrap();
    browser.banner_ready().await;
    browser
        .ensure(
            !browser.exists(VISIBLE_BANNER).await,
            "the rejection persists across reloads",
        )
        .await;
    browser
        .ensure(!has(&browser.cookies().await, "_sa"), "no _sa cookie")
        .await;
    browser
        .ensure(hits_settle(&shop).await == 0, "still zero analytics hits")
        .await;
    browser.open_settings().await;
    let all_off = browser
        .js("return [...document.querySelectorAll('#consentry-dialog input[name=granted]:not([disabled])')].every(i => !i.checked)")
        .await;
    browser
        .ensure(
            all_off == Value::Bool(true),
            "every optional switch unticked",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_04_analytics_only_then_withdraw() {
    let shop = TestShop::start().await;
    let browser = Browser::start("04-analytics-only", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser
        .open_settings_by(".consentry-customize > summary")
        .await;
    browser.click("#consentry-analytics").await;
    browser.click("#consentry-dialog button[value=save]").await;
    browser
        .ensure(
            browser
                .wait_js("return document.cookie.includes('_sa=')")
                .await,
            "the script activates and sets _sa",
        )
        .await;
    browser.banner_ready().await;
    let hits = hits_settle(&shop).await;
    browser
        .ensure(hits >= 1, &format!("hits arrive: {hits}"))
        .await;
    let marketing = browser.js("return consentry.allows('marketing')").await;
    browser
        .ensure(marketing == Value::Bool(false), "marketing still off")
        .await;
    browser.open_settings().await;
    browser
        .click("#consentry-dialog button[value=reject_all]")
        .await;
    browser
        .ensure(
            browser
                .wait_js("return !document.cookie.includes('_sa=')")
                .await,
            "_sa deleted",
        )
        .await;
    browser.banner_ready().await;
    let before = hits_settle(&shop).await;
    browser.client.refresh().await.unwrap();
    browser.banner_ready().await;
    let after = hits_settle(&shop).await;
    browser
        .ensure(
            after == before,
            &format!("hits stop after withdrawal: {before} -> {after}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_05_every_cookie_held_is_declared() {
    let shop = TestShop::start().await;
    let browser = Browser::start("05-declared", BrowserOptions::default()).await;
    browser
        .goto(&format!("{}/consent/declaration", shop.url))
        .await;
    let declaration: Value =
        serde_json::from_str(&browser.find("body").await.text().await.unwrap()).unwrap();
    let declared: Vec<(String, bool)> = declaration["categories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["cookies"].as_array().unwrap().clone())
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["match"] == "prefix",
            )
        })
        .collect();
    let is_declared = |name: &str| {
        declared.iter().any(|(d, prefix)| {
            if *prefix {
                name.starts_with(d)
            } else {
                name == d
            }
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut look = async |browser: &Browser| {
        for (name, _) in browser.cookies().await {
            seen.insert(name);
        }
    };
    browser.goto(&format!("{}/?ref=acme", shop.url)).await;
    browser.banner_ready().await;
    look(&browser).await;
    browser.click("#consentry button[value=accept_all]").await;
    browser
        .ensure(
            browser
                .wait_js("return document.cookie.includes('_sa=')")
                .await,
            "accepted",
        )
        .await;
    look(&browser).await;
    browser.log_in(&shop.url).await;
    look(&browser).await;
    let undeclared: Vec<&String> = seen.iter().filter(|name| !is_declared(name)).collect();
    browser
        .ensure(seen.len() >= 4, &format!("the flow set cookies: {seen:?}"))
        .await;
    browser
        .ensure(
            undeclared.is_empty(),
            &format!("undeclared cookies: {undeclared:?} (held: {seen:?})"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_06_session_cookie_has_no_personal_data_and_logout_clears_it() {
    let shop = TestShop::start().await;
    let browser = Browser::start("06-session", BrowserOptions::default()).await;
    browser.log_in(&shop.url).await;
    let value = session_value(&browser).await.unwrap_or_default();
    let decoded = base64_url_decode(&value);
    let id = shop::accounts::DEMO.id;
    let personal = [
        "demo@example.com",
        "demo%40example.com",
        "demo",
        &id.to_string(),
    ];
    browser
        .ensure(
            decoded.len() == 58 && personal.iter().all(|p| !value.contains(p)),
            &format!("the cookie is 58 bytes of id, times and tag, nothing personal: {value}"),
        )
        .await;
    browser
        .ensure(
            !decoded
                .windows(8)
                .any(|w| w == id.to_be_bytes() || w == id.to_le_bytes()),
            "no user id in the cookie bytes",
        )
        .await;
    browser.click("header form[action='/logout'] button").await;
    browser
        .ensure(browser.wait_for_path("/").await, "logged out")
        .await;
    browser
        .ensure(
            session_value(&browser).await.is_none(),
            "logout clears the session cookie",
        )
        .await;
    browser.close().await;
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes() {
        let Some(value) = ALPHABET.iter().position(|&a| a == byte) else {
            return Vec::new();
        };
        bits = (bits << 6) | u32::try_from(value).unwrap();
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from((bits >> count) & 0xFF).unwrap());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_07_gpc_turns_marketing_off_and_is_shown() {
    let shop = TestShop::start().await;
    let browser = Browser::start(
        "07-gpc",
        BrowserOptions {
            javascript: true,
            gpc: true,
        },
    )
    .await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    let note = browser
        .find("#consentry [data-gpc]")
        .await
        .text()
        .await
        .unwrap();
    browser
        .ensure(
            note.contains("honour"),
            &format!("the banner says GPC is honoured: {note}"),
        )
        .await;
    browser.click("#consentry button[value=accept_all]").await;
    browser
        .ensure(
            browser
                .wait_js("return document.cookie.includes('_sa=')")
                .await,
            "accepted",
        )
        .await;
    browser.banner_ready().await;
    let state = browser
        .js("return [consentry.allows('marketing'), consentry.get().gpc]")
        .await;
    browser
        .ensure(
            state == serde_json::json!([false, true]),
            &format!("marketing off, GPC seen: {state}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_08_a_policy_revision_bump_asks_again() {
    let options = consentry_tests::ShopOptions::default();
    let shop = TestShop::start_with(options.clone()).await;
    let browser = Browser::start("08-revision", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=accept_all]").await;
    browser
        .ensure(
            browser
                .wait_js("return document.cookie.includes('_sa=')")
                .await,
            "accepted under revision 1",
        )
        .await;
    drop(shop);
    // The shop restarts with revision 2 (same secret; cookies follow the host).
    let shop = TestShop::start_with(consentry_tests::ShopOptions {
        policy_revision: 2,
        ..options.clone()
    })
    .await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser
        .ensure(browser.exists(VISIBLE_BANNER).await, "the banner returns")
        .await;
    let state = browser.js("return consentry.get()").await;
    browser
        .ensure(
            state["granted"] == serde_json::json!(["necessary"]),
            &format!("old grants not applied: {state}"),
        )
        .await;
    let inert = browser
        .js("return document.querySelector('script[data-consent=analytics]').type === 'text/plain'")
        .await;
    browser
        .ensure(inert == Value::Bool(true), "analytics inert again")
        .await;
    browser
        .ensure(
            !has(&browser.cookies().await, "_sa"),
            "the old analytics cookie is deleted",
        )
        .await;
    browser
        .ensure(hits_settle(&shop).await == 0, "no hits on the new revision")
        .await;
    let notice = browser
        .js("const n = document.querySelector('#consentry .consentry-notice'); return n && n.offsetParent !== null ? n.textContent : null")
        .await;
    browser
        .ensure(
            notice
                .as_str()
                .is_some_and(|text| text.contains("own analytics provider")),
            &format!("the banner says what changed: {notice}"),
        )
        .await;
    browser.close().await;

    // Without JavaScript too: the server renders the notice in the banner.
    let shop = TestShop::start_with(options.clone()).await;
    let browser = Browser::start(
        "08-revision-nojs",
        BrowserOptions {
            javascript: false,
            ..BrowserOptions::default()
        },
    )
    .await;
    browser.goto(&shop.url).await;
    browser.click("#consentry button[value=accept_all]").await;
    // The page was at `/` before the post too: wait for the answer itself (the decision's
    // cookie kept) before this shop goes away.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !has(&browser.cookies().await, "__Host-consent") && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    browser
        .ensure(
            browser.wait_for_path("/").await && has(&browser.cookies().await, "__Host-consent"),
            "decided without JavaScript",
        )
        .await;
    drop(shop);
    let shop = TestShop::start_with(consentry_tests::ShopOptions {
        policy_revision: 2,
        ..options
    })
    .await;
    browser.goto(&shop.url).await;
    let source = browser.source().await;
    browser
        .ensure(
            source.contains("class=\"consentry-notice\"")
                && source.contains("own analytics provider"),
            "the notice is in the page without JavaScript",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_10_axe_finds_no_violations() {
    let shop = TestShop::start().await;
    let browser = Browser::start("10-axe", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser.ensure_accessible("first layer").await;
    browser
        .open_settings_by(".consentry-customize > summary")
        .await;
    browser.ensure_accessible("customize dialog").await;
    browser.goto(&format!("{}/privacy", shop.url)).await;
    browser.banner_ready().await;
    browser.ensure_accessible("/privacy").await;
    for path in ["/register", "/account"] {
        if path == "/account" {
            browser.log_in(&shop.url).await;
        } else {
            browser.goto(&format!("{}{path}", shop.url)).await;
        }
        browser.banner_ready().await;
        browser.ensure_accessible(path).await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_12_consent_mode_default_denied_then_updated_and_the_js_api() {
    let shop = TestShop::start().await;
    let browser = Browser::start("banner-api", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    let api = browser
        .js("return ['open','get','allows'].every(k => typeof window.consentry[k] === 'function')")
        .await;
    browser
        .ensure(
            api == Value::Bool(true),
            "window.consentry.{open,get,allows}",
        )
        .await;
    let default_denied = browser
        .js("return dataLayer.some(e => e[0]==='consent' && e[1]==='default' && e[2].analytics_storage==='denied' && e[2].ad_storage==='denied')")
        .await;
    browser
        .ensure(
            default_denied == Value::Bool(true),
            "Consent Mode default is denied before any tag",
        )
        .await;
    browser
        .js("window.__changes = []; document.addEventListener('consentry:change', e => window.__changes.push(e.detail))")
        .await;
    browser.click("#consentry button[value=reject_all]").await;
    browser
        .ensure(
            browser
                .wait_js("return window.__changes.length === 1")
                .await,
            "one consentry:change event",
        )
        .await;
    let detail = browser.js("return window.__changes[0]").await;
    browser
        .ensure(
            detail["granted"] == serde_json::json!(["necessary"]),
            &format!("detail: {detail}"),
        )
        .await;
    let allows = browser
        .js("return [consentry.allows('necessary'), consentry.allows('analytics')]")
        .await;
    browser
        .ensure(
            allows == serde_json::json!([true, false]),
            &format!("allows: {allows}"),
        )
        .await;
    let update = browser
        .js("return dataLayer.filter(e => e[0]==='consent' && e[1]==='update').map(e => e[2].analytics_storage)")
        .await;
    browser
        .ensure(
            update == serde_json::json!(["denied"]),
            &format!("Consent Mode update follows the choice: {update}"),
        )
        .await;
    browser
        .ensure(
            !browser.exists(VISIBLE_BANNER).await,
            "no reload needed to close after rejecting",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_13_the_preferences_cookie_only_with_consent() {
    let shop = TestShop::start().await;
    let browser = Browser::start("13-preferences", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=reject_all]").await;
    browser
        .ensure(browser.wait_absent(VISIBLE_BANNER).await, "rejected")
        .await;
    let choose_inches = "document.querySelector('form.units select').value = 'in'; \
                         document.querySelector('form.units').requestSubmit()";
    browser.js(choose_inches).await;
    browser
        .ensure(
            browser
                .wait_js("return document.querySelector('td.size').textContent.endsWith(' in')")
                .await,
            "inches shown, kept on the server for the session",
        )
        .await;
    browser
        .ensure(
            !has(&browser.cookies().await, shop::UNITS_COOKIE),
            "no preferences cookie without consent",
        )
        .await;

    browser.open_settings().await;
    browser
        .click("#consentry-dialog button[value=accept_all]")
        .await;
    browser.banner_ready().await;
    browser.js(choose_inches).await;
    // The cookie is HttpOnly: wait for it through the browser's cookie store.
    let mut stored = false;
    for _ in 0..50 {
        if has(&browser.cookies().await, shop::UNITS_COOKIE) {
            stored = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser
        .ensure(
            stored,
            "the preferences cookie once preferences are granted",
        )
        .await;

    // Withdrawing preferences deletes the cookie (the gate, by its declaration).
    browser.open_settings().await;
    browser
        .click("#consentry-dialog button[value=reject_all]")
        .await;
    let mut deleted = false;
    for _ in 0..50 {
        if !has(&browser.cookies().await, shop::UNITS_COOKIE) {
            deleted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser
        .ensure(deleted, "withdrawal deletes the preferences cookie")
        .await;
    browser.close().await;
}

/// The offers purpose's records in the shop's ledger, as (subject, granted, consent id).
fn offers_records(shop: &TestShop) -> Vec<(String, bool, String)> {
    shop.ledger
        .records()
        .into_iter()
        .filter(|record| record.purpose.as_deref() == Some(shop::OFFERS))
        .map(|record| {
            let granted = record.grants(shop::OFFERS);
            (
                record.subject.unwrap_or_default(),
                granted,
                record.consent_id,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_14_offers_by_email_start_unticked_and_every_change_is_recorded() {
    let shop = TestShop::start().await;
    let browser = Browser::start("14-offers", BrowserOptions::default()).await;
    browser.goto(&format!("{}/register", shop.url)).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=reject_all]").await;
    browser
        .ensure(
            browser.wait_absent(VISIBLE_BANNER).await,
            "cookies rejected",
        )
        .await;
    let offers = browser.find("input[name=offers]").await;
    browser
        .ensure(
            offers.prop("checked").await.unwrap().as_deref() == Some("false"),
            "the offers box starts unticked",
        )
        .await;
    browser
        .type_into(&[
            ("input[name=email]", "reader@example.com"),
            ("input[name=password]", "long enough"),
        ])
        .await;
    browser.click("main form[action='/register'] button").await;
    browser
        .ensure(
            browser.wait_for_path("/account").await,
            "registered and signed in",
        )
        .await;
    let said = browser
        .find("#offers")
        .await
        .text()
        .await
        .unwrap_or_default();
    browser
        .ensure(
            said == "Offers by email: no",
            &format!("the account says no: {said}"),
        )
        .await;
    let consent_id = browser
        .js("return fetch('/consent').then(r => r.json()).then(s => s.id)")
        .await;
    let records = offers_records(&shop);
    browser
        .ensure(
            records.len() == 1
                && !records[0].1
                && records[0].0.starts_with("account-")
                && Some(records[0].2.as_str()) == consent_id.as_str(),
            &format!("the unticked box is recorded as a refusal, linked to this browser: {records:?} {consent_id}"),
        )
        .await;

    // Opt in, then out again, from the account page.
    for (button, expected) in [
        ("yes", "Offers by email: yes"),
        ("no", "Offers by email: no"),
    ] {
        browser
            .click(&format!(
                "form[action='/account/offers'] input[value={button}] ~ button"
            ))
            .await;
        let shown = browser
            .wait_js(&format!(
                "return document.querySelector('#offers')?.textContent === '{expected}'"
            ))
            .await;
        browser.ensure(shown, expected).await;
    }
    let choices: Vec<bool> = offers_records(&shop).iter().map(|r| r.1).collect();
    browser
        .ensure(
            choices == [false, true, false],
            &format!("the opt-in and the opt-out are in the ledger: {choices:?}"),
        )
        .await;
    let history_rows = browser
        .js("return document.querySelectorAll('#offers-history tr').length")
        .await;
    browser
        .ensure(
            history_rows.as_u64() == Some(4),
            &format!("the account page lists the three records: {history_rows}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_15_the_consent_report_matches_the_records_and_a_visitor_downloads_only_theirs() {
    let shop = TestShop::start().await;
    // Someone else decides first, so "only theirs" means something.
    let other = Browser::start("15-other", BrowserOptions::default()).await;
    other.goto(&shop.url).await;
    other.banner_ready().await;
    other.click("#consentry button[value=reject_all]").await;
    other
        .ensure(
            other.wait_absent(VISIBLE_BANNER).await,
            "the other visitor decided",
        )
        .await;
    other.close().await;

    let browser = Browser::start("15-report", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=accept_all]").await;
    browser
        .ensure(browser.wait_absent(VISIBLE_BANNER).await, "accepted")
        .await;
    let own = browser
        .js("return fetch('/consent/records').then(r => r.json())")
        .await;
    let id = own["id"].as_str().unwrap_or_default().to_owned();
    let theirs: Vec<Value> = shop
        .ledger
        .records()
        .into_iter()
        .filter(|record| record.consent_id == id)
        .map(|record| serde_json::to_value(record).unwrap())
        .collect();
    browser
        .ensure(
            own["records"].as_array() == Some(&theirs) && theirs.len() == 1,
            &format!("the download holds exactly this visitor's records: {own}"),
        )
        .await;
    browser.goto(&format!("{}/privacy", shop.url)).await;
    browser
        .ensure(
            browser
                .find(".consentry-records")
                .await
                .text()
                .await
                .unwrap_or_default()
                .contains(&id),
            "the privacy page names the visitor's consent id",
        )
        .await;

    the_report_counts_the_ledger(&browser, &shop, &id).await;
    browser.close().await;
}

/// The administrator's report, as `browser` sees it, against the shop's ledger; then the
/// proof for `id` through the lookup form.
async fn the_report_counts_the_ledger(browser: &Browser, shop: &TestShop, id: &str) {
    browser
        .log_in_as(&shop.url, "admin@example.com", "admin")
        .await;
    browser.goto(&format!("{}/admin/consent", shop.url)).await;
    let charts = browser
        .js("return document.querySelectorAll('main svg[role=img] > title').length")
        .await;
    browser
        .ensure(
            charts.as_u64() == Some(2),
            &format!("two labelled charts: {charts}"),
        )
        .await;
    let decisions = shop.ledger.records().len();
    let shown = browser
        .find("#decisions")
        .await
        .text()
        .await
        .unwrap_or_default();
    browser
        .ensure(
            shown == decisions.to_string() && decisions == 2,
            &format!("the report counts the ledger's {decisions} decisions, shows {shown}"),
        )
        .await;
    let reject = browser
        .find("#reject-all-share")
        .await
        .text()
        .await
        .unwrap_or_default();
    browser
        .ensure(
            reject == "50.0%",
            &format!("one of two rejected all: {reject}"),
        )
        .await;
    browser.ensure_accessible("/admin/consent").await;

    // The proof for the visitor's id, through the lookup form.
    browser.type_into(&[("input[name=id]", id)]).await;
    browser.click("form[role=search] button").await;
    let rows = browser
        .wait_js("return document.querySelectorAll('#proof tr').length === 2")
        .await;
    browser
        .ensure(rows, "the proof table: a header and the one decision")
        .await;
    browser.ensure_accessible("the proof").await;
}
