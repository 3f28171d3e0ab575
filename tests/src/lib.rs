//! Test harness for the cross-crate and real-browser tests: a shop on free loopback ports
//! and a headless Chromium driven through chromedriver.

#![allow(
    clippy::missing_panics_doc,
    reason = "a test harness: every failure is a panic by design"
)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use consentry::Key;
use consentry::ledger::MemoryLedger;
use consentry::store::MemoryStore;
// Tests run in parallel: every server gets a port no other server of this process was given.
use consentry::store::servers::{free_port, scratch_dir};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use shop::ShopConfig;
use shop::analytics::Counter;
use tokio::net::TcpListener;

/// In-process requests to an app (`tower::ServiceExt::oneshot`) and what came back.
pub mod oneshot {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{HeaderMap, Request, StatusCode, header};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    /// A response, read whole.
    #[derive(Debug)]
    pub struct Reply {
        /// The status.
        pub status: StatusCode,
        /// The headers.
        pub headers: HeaderMap,
        /// The body as text.
        pub body: String,
    }

    impl Reply {
        /// Every `Set-Cookie` header.
        pub fn set_cookies(&self) -> Vec<&str> {
            self.headers
                .get_all(header::SET_COOKIE)
                .iter()
                .map(|v| v.to_str().expect("Set-Cookie is text"))
                .collect()
        }

        /// The value set (not expired) for cookie `name`.
        pub fn new_cookie(&self, name: &str) -> Option<String> {
            self.set_cookies().into_iter().find_map(|cookie| {
                let value = cookie
                    .strip_prefix(name)?
                    .strip_prefix('=')?
                    .split(';')
                    .next()?;
                (!value.is_empty() && !cookie.contains("Max-Age=0")).then(|| value.to_owned())
            })
        }

        /// The `Location` header.
        pub fn location(&self) -> Option<&str> {
            self.headers
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
        }
    }

    /// Sends `request` to `app`.
    ///
    /// # Panics
    /// When the app fails or its body is not UTF-8.
    pub async fn send(app: &Router, request: Request<Body>) -> Reply {
        let response = app.clone().oneshot(request).await.expect("the app answers");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the body is readable")
            .to_bytes();
        Reply {
            status,
            headers,
            body: String::from_utf8(bytes.to_vec()).expect("the body is UTF-8"),
        }
    }
}

/// The workspace README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct WorkspaceReadmeDoctests;

/// The banner while it is shown (it stays in the page, `hidden`, once the visitor decided).
pub const VISIBLE_BANNER: &str = "#consentry:not([hidden])";

/// Whether `(name, value)` cookies include `name`.
pub fn has(cookies: &[(String, String)], name: &str) -> bool {
    cookies.iter().any(|(n, _)| n == name)
}

/// The analytics hit count once in-flight requests have landed.
pub async fn hits_settle(shop: &TestShop) -> u64 {
    tokio::time::sleep(Duration::from_millis(300)).await;
    shop.analytics.stats().hits
}

/// A running shop and its analytics provider, on free loopback ports.
pub struct TestShop {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The analytics provider's counters.
    pub analytics: Counter,
    /// Consent decisions recorded.
    pub ledger: MemoryLedger,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Options for [`TestShop::start_with`].
#[derive(Debug, Clone)]
pub struct ShopOptions {
    /// The consent policy revision.
    pub policy_revision: u32,
    /// The signing secret (keep it across restarts so cookies stay valid).
    pub secret: [u8; 32],
}

impl Default for ShopOptions {
    fn default() -> Self {
        Self {
            policy_revision: 1,
            secret: [7; 32],
        }
    }
}

impl TestShop {
    /// A shop with default options.
    pub async fn start() -> Self {
        Self::start_with(ShopOptions::default()).await
    }

