//! The WebAssembly banner in headless Chromium, on the shop (server mode) and on a static
//! page (static mode).

use consentry_tests::{Browser, BrowserOptions, TestShop, VISIBLE_BANNER, has, hits_settle};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_enables_analytics_and_settings_withdraw_it() {
    let shop = TestShop::start().await;
    let browser = Browser::start("banner-accept-withdraw", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser
        .ensure(
            browser.exists(VISIBLE_BANNER).await,
            "banner shown on a first visit",
        )
        .await;
    browser
        .ensure(hits_settle(&shop).await == 0, "no analytics before consent")
        .await;

    browser.click("#consentry button[value=accept_all]").await;
    // Analytics' origin is not in this page's CSP: the banner reloads, the server renders the
    // tag live.
    let live = browser
        .wait_js("return document.cookie.includes('_sa=')")
        .await;
    browser
        .ensure(live, "the analytics script ran and set _sa")
        .await;
    browser
        .ensure(!browser.exists(VISIBLE_BANNER).await, "banner closed")
        .await;
    let after_accept = hits_settle(&shop).await;
    browser
        .ensure(
            after_accept >= 1,
            &format!("hits arrive after consent: {after_accept}"),
        )
        .await;
    let state = browser.js("return window.consentry.get()").await;
    browser
        .ensure(
            state["decided"] == Value::Bool(true),
            &format!("decided: {state}"),
        )
        .await;

    // Withdraw analytics through "Cookie settings".
    browser.open_settings().await;
    let ticked = browser
        .js("return document.getElementById('consentry-analytics').checked")
        .await;
    browser
        .ensure(ticked == Value::Bool(true), "analytics shown as granted")
        .await;
    browser.click("#consentry-analytics").await;
    browser.click("#consentry-dialog button[value=save]").await;
    let gone = browser
        .wait_js("return !document.cookie.includes('_sa=')")
        .await;
    browser.ensure(gone, "withdrawal deleted _sa").await;
    let cookies = browser.cookies().await;
    browser
        .ensure(
            !has(&cookies, "_sa") && has(&cookies, "__Host-consent"),
            &format!("cookies after withdrawal: {cookies:?}"),
        )
        .await;
    browser
        .ensure(browser.wait_for_path("/").await, "page reloaded")
        .await;
    let before = hits_settle(&shop).await;
    browser.client.refresh().await.unwrap();
    browser
        .ensure(browser.wait_for_path("/").await, "reloaded again")
        .await;
    let after = hits_settle(&shop).await;
    browser
        .ensure(
            after == before,
            &format!("no hits after withdrawal: {before} -> {after}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customize_is_a_modal_dialog_that_returns_focus() {
    let shop = TestShop::start().await;
    let browser = Browser::start("banner-dialog", BrowserOptions::default()).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    browser
        .js("document.querySelector('.consentry-customize > summary').focus()")
        .await;
    browser
        .open_settings_by(".consentry-customize > summary")
        .await;
    let modal = browser
        .js("return document.querySelector('#consentry-dialog').matches(':modal')")
        .await;
    browser
        .ensure(modal == Value::Bool(true), "the dialog is modal")
        .await;
    let inside = browser
        .js("return document.getElementById('consentry-dialog').contains(document.activeElement)")
        .await;
    browser
        .ensure(inside == Value::Bool(true), "focus moved into the dialog")
        .await;
    let unticked = browser
        .js("return [...document.querySelectorAll('#consentry-dialog input[name=granted]:not([disabled])')].every(i => !i.checked)")
        .await;
    browser
        .ensure(
            unticked == Value::Bool(true),
            "every optional switch starts unticked",
        )
        .await;
    browser
        .js("document.getElementById('consentry-dialog').close()")
        .await;
    let restored = browser
        .wait_js("return document.activeElement && document.activeElement.matches('.consentry-customize > summary')")
        .await;
    browser
        .ensure(restored, "focus returned to Customize")
        .await;
    browser
        .ensure(
            browser.exists(VISIBLE_BANNER).await,
            "first layer back, still undecided",
        )
        .await;
    browser.close().await;
}

fn static_config(revision: u32) -> String {
    format!(
        r#"{{"revision":{revision},"privacy":"/privacy.html","gpcDenies":["marketing"],"categories":[
{{"id":"necessary","label":"Strictly necessary","description":"Runs the site.","locked":true}},
{{"id":"analytics","label":"Analytics","description":"Counts visits."}},
{{"id":"marketing","label":"Marketing","description":"Advertising."}}]}}"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_mode_renders_stores_the_choice_and_activates_scripts() {
    let site = consentry_tests::StaticSite::start(&static_config(1)).await;
    let browser = Browser::start("banner-static", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser
        .static_banner_round_trip(".necessary.analytics.marketing")
        .await;
    browser.close().await;

    // A new revision asks again.
    let site = consentry_tests::StaticSite::start(&static_config(2)).await;
    let browser = Browser::start("banner-static-revision", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    browser
        .js("document.cookie = 'consentry_choice=2.1.1800000000.necessary.analytics; path=/'")
        .await;
    browser.client.refresh().await.unwrap();
    browser.banner_ready().await;
    browser
        .ensure(
            browser.exists(VISIBLE_BANNER).await,
            "a choice for revision 1 does not count for revision 2",
        )
        .await;
    let inert = browser.js("return window.__analytics === undefined").await;
    browser
        .ensure(inert == Value::Bool(true), "old grants are not applied")
        .await;
    browser.close().await;
}

/// Collects `console.error` messages into `window.__errors`, from the first script of
/// every page on.
async fn capture_errors(browser: &Browser) {
    let source = "window.__errors = []; const original = console.error; \
        console.error = (...args) => { window.__errors.push(args.join(' ')); original(...args); };";
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            serde_json::json!({ "source": source }),
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_mode_honours_global_privacy_control() {
    // The browser sends Global Privacy Control: "Accept all" leaves the configuration's
    // `gpcDenies` off; ticking one explicitly still grants it.
    let site = consentry_tests::StaticSite::start(&static_config(1)).await;
    let browser = Browser::start(
        "banner-static-gpc",
        BrowserOptions {
            gpc: true,
            ..BrowserOptions::default()
        },
    )
    .await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    let noticed = browser
        .js("return consentry.get().gpc && !!document.querySelector('#consentry [data-gpc]')")
        .await;
    browser
        .ensure(
            noticed == Value::Bool(true),
            "the banner says it honours the signal",
        )
        .await;
    browser.click("#consentry button[value=accept_all]").await;
    let granted = browser.js("return consentry.get().granted").await;
    browser
        .ensure(
            granted == serde_json::json!(["necessary", "analytics"]),
            &format!("accept all under GPC leaves marketing off: {granted}"),
        )
        .await;
    browser.open_settings_by("[data-consent-open]").await;
    browser.click("#consentry-marketing").await;
    browser.click("#consentry button[value=save]").await;
    let granted = browser
        .settle("consentry.get().granted.includes('marketing')")
        .await;
    browser
        .ensure(
            granted == Value::Bool(true),
            "an explicit tick grants marketing all the same",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_configuration_mistakes_are_reported_and_necessary_always_granted() {
    // `categorys` misspelled: no categories but necessary, and the console says why.
    let site = consentry_tests::StaticSite::start(
        r#"{"revision":1,"categorys":[],"texts":{"acceptALL":"Yes","categories":{}},
            "translations":{"de":{"sve":"Ja","categories":{"analytics":{"label":"Statistik"}}}}}"#,
    )
    .await;
    let browser = Browser::start("banner-static-mistakes", BrowserOptions::default()).await;
    capture_errors(&browser).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    let errors = browser.js("return window.__errors.join('\\n')").await;
    let errors = errors.as_str().unwrap_or_default().to_owned();
    browser
        .ensure(
            errors.contains("unknown configuration key \"categorys\"")
                && errors.contains("unknown text \"acceptALL\"")
                && errors.contains("unknown text \"sve\"")
                && errors.contains("no categories besides \"necessary\"")
                && !errors.contains("\"categories\" (known"),
            &format!("each misspelling is named: {errors}"),
        )
        .await;
    browser
        .ensure(
            browser.wait_present(VISIBLE_BANNER).await,
            "the banner still shows",
        )
        .await;
    browser.click("#consentry button[value=accept_all]").await;
    let granted = browser.js("return window.consentry.get().granted").await;
    browser
        .ensure(
            granted == serde_json::json!(["necessary"]),
            &format!("Accept all grants necessary at least: {granted}"),
        )
        .await;
    browser.close().await;

    // Categories without an id or listed twice are named; a correct configuration (texts,
    // translations with their labels, services and cookies) says nothing.
    let mistakes = consentry_tests::StaticSite::start(
        r#"{"revision":1,"categories":[{"id":"analytics","label":"A"},{"label":"B"},{"id":"analytics"}]}"#,
    )
    .await;
    let correct = consentry_tests::StaticSite::start(
        r#"{"revision":2,"privacy":"/p","gpcDenies":["marketing"],"language":"en","gpc":false,
            "texts":{"acceptAll":"Yes to all"},
            "translations":{"de":{"acceptAll":"Alle","categories":{"analytics":{"label":"Statistik","description":"Zählt"},"analytics:matomo":{"label":"Matomo"}}}},
            "categories":[{"id":"necessary","label":"N","locked":true},
              {"id":"analytics","label":"A","description":"D","cookies":[{"name":"_ga","prefix":true,"provider":"G","purpose":"P","duration":"1y","domain":".example.com","path":"/"}],
               "services":[{"id":"matomo","label":"M","description":"S","cookies":[{"name":"_pk"}]}]}]}"#,
    )
    .await;
    let browser = Browser::start("banner-static-categories", BrowserOptions::default()).await;
    capture_errors(&browser).await;
    browser.goto(&mistakes.url).await;
    browser.banner_ready().await;
    let errors = browser.js("return window.__errors").await;
    browser
        .ensure(
            errors
                == serde_json::json!([
                    "consentry: a category has no \"id\"",
                    "consentry: category listed twice: analytics"
                ]),
            &format!("the categories' mistakes are named: {errors}"),
        )
        .await;
    browser.goto(&correct.url).await;
    browser.banner_ready().await;
    let errors = browser.js("return window.__errors").await;
    let read = browser
        .js("const s = document.getElementById('consentry'); return [s.querySelector('button[value=accept_all]').textContent, !!s.querySelector('a[href=\"/p\"]'), consentry.get().revision, s.querySelectorAll('.consentry-cookies tbody tr').length, !!document.getElementById('consentry-analytics:matomo')]")
        .await;
    browser
        .ensure(
            errors == serde_json::json!([])
                && read == serde_json::json!(["Yes to all", true, 2, 2, true]),
            &format!("a correct configuration reads without a word: {errors} {read}"),
        )
        .await;
    browser.close().await;

    // Malformed JSON is named too.
    let site = consentry_tests::StaticSite::start(r#"{"revision":1,"categories":[}"#).await;
    let browser = Browser::start("banner-static-bad-json", BrowserOptions::default()).await;
    capture_errors(&browser).await;
    browser.goto(&site.url).await;
    let reported = browser
        .wait_js("return window.__errors.some(e => e.includes('not valid JSON'))")
        .await;
    browser
        .ensure(reported, "malformed JSON is reported on the console")
        .await;
    browser.close().await;
}
