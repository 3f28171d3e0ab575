//! The banner's features beyond recording a choice, in headless Chromium: script
//! activation that keeps scripts working, cookie clearing in static mode, events, languages
//! and right-to-left layout, the cookie list and service switches, the JavaScript API, the
//! dark scheme, and axe-core in light, dark and right-to-left.

use consentry_tests::{Browser, BrowserOptions, StaticPage, StaticSite, TestShop, VISIBLE_BANNER};
use serde_json::{Value, json};

/// A static configuration with declared cookies, services and two translations.
const CONFIG: &str = r#"{"revision":1,"privacy":"/privacy.html","categories":[
{"id":"necessary","label":"Strictly necessary","description":"Runs the site.","locked":true},
{"id":"preferences","label":"Preferences","description":"Remembers settings.",
 "cookies":[{"name":"pref","provider":"This site","purpose":"Your language","duration":"1 year"}]},
{"id":"analytics","label":"Analytics","description":"Counts visits.",
 "cookies":[{"name":"_ga","prefix":true,"provider":"Google","purpose":"Distinguishes visitors","duration":"13 months"},
            {"name":"_sp","path":"/sub","provider":"Stats","purpose":"Counts pages","duration":"1 day"}],
 "services":[{"id":"matomo","label":"Matomo","description":"Self-hosted statistics.",
              "cookies":[{"name":"_pk_id","provider":"Matomo","purpose":"Visitor id","duration":"13 months"}]},
             {"id":"plausible","label":"Plausible","description":"Cookieless statistics."}]},
{"id":"marketing","label":"Marketing","description":"Advertising."}],
"translations":{
 "de":{"title":"Cookies auf dieser Website","acceptAll":"Alle akzeptieren","rejectAll":"Alle ablehnen",
       "customize":"Anpassen","save":"Auswahl speichern","cookies":"Cookies","cookieName":"Name",
       "categories":{"analytics":{"label":"Statistik","description":"Zählt Besuche."}}},
 "ar":{"title":"ملفات تعريف الارتباط على هذا الموقع","body":"نستخدم ملفات تعريف الارتباط الضرورية لتشغيل الموقع، وغيرها بموافقتك.",
       "acceptAll":"قبول الكل","rejectAll":"رفض الكل","customize":"تخصيص","save":"حفظ الاختيارات",
       "privacyLink":"سياسة الخصوصية","settingsLink":"إعدادات ملفات تعريف الارتباط",
       "settingsTitle":"إعدادات ملفات تعريف الارتباط","alwaysOn":"مفعّل دائمًا",
       "categories":{"analytics":{"label":"التحليلات","description":"تحسب الزيارات."}}}}}"#;

/// Records every `consentry:*` event into `window.__events` (as `name` or `name:view`),
/// from the first script of every page on.
async fn record_events(browser: &Browser) {
    let source = "window.__events = []; for (const name of ['ready','consent','change','show','hide','language']) \
        document.addEventListener('consentry:' + name, e => window.__events.push(e.detail && e.detail.view ? name + ':' + e.detail.view : name));";
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": source }),
        )
        .await;
}

async fn events(browser: &Browser) -> Value {
    browser.js("return window.__events").await
}