    /// A shop on 127.0.0.1 with its analytics provider.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start_with(options: ShopOptions) -> Self {
        let analytics_listener = TcpListener::bind(("127.0.0.1", free_port()))
            .await
            .expect("bind analytics");
        let shop_listener = TcpListener::bind(("127.0.0.1", free_port()))
            .await
            .expect("bind shop");
        let analytics_addr = analytics_listener.local_addr().expect("analytics address");
        let shop_addr = shop_listener.local_addr().expect("shop address");
        let ledger = MemoryLedger::new();
        let mut config = ShopConfig::new(Key::from_bytes(&options.secret).expect("32-byte secret"));
        config.store = Arc::new(MemoryStore::new());
        config.ledger = Arc::new(ledger.clone());
        config.policy_revision = options.policy_revision;
        config.analytics_origin = format!("http://{analytics_addr}");
        let app = shop::app(config).expect("shop config");
        let (analytics_app, analytics) = shop::analytics::app();
        let tasks = vec![
            tokio::spawn(async move {
                let _ = axum::serve(
                    shop_listener,
                    app.into_make_service_with_connect_info::<SocketAddr>(),
                )
                .await;
            }),
            tokio::spawn(async move {
                let _ = axum::serve(analytics_listener, analytics_app).await;
            }),
        ];
        Self {
            url: format!("http://{shop_addr}"),
            analytics,
            ledger,
            tasks,
        }
    }
}

impl Drop for TestShop {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A static site using the npm package's banner (static mode), on a free loopback port.
pub struct StaticSite {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

/// A page of a [`StaticSite`]: what goes around the banner's configuration, and files
/// served beside it.
#[derive(Debug, Clone)]
pub struct StaticPage {
    /// The `<html lang>`.
    pub lang: &'static str,
    /// The start of `<body>`, before the banner's tags.
    pub body: String,
    /// Extra files: `(path, content type, body, delay before answering in ms)`.
    pub files: Vec<(&'static str, &'static str, String, u64)>,
    /// The content type the WebAssembly is served with (some static hosts get it wrong).
    pub wasm_type: &'static str,
}

impl Default for StaticPage {
    /// The page [`StaticSite::start`] serves: an inline analytics script that counts its
    /// runs in `window.__analytics`, and a "Cookie settings" link.
    fn default() -> Self {
        Self {
            lang: "en",
            body: r#"<main><h1>A static page</h1>
<a href="/" data-consent-open>Cookie settings</a></main>
<script type="text/plain" data-consent="analytics">window.__analytics = (window.__analytics || 0) + 1;</script>"#
                .to_owned(),
            files: Vec::new(),
            wasm_type: "application/wasm",
        }
    }
}

impl StaticSite {
    /// Serves `www/` and an index page carrying `config` (the banner's JSON configuration).
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(config: &str) -> Self {
        Self::start_with(config, StaticPage::default()).await
    }

    /// Serves `www/` and `page` with `config`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start_with(config: &str, page: StaticPage) -> Self {
        use axum::http::header::CONTENT_TYPE;
        use axum::response::IntoResponse;