/// Waits until `window.__events` is exactly `expected`.
async fn expect_events(browser: &Browser, expected: Value, what: &str) {
    let script = format!(
        "return JSON.stringify(window.__events) === {:?}",
        expected.to_string()
    );
    let seen = browser.wait_js(&script).await;
    let got = events(browser).await;
    browser
        .ensure(seen, &format!("{what}: expected {expected}, got {got}"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_keep_their_attributes_run_in_order_and_rejections_have_their_own() {
    let page = StaticPage {
        body: r#"<main><h1>Scripts</h1><a href="/" data-consent-open>Cookie settings</a></main>
<script>window.__order = [];</script>
<script type="text/plain" data-consent="analytics" data-src="/slow.js" data-extra="x" crossorigin="anonymous" referrerpolicy="no-referrer"></script>
<script type="text/plain" data-consent="analytics">window.__order.push("inline after slow");</script>
<script type="text/plain" data-consent="analytics" data-type="module" data-src="/module.js"></script>
<script type="text/plain" data-consent="analytics:matomo">window.__order.push("matomo");</script>
<script type="text/plain" data-consent="analytics:plausible">window.__order.push("plausible");</script>
<script type="text/plain" data-consent="!marketing">window.__order.push("no marketing");</script>
<script type="text/plain" data-consent="!analytics">window.__order.push("no analytics");</script>"#
            .to_owned(),
        files: vec![
            (
                "/slow.js",
                "text/javascript",
                "window.__order.push('slow');".to_owned(),
                400,
            ),
            (
                "/module.js",
                "text/javascript",
                "window.__order.push('module ' + typeof import.meta.url);".to_owned(),
                0,
            ),
        ],
        ..StaticPage::default()
    };
    let site = StaticSite::start_with(CONFIG, page).await;
    let browser = Browser::start("features-scripts", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    let before = browser.js("return window.__order").await;
    browser
        .ensure(
            before == json!([]),
            &format!("nothing runs before a decision, not even !category scripts: {before}"),
        )
        .await;

    // Analytics with only the Matomo service, through the API.
    let state = browser
        .settle("consentry.accept(['analytics:matomo'])")
        .await;
    browser
        .ensure(
            state["granted"] == json!(["necessary", "analytics", "analytics:matomo"]),
            &format!("accept resolves with the state: {state}"),
        )
        .await;
    let ran = browser.wait_js("return window.__order.length === 5").await;
    let order = browser.js("return window.__order").await;
    browser
        .ensure(
            ran && order
                == json!([
                    "slow",
                    "inline after slow",
                    "module string",
                    "matomo",
                    "no marketing"
                ]),
            &format!(
                "document order, each external script waited for, modules as modules: {order}"
            ),
        )
        .await;
    let attributes = browser
        .js("const s = document.querySelector('script[data-extra=x]'); \
             return [s.type, s.crossOrigin, s.referrerPolicy, s.src.endsWith('/slow.js'), s.hasAttribute('data-src')]")
        .await;
    browser
        .ensure(
            attributes == json!(["", "anonymous", "no-referrer", true, false]),
            &format!("every attribute copied but type and data-src: {attributes}"),
        )
        .await;

    // Rejecting analytics (a withdrawal: the page reloads) runs the `!analytics` script.
    browser.settle("consentry.accept([])").await;
    browser.banner_ready().await;
    let rejected = browser
        .wait_js("return JSON.stringify(window.__order) === '[\"no marketing\",\"no analytics\"]'")
        .await;
    let order = browser.js("return window.__order").await;
    browser
        .ensure(rejected, &format!("after rejecting: {order}"))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_mode_deletes_the_cookies_of_what_is_withdrawn() {
    let site = StaticSite::start_with(CONFIG, StaticPage::default()).await;
    let browser = Browser::start("features-cookies", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=accept_all]").await;
    browser
        .ensure(browser.wait_absent(VISIBLE_BANNER).await, "accepted")
        .await;
    // What the granted categories' scripts would set, and two cookies nobody declared.
    browser
        .js("for (const c of ['_ga=1', '_ga_XYZ=2', '_pk_id=3', 'pref=4', 'keep=5']) document.cookie = c + '; path=/'; \
             document.cookie = '_sp=6; path=/sub';")
        .await;
    let held = cookie_names(&browser).await;
    browser
        .ensure(
            held == ["_ga", "_ga_XYZ", "_pk_id", "_sp", "keep", "pref"],
            &format!("cookies set while granted: {held:?}"),
        )
        .await;

    // Withdraw analytics in the settings dialog: its cookies (the prefix, the service's,
    // the one on another path) go; preferences' and the undeclared one stay.
    browser.open_settings_by("a[data-consent-open]").await;
    browser
        .click("#consentry-dialog #consentry-analytics")
        .await;
    let services_off = browser
        .js("return ['analytics:matomo','analytics:plausible'].map(v => document.querySelector(`input[value=\"${v}\"]`).checked)")
        .await;
    browser
        .ensure(
            services_off == json!([false, false]),
            &format!("switching the category off switches its services off: {services_off}"),
        )
        .await;
    browser.click("#consentry-dialog button[value=save]").await;
    let cleared = browser
        .wait_js("return !document.cookie.includes('_ga') && document.cookie.includes('consentry_choice=3.1.')")
        .await;
    browser.ensure(cleared, "analytics cookies deleted").await;
    browser.banner_ready().await;
    let held = cookie_names(&browser).await;
    browser
        .ensure(
            held == ["keep", "pref"],
            &format!("after withdrawing analytics: {held:?}"),
        )
        .await;

    // reset(): the choice and every declared cookie go, and the banner asks again.
    browser.js("consentry.reset()").await;
    browser.banner_ready().await;
    browser
        .ensure(
            browser.wait_present(VISIBLE_BANNER).await,
            "after reset the banner asks again",
        )
        .await;
    let held = cookie_names(&browser).await;
    browser
        .ensure(held == ["keep"], &format!("after reset: {held:?}"))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_fire_on_every_load_and_the_ready_promise_resolves() {
    let site = StaticSite::start_with(CONFIG, StaticPage::default()).await;
    let browser = Browser::start("features-events", BrowserOptions::default()).await;
    record_events(&browser).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    expect_events(&browser, json!(["ready", "show:banner"]), "first visit").await;
    let ready = browser.settle("consentry.ready").await;
    browser
        .ensure(
            ready["decided"] == json!(false) && ready["id"].is_null(),
            &format!("ready resolves with the state: {ready}"),
        )
        .await;

    browser
        .js("document.addEventListener('consentry:change', e => window.__changed = e.detail.changed)")
        .await;
    browser.click("#consentry button[value=accept_all]").await;
    expect_events(
        &browser,
        json!(["ready", "show:banner", "hide:banner", "consent", "change"]),
        "a decision",
    )
    .await;
    let changed = browser.js("return window.__changed").await;
    browser
        .ensure(
            changed
                == json!([
                    "preferences",
                    "analytics",
                    "analytics:matomo",
                    "analytics:plausible",
                    "marketing"
                ]),
            &format!("the change event names what was granted: {changed}"),
        )
        .await;
    let state = browser.js("return consentry.get()").await;
    let id = state["id"].as_str().unwrap_or_default().to_owned();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or_default();
    browser
        .ensure(
            id.len() == 32
                && state["decidedAt"]
                    .as_f64()
                    .is_some_and(|t| (t - now_ms).abs() < 60_000.0)
                && state["language"] == "en",
            &format!("the state has the consent id and the decision time: {state}"),
        )
        .await;

    browser.client.refresh().await.expect("reload");
    browser.banner_ready().await;
    expect_events(&browser, json!(["ready", "consent"]), "a returning visit").await;
    let same = browser.js("return consentry.get().id").await;
    browser
        .ensure(same == json!(id), "the consent id is kept")
        .await;

    browser.click("a[data-consent-open]").await;
    expect_events(
        &browser,
        json!(["ready", "consent", "show:settings"]),
        "settings open",
    )
    .await;
    browser
        .js("document.getElementById('consentry-dialog').close()")
        .await;
    expect_events(
        &browser,
        json!(["ready", "consent", "show:settings", "hide:settings"]),
        "settings closed",
    )
    .await;
    show_and_hide(&browser).await;
    browser.close().await;
}

/// `show()` and `hide()` of the first layer, each with its event, on a page whose events
/// so far were a returning visit and the settings opened and closed.
async fn show_and_hide(browser: &Browser) {
    browser.js("consentry.show()").await;
    browser
        .ensure(
            browser.wait_present(VISIBLE_BANNER).await,
            "show() shows the first layer",
        )
        .await;
    browser.js("consentry.hide()").await;
    browser
        .ensure(browser.wait_absent(VISIBLE_BANNER).await, "hide() hides it")
        .await;
    expect_events(
        browser,
        json!([
            "ready",
            "consent",
            "show:settings",
            "hide:settings",
            "show:banner",
            "hide:banner"
        ]),
        "show and hide",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn languages_follow_the_page_switch_at_run_time_and_lay_out_right_to_left() {
    let page = StaticPage {
        lang: "de-AT",
        ..StaticPage::default()
    };
    let site = StaticSite::start_with(CONFIG, page).await;
    let browser = Browser::start("features-languages", BrowserOptions::default()).await;
    record_events(&browser).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    let german = browser
        .js("const s = document.getElementById('consentry'); return [s.lang, s.dir, s.querySelector('h2').textContent, s.querySelector('button[value=accept_all]').textContent, s.querySelector('label[for=consentry-analytics]').textContent, s.querySelector('button[value=save]').textContent]")
        .await;
    browser
        .ensure(
            german
                == json!([
                    "de",
                    "ltr",
                    "Cookies auf dieser Website",
                    "Alle akzeptieren",
                    "Statistik",
                    "Auswahl speichern"
                ]),
            &format!("German from the page's lang=de-AT: {german}"),
        )
        .await;

    let switched = browser.js("return consentry.language('ar')").await;
    browser
        .ensure(switched == json!(true), "switching to Arabic")
        .await;
    let arabic = browser
        .js("const s = document.getElementById('consentry'); return [s.lang, s.dir, getComputedStyle(s).direction, s.querySelector('h2').textContent, consentry.get().language]")
        .await;
    browser
        .ensure(
            arabic
                == json!([
                    "ar",
                    "rtl",
                    "rtl",
                    "ملفات تعريف الارتباط على هذا الموقع",
                    "ar"
                ]),
            &format!("Arabic, right to left: {arabic}"),
        )
        .await;
    // Right to left: "Accept all" (first in the markup) sits right of "Reject all".
    let order = browser
        .js("const a = document.querySelector('#consentry button[value=accept_all]').getBoundingClientRect(); const r = document.querySelector('#consentry button[value=reject_all]').getBoundingClientRect(); return a.left > r.left")
        .await;
    browser
        .ensure(
            order == json!(true),
            "the buttons are laid out right to left",
        )
        .await;
    let unknown = browser.js("return consentry.language('xx')").await;
    browser
        .ensure(unknown == json!(false), "an unknown language is refused")
        .await;
    browser.ensure_accessible("the right-to-left banner").await;

    // The settings dialog in Arabic, then back to English while it is open.
    browser.open_settings_by("a[data-consent-open]").await;
    browser
        .ensure_accessible("the right-to-left settings dialog")
        .await;
    browser.js("consentry.language('en')").await;
    let english = browser
        .js("const s = document.querySelector('#consentry-dialog #consentry'); return s && [s.lang, s.dir, s.querySelector('h2').textContent, s.querySelector('label[for=consentry-analytics]').textContent, s.querySelector('#consentry-analytics-desc').textContent]")
        .await;
    browser
        .ensure(
            english
                == json!([
                    "en",
                    "ltr",
                    "Cookie settings",
                    "Analytics",
                    "Counts visits."
                ]),
            &format!("switched back inside the open dialog: {english}"),
        )
        .await;
    let seen = events(&browser).await;
    browser
        .ensure(
            seen.as_array()
                .is_some_and(|e| e.iter().filter(|n| *n == "language").count() == 2),
            &format!("a language event per switch: {seen}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cookie_settings_control_speaks_the_banners_language() {
    // No `data-consent-open` link on this page: the banner adds its own control once the
    // visitor decided, labelled from its markup (`data-settings-label`), and relabels it on a
    // language switch.
    let page = StaticPage {
        lang: "ar",
        body: "<main><h1>No settings link</h1></main>".to_owned(),
        ..StaticPage::default()
    };
    let site = StaticSite::start_with(CONFIG, page).await;
    let browser = Browser::start("features-control-label", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    browser.click("#consentry button[value=reject_all]").await;
    let label = "return document.querySelector('.consentry-open')?.textContent";
    let arabic = browser.js(label).await;
    browser
        .ensure(
            arabic == json!("إعدادات ملفات تعريف الارتباط"),
            &format!("the control in Arabic: {arabic}"),
        )
        .await;
    browser.js("consentry.language('en')").await;
    let english = browser.js(label).await;
    browser
        .ensure(
            english == json!("Cookie settings"),
            &format!("the control follows the switch: {english}"),
        )
        .await;
    // After a reload the decided visitor gets it again, in the page's language.
    browser.client.refresh().await.unwrap();
    browser.banner_ready().await;
    let again = browser.js(label).await;
    browser
        .ensure(
            again == json!("إعدادات ملفات تعريف الارتباط"),
            &format!("the control on the next visit: {again}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_dialog_lists_each_categorys_cookies_and_services() {
    let site = StaticSite::start_with(CONFIG, StaticPage::default()).await;
    let browser = Browser::start("features-transparency", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    browser.open_settings_by("a[data-consent-open]").await;
    let table = browser
        .js("const c = document.getElementById('consentry-analytics').closest('.consentry-category'); \
             return [c.querySelector('.consentry-cookies summary').textContent, \
                     [...c.querySelectorAll('.consentry-cookies th')].map(t => t.textContent), \
                     [...c.querySelectorAll('.consentry-cookies tbody tr')].map(r => [...r.cells].map(d => d.textContent))]")
        .await;
    browser
        .ensure(
            table
                == json!([
                    "Cookies (3)",
                    ["Name", "Provider", "Purpose", "Duration"],
                    [
                        ["_ga*", "Google", "Distinguishes visitors", "13 months"],
                        ["_sp", "Stats", "Counts pages", "1 day"],
                        ["_pk_id", "Matomo", "Visitor id", "13 months"]
                    ]
                ]),
            &format!("the analytics cookies, its service's included: {table}"),
        )
        .await;
    let services = browser
        .js("return [...document.querySelectorAll('#consentry-dialog .consentry-services input')].map(i => [i.value, i.labels[0].textContent, i.checked])")
        .await;
    browser
        .ensure(
            services
                == json!([
                    ["analytics:matomo", "Matomo", false],
                    ["analytics:plausible", "Plausible", false]
                ]),
            &format!("one switch per service, off: {services}"),
        )
        .await;
    // A service switch turns its category on; saving grants exactly it.
    browser
        .click("#consentry-dialog input[value='analytics:plausible']")
        .await;
    let category = browser
        .js("return document.getElementById('consentry-analytics').checked")
        .await;
    browser
        .ensure(category == json!(true), "the category follows its service")
        .await;
    browser.click("#consentry-dialog button[value=save]").await;
    let granted = browser
        .wait_js("return consentry.get().decided && consentry.allows('analytics:plausible')")
        .await;
    let state = browser.js("return consentry.get().granted").await;
    browser
        .ensure(
            granted && state == json!(["necessary", "analytics", "analytics:plausible"]),
            &format!("granted: {state}"),
        )
        .await;
    browser
        .ensure_accessible("the settings dialog with cookies and services")
        .await;
    browser.close().await;
}

/// The names of every cookie the browser holds (any path), but the choice.
async fn cookie_names(browser: &Browser) -> Vec<String> {
    let cookies = browser.cdp("Network.getAllCookies", json!({})).await;
    let mut names: Vec<String> = cookies["cookies"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .filter(|n| n != "consentry_choice")
        .collect();
    names.sort();
    names
}

/// The banner's background colour, computed.
async fn background(browser: &Browser) -> Value {
    browser
        .js("return getComputedStyle(document.getElementById('consentry')).backgroundColor")
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dark_scheme_follows_the_visitor_and_the_site_can_override_it() {
    let site = StaticSite::start_with(CONFIG, StaticPage::default()).await;
    let browser = Browser::start("features-dark", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    let light = background(&browser).await;
    browser
        .ensure(
            light == json!("rgb(255, 255, 255)"),
            &format!("light: {light}"),
        )
        .await;
    browser.ensure_accessible("light").await;

    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        )
        .await;
    let dark = background(&browser).await;
    browser
        .ensure(dark == json!("rgb(22, 24, 29)"), &format!("dark: {dark}"))
        .await;
    browser.ensure_accessible("dark").await;
    browser.open_settings_by("a[data-consent-open]").await;
    browser.ensure_accessible("dark settings dialog").await;

    // The site forces light, or themes the dark scheme.
    browser
        .js("document.documentElement.dataset.consentryScheme = 'light'")
        .await;
    let forced = background(&browser).await;
    browser
        .ensure(
            forced == json!("rgb(255, 255, 255)"),
            &format!("forced light: {forced}"),
        )
        .await;
    browser
        .js("delete document.documentElement.dataset.consentryScheme; document.documentElement.style.setProperty('--consentry-dark-bg', '#000000')")
        .await;
    let themed = background(&browser).await;
    browser
        .ensure(
            themed == json!("rgb(0, 0, 0)"),
            &format!("themed dark: {themed}"),
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_server_the_api_records_through_the_endpoint_and_shows_the_cookie_list() {
    let shop = TestShop::start().await;
    let browser = Browser::start("features-server", BrowserOptions::default()).await;
    record_events(&browser).await;
    browser.goto(&shop.url).await;
    browser.banner_ready().await;
    let section = browser
        .js("const s = document.getElementById('consentry'); return [s.lang, s.dir, s.querySelectorAll('.consentry-cookies tbody tr').length > 0]")
        .await;
    browser
        .ensure(
            section == json!(["en", "ltr", true]),
            &format!("the server's markup has lang, dir and the declared cookies: {section}"),
        )
        .await;
    let state = browser.settle("consentry.accept([])").await;
    browser
        .ensure(
            state["granted"] == json!(["necessary"])
                && state["id"].as_str().is_some_and(|id| id.len() == 32)
                && state["decidedAt"].is_number(),
            &format!("recorded by the server: {state}"),
        )
        .await;
    expect_events(
        &browser,
        json!(["ready", "show:banner", "hide:banner", "consent", "change"]),
        "a decision through the API",
    )
    .await;
    // The server's own answer agrees, and a returning page knows the id and time.
    browser.client.refresh().await.expect("reload");
    browser.banner_ready().await;
    let again = browser.js("return consentry.get()").await;
    browser
        .ensure(
            again["id"] == state["id"] && again["decidedAt"] == state["decidedAt"],
            &format!("the markup carries the id and time: {again} vs {state}"),
        )
        .await;
    expect_events(&browser, json!(["ready", "consent"]), "a returning visit").await;
    browser
        .cdp(
            "Emulation.setEmulatedMedia",
            json!({ "features": [{ "name": "prefers-color-scheme", "value": "dark" }] }),
        )
        .await;
    browser.open_settings().await;
    browser
        .ensure_accessible("the shop's settings dialog in the dark scheme")
        .await;
    browser
        .js("document.getElementById('consentry-dialog').close()")
        .await;

    // reset() with a server: every optional category is withdrawn through the endpoint
    // (the server records it and deletes the cookies) and the page reloads.
    let granted = browser
        .settle("consentry.accept('all').then(s => s.granted)")
        .await;
    browser
        .ensure(
            granted.as_array().is_some_and(|g| g.len() > 1),
            &format!("accepted: {granted}"),
        )
        .await;
    browser.banner_ready().await;
    browser.js("consentry.reset()").await;
    let withdrawn = browser
        .wait_js("return !!window.consentry && !!consentry.get && consentry.get().decided && consentry.get().granted.join() === 'necessary' && !document.cookie.includes('_sa=')")
        .await;
    let state = browser
        .js("return window.consentry && consentry.get && consentry.get()")
        .await;
    browser
        .ensure(withdrawn, &format!("after reset: {state}"))
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_host_serving_the_webassembly_with_another_type_still_works() {
    let page = StaticPage {
        wasm_type: "application/octet-stream",
        ..StaticPage::default()
    };
    let site = StaticSite::start_with(CONFIG, page).await;
    let browser = Browser::start("features-mime", BrowserOptions::default()).await;
    browser.goto(&site.url).await;
    browser.banner_ready().await;
    browser
        .ensure(
            browser.wait_present(VISIBLE_BANNER).await,
            "the banner starts from the bytes",
        )
        .await;
    // A mistaken argument records nothing.
    let refused = browser
        .settle("consentry.accept(42).then(() => 'accepted', () => consentry.get().decided)")
        .await;
    browser
        .ensure(
            refused == json!(false),
            &format!("accept(42) is refused and nothing decided: {refused}"),
        )
        .await;

    // One id grants that category (with its services) and nothing else.
    let granted = browser
        .settle("consentry.accept('analytics').then(s => s.granted)")
        .await;
    browser
        .ensure(
            granted
                == json!([
                    "necessary",
                    "analytics",
                    "analytics:matomo",
                    "analytics:plausible"
                ]),
            &format!("accept('analytics'): {granted}"),
        )
        .await;
    // A language switch after the decision keeps the banner hidden (it was never opened
    // in the settings dialog).
    browser.js("consentry.language('de')").await;
    let hidden = browser
        .js("return document.getElementById('consentry').lang === 'de' && document.getElementById('consentry').hidden")
        .await;
    browser
        .ensure(
            hidden == json!(true),
            "switching language after a decision keeps the banner hidden",
        )
        .await;
    browser.close().await;
}