        let www = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../www");
        let html = format!(
            r#"<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Static</title>
<link rel="stylesheet" href="/consentry-banner.css"></head><body>{body}
<script type="application/json" id="consentry-config">{config}</script>
<script type="module" src="/consentry-banner.js"></script></body></html>"#,
            lang = page.lang,
            body = page.body,
        );
        let file = move |name: &'static str, kind: &'static str| {
            let path = www.join(name);
            move || async move {
                (
                    [(CONTENT_TYPE, kind)],
                    std::fs::read(&path).expect("www/ is built"),
                )
                    .into_response()
            }
        };
        let mut app = axum::Router::new()
            .route(
                "/",
                axum::routing::get(move || async move { axum::response::Html(html) }),
            )
            .route(
                "/consentry-banner.js",
                axum::routing::get(file("consentry-banner.js", "text/javascript")),
            )
            .route(
                "/consentry-banner.wasm",
                axum::routing::get(file("consentry-banner.wasm", page.wasm_type)),
            )
            .route(
                "/consentry-banner.css",
                axum::routing::get(file("consentry-banner.css", "text/css")),
            );
        for (path, kind, body, delay) in page.files {
            app = app.route(
                path,
                axum::routing::get(move || async move {
                    tokio::time::sleep(Duration::from_millis(delay)).await;
                    ([(CONTENT_TYPE, kind)], body).into_response()
                }),
            );
        }
        let (url, task) = serve(app).await;
        Self { url, task }
    }
}

impl Drop for StaticSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How to start the browser.
#[derive(Debug, Clone, Copy)]
pub struct BrowserOptions {
    /// Whether pages may run JavaScript.
    pub javascript: bool,
    /// Send `Sec-GPC: 1` and expose `navigator.globalPrivacyControl = true`.
    pub gpc: bool,
}

impl Default for BrowserOptions {
    fn default() -> Self {
        Self {
            javascript: true,
            gpc: false,
        }
    }
}

/// A headless Chromium session; chromedriver and the browser end when it is dropped.
pub struct Browser {
    /// The `WebDriver` client.
    pub client: Client,
    driver: Child,
    profile: PathBuf,
    name: String,
}

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium profile. `name` labels the
    /// screenshots written on failure.
    ///
    /// # Panics
    /// When Chromium or chromedriver is missing (`scripts/test` installs both) or does not
    /// start.
    pub async fn start(name: &str, options: BrowserOptions) -> Self {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                std::path::Path::new(tool).exists(),
                "{tool} is missing: run scripts/test, which installs the chromium and chromium-driver packages"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = scratch_dir("consentry-chromium");
        let mut args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,800".to_owned(),
            format!("--user-data-dir={}", profile.display()),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_owned());
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(error) if Instant::now() > deadline => panic!("no WebDriver session: {error}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        };
        let browser = Self {
            client,
            driver,
            profile,
            name: name.to_owned(),
        };
        if options.gpc {
            browser.cdp("Network.enable", json!({})).await;
            browser
                .cdp(
                    "Network.setExtraHTTPHeaders",
                    json!({ "headers": { "Sec-GPC": "1" } }),
                )
                .await;
            browser
                .cdp(
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({ "source": "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true });" }),
                )
                .await;
        }
        browser
    }

    /// Runs a Chrome `DevTools` Protocol command through `chromedriver`.
    ///
    /// # Panics
    /// When the command fails.
    pub async fn cdp(&self, command: &str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp {
                command: command.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|error| panic!("CDP {command}: {error}"))
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// The element matching `css`, or a failure with a screenshot.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => self.fail(&format!("no element {css}: {error}")).await,
        }
    }

    /// Whether an element matches `css`.
    pub async fn exists(&self, css: &str) -> bool {
        !self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_default()
            .is_empty()
    }

    /// Waits (up to 10 s) until an element matches `css`; false if none did.
    pub async fn wait_present(&self, css: &str) -> bool {
        self.wait_until(css, true).await
    }

    /// Waits (up to 10 s) until no element matches `css`; false if one still does.
    pub async fn wait_absent(&self, css: &str) -> bool {
        self.wait_until(css, false).await
    }

    async fn wait_until(&self, css: &str, present: bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .map(|all| !all.is_empty());
            // An error means the page is between documents: look again.
            if found.is_ok_and(|found| found == present) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) for the page at `path` to be loaded.
    pub async fn wait_for_path(&self, path: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let at = self
                .client
                .current_url()
                .await
                .is_ok_and(|url| url.path() == path);
            let ready = self
                .client
                .execute("return document.readyState", vec![])
                .await
                .is_ok_and(|state| state == "complete");
            if at && ready {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every cookie the browser holds for the current page, `HttpOnly` ones included:
    /// `(name, value)`.
    pub async fn cookies(&self) -> Vec<(String, String)> {
        self.client
            .get_all_cookies()
            .await
            .expect("cookies readable")
            .into_iter()
            .map(|c| (c.name().to_owned(), c.value().to_owned()))
            .collect()
    }

    /// Runs `script` in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        match self.client.execute(script, vec![]).await {
            Ok(value) => value,
            Err(error) => {
                self.fail(&format!("script failed: {error}\n{script}"))
                    .await
            }
        }
    }

    /// Waits (up to 10 s) until `script` returns `true`.
    pub async fn wait_js(&self, script: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self
                .client
                .execute(script, vec![])
                .await
                .is_ok_and(|v| v == Value::Bool(true))
            {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the banner's module has started (it defines `window.consentry`).
    pub async fn banner_ready(&self) {
        let ready = self
            .wait_js("return !!(window.consentry && window.consentry.get)")
            .await;
        self.ensure(ready, "the WebAssembly banner started").await;
    }

    /// The static banner's whole round trip on the open page, whose inert analytics
    /// script sets `window.__analytics`: the banner shows and analytics waits; "Accept
    /// all" runs it without a reload and stores a timed choice ending in `granted_suffix`;
    /// a reload keeps the choice; "Reject all" from the settings reloads without analytics.
    pub async fn static_banner_round_trip(&self, granted_suffix: &str) {
        self.banner_ready().await;
        self.ensure(
            self.wait_present(VISIBLE_BANNER).await,
            "the banner renders itself",
        )
        .await;
        let inert = self.js("return window.__analytics === undefined").await;
        self.ensure(inert == Value::Bool(true), "analytics inert before consent")
            .await;

        self.click("#consentry button[value=accept_all]").await;
        self.ensure(self.wait_absent(VISIBLE_BANNER).await, "banner closed")
            .await;
        let ran = self.wait_js("return window.__analytics === 1").await;
        self.ensure(ran, "the analytics script ran once, without a reload")
            .await;
        let cookie = self.js("return document.cookie").await;
        self.ensure(
            cookie
                .as_str()
                .and_then(choice_in)
                .is_some_and(|value| value.ends_with(granted_suffix)),
            &format!("choice stored, timed: {cookie}"),
        )
        .await;

        self.client.refresh().await.expect("reload");
        self.banner_ready().await;
        self.ensure(!self.exists(VISIBLE_BANNER).await, "the choice sticks")
            .await;
        self.ensure(
            self.wait_js("return window.__analytics === 1").await,
            "granted script runs on load",
        )
        .await;
        let state = self.js("return window.consentry.get()").await;
        self.ensure(state["decided"] == Value::Bool(true), &format!("{state}"))
            .await;

        // Withdrawing from the settings dialog reloads with analytics off.
        self.open_settings_by("a[data-consent-open]").await;
        self.click("#consentry-dialog button[value=reject_all]")
            .await;
        self.ensure(
            self.wait_js(
                r"return /(^|; )consentry_choice=3\.1\.\d+\.[0-9a-f]{32}\.necessary(;|$)/.test(document.cookie)",
            )
            .await,
            "rejection stored, with its time",
        )
        .await;
        self.banner_ready().await;
        let off = self
            .wait_js("return window.__analytics === undefined && !consentry.allows('analytics')")
            .await;
        self.ensure(off, "after withdrawal the page reloaded without analytics")
            .await;
    }

    /// Types each text into the field its CSS selector finds, as a person would.
    pub async fn type_into(&self, fields: &[(&str, &str)]) {
        for (field, text) in fields {
            if let Err(error) = self.find(field).await.send_keys(text).await {
                self.fail(&format!("typing into {field}: {error}")).await;
            }
        }
    }

    /// Logs in as the demo customer through the shop's login form.
    pub async fn log_in(&self, shop_url: &str) {
        self.log_in_as(shop_url, "demo@example.com", "demo").await;
    }

    /// Logs in through the shop's login form.
    pub async fn log_in_as(&self, shop_url: &str, email: &str, password: &str) {
        self.goto(&format!("{shop_url}/login")).await;
        self.type_into(&[
            ("input[name=email]", email),
            ("input[name=password]", password),
        ])
        .await;
        self.click("main form button[type=submit]").await;
        self.ensure(self.wait_for_path("/account").await, "logged in")
            .await;
    }

    /// Opens the banner's settings dialog through the page's "Cookie settings" link.
    pub async fn open_settings(&self) {
        self.open_settings_by("footer a[data-consent-open]").await;
    }

    /// Opens the banner's settings dialog by clicking `opener`.
    pub async fn open_settings_by(&self, opener: &str) {
        self.click(opener).await;
        let open = self.wait_present("dialog#consentry-dialog[open]").await;
        self.ensure(open, &format!("{opener} opens the settings dialog"))
            .await;
    }

    /// What a JavaScript expression gives once settled: its value, or what the promise it
    /// returns resolves to; `"rejected: <reason>"` when that promise rejects.
    pub async fn settle(&self, expression: &str) -> Value {
        let script = format!(
            "const done = arguments[arguments.length - 1]; \
             Promise.resolve().then(() => {expression}).then(done, e => done('rejected: ' + e));"
        );
        match self.client.execute_async(&script, vec![]).await {
            Ok(value) => value,
            Err(error) => self.fail(&format!("{expression}: {error}")).await,
        }
    }

    /// Fails unless axe-core finds no violations on the page; `what` names the view.
    pub async fn ensure_accessible(&self, what: &str) {
        let violations = self.axe_violations().await;
        self.ensure(
            violations.is_empty(),
            &format!("axe, {what}: {violations:?}"),
        )
        .await;
    }

    /// Runs axe-core on the page and returns its violations as `id (impact): targets`.
    pub async fn axe_violations(&self) -> Vec<String> {
        let path =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
        let source = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/test, which installs axe-core",
                path.display()
            )
        });
        self.js(&source).await;
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                    .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await;
        match result {
            Ok(Value::Array(items)) => items
                .into_iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect(),
            other => self.fail(&format!("axe did not run: {other:?}")).await,
        }
    }

    /// The current page's HTML.
    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// Saves a screenshot to `test-output/<test>-<label>.png` and returns its path.
    pub async fn screenshot(&self, label: &str) -> Option<PathBuf> {
        let png = self.client.screenshot().await.ok()?;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test-output");
        std::fs::create_dir_all(&dir).ok()?;
        let path = dir.join(format!("{}-{label}.png", self.name));
        std::fs::write(&path, png).ok()?;
        Some(path)
    }

    /// Fails the test with `message`, after a screenshot of the page.
    pub async fn fail(&self, message: &str) -> ! {
        let shot = self.screenshot("failure").await;
        panic!("{message}\n(screenshot: {shot:?})");
    }

    /// Asserts `condition`, failing with a screenshot.
    pub async fn ensure(&self, condition: bool, message: &str) {
        if !condition {
            self.fail(message).await;
        }
    }

    /// Ends the session.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `POST /session/{id}/goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    command: String,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.command, "params": self.params }).to_string()),
        )
    }
}

/// The value of the static banner's choice cookie in `document.cookie` text, when it is the
/// current format (`3.<revision 1>.<unix seconds>.<consent id: 32 hex digits>.…`) with a
/// time near now.
pub fn choice_in(cookies: &str) -> Option<&str> {
    let value = cookies
        .split("; ")
        .find_map(|pair| pair.strip_prefix("consentry_choice="))?;
    let mut parts = value.strip_prefix("3.1.")?.split('.');
    let time: u64 = parts.next()?.parse().ok()?;
    let id = parts.next()?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    (time.abs_diff(now) < 600).then_some(value)
}

/// Serves `app` on a free loopback port: its `http://127.0.0.1:PORT` URL, and the task to
/// abort when done.
///
/// # Panics
/// When no loopback port can be bound.
pub async fn serve(app: axum::Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind(("127.0.0.1", free_port()))
        .await
        .expect("a free loopback port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}
