//! The session layer end to end, through `consentry::testing::Client`.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use consentry::store::{
    Changes, MemoryStore, Record, SessionKey, SessionStore, StoreError, StoreFuture,
};
use consentry::testing::Client;
use consentry::{Consentry, ConsentryLayer, Key, Keyring, ManualClock, Session, SessionConfig};
use http::{Request, Response, StatusCode, header};
use http_body_util::Full;
use tower::{Layer, service_fn};

const T0: u64 = 1_800_000_000;

/// A tiny app: `/set/K/V`, `/get/K`, `/login/USER`, `/logout`, `/static`; under
/// `/public/…` the same with `Cache-Control: public, max-age=3600`.
async fn app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let session = request
        .extensions()
        .get::<Session>()
        .cloned()
        .expect("layer installed");
    let public = request.uri().path().starts_with("/public/");
    let path = request
        .uri()
        .path()
        .trim_start_matches("/public")
        .to_owned();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let result: Result<String, consentry::SessionError> = async {
        Ok(match parts.as_slice() {
            ["set", key, value] => {
                session.insert(key, value).await?;
                "ok".to_owned()
            }
            ["get", key] => session
                .get::<String>(key)
                .await?
                .unwrap_or_else(|| "-".into()),
            ["login", user] => {
                session.cycle_id().await?;
                session.insert("user", user).await?;
                "logged in".to_owned()
            }
            ["logout"] => {
                session.destroy();
                "bye".to_owned()
            }
            _ => "static".to_owned(),
        })
    }
    .await;
    let mut response = Response::new(result.unwrap_or_else(|e| format!("error: {e}")));
    if public {
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            http::HeaderValue::from_static("public, max-age=3600"),
        );
    }
    Ok(response)
}

fn keyring() -> Keyring {
    Keyring::new(1, Key::from_bytes(&[42; 32]).unwrap())
}

fn layer_with(
    store: Arc<dyn SessionStore>,
    clock: &ManualClock,
    config: impl FnOnce(SessionConfig) -> SessionConfig,
) -> ConsentryLayer {
    Consentry::builder(keyring())
        .session(config(SessionConfig::with_shared_store(store)))
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// The layer in front of [`app`], visited with an explicit session cookie each time.
struct Site {
    layer: ConsentryLayer,
}

struct Answer {
    status: StatusCode,
    body: String,
    set_cookie: Vec<String>,
    retry_after: Option<String>,
    cache_control: Option<String>,
}

impl Answer {
    /// The new `__Host-sid` value, if the response set one.
    fn sid(&self) -> Option<String> {
        self.set_cookie.iter().find_map(|c| {
            let value = c.strip_prefix("__Host-sid=")?.split(';').next()?;
            (!value.is_empty() && !c.contains("Max-Age=0")).then(|| value.to_owned())
        })
    }

    fn expires_sid(&self) -> bool {
        self.set_cookie
            .iter()
            .any(|c| c.starts_with("__Host-sid=;") && c.contains("Max-Age=0"))
    }
}

impl Site {
    async fn get(&self, path: &str, sid: Option<&str>) -> Answer {
        let mut request = Request::get(path);
        if let Some(sid) = sid {
            request = request.header(header::COOKIE, format!("theme=dark; __Host-sid={sid}"));
        }
        let reply = Client::new(self.layer.layer(service_fn(app)))
            .send(request.body(Full::default()).unwrap())
            .await;
        Answer {
            status: reply.status,
            body: reply.text(),
            set_cookie: reply.set_cookies().into_iter().map(str::to_owned).collect(),
            retry_after: reply.header("retry-after").map(str::to_owned),
            cache_control: reply.header("cache-control").map(str::to_owned),
        }
    }
}

fn client(clock: &ManualClock) -> (Site, Arc<MemoryStore>) {
    let store = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let layer = layer_with(store.clone(), clock, |c| c);
    (Site { layer }, store)
}

#[tokio::test]
async fn first_visit_gets_no_cookie_and_storing_creates_one() {
    let clock = ManualClock::new(T0);
    let (client, store) = client(&clock);
    let first = client.get("/get/cart", None).await;
    assert_eq!(first.body, "-");
    assert!(
        first.set_cookie.is_empty(),
        "a first visit must set no cookie"
    );
    assert!(store.is_empty());

    let stored = client.get("/set/cart/3", None).await;
    let sid = stored.sid().expect("storing a value begins a session");
    assert_eq!(
        stored.cache_control.as_deref(),
        Some("private"),
        "never shared-cached"
    );
    assert_eq!(
        first.cache_control, None,
        "responses without cookies are left alone"
    );
    let cookie = &stored.set_cookie[0];
    for attribute in [
        "Path=/",
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Max-Age=1800",
    ] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    assert_eq!(client.get("/get/cart", Some(&sid)).await.body, "3");
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn forged_cookie_is_ignored_and_replaced() {
    let clock = ManualClock::new(T0);
    let (client, _) = client(&clock);
    let sid = client.get("/set/user/alice", None).await.sid().unwrap();
    let mut forged = sid.clone().into_bytes();
    let last = forged.len() - 5;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();

    let answer = client.get("/get/user", Some(&forged)).await;
    assert_eq!(
        answer.body, "-",
        "a forged cookie must not reach the session"
    );
    assert!(answer.expires_sid(), "a bad cookie is expired, not trusted");
    let answer = client.get("/set/user/mallory", Some(&forged)).await;
    assert_ne!(answer.sid().as_deref(), Some(forged.as_str()));
    assert_eq!(client.get("/get/user", Some(&sid)).await.body, "alice");
}

#[tokio::test]
async fn login_cycles_the_id_so_a_planted_id_is_worthless() {
    let clock = ManualClock::new(T0);
    let (client, store) = client(&clock);
    let planted = client.get("/set/cart/2", None).await.sid().unwrap();
    let after_login = client
        .get("/login/alice", Some(&planted))
        .await
        .sid()
        .unwrap();
    assert_ne!(planted, after_login, "login must issue a new session id");
    assert_ne!(planted[..30], after_login[..30]);
    assert_eq!(
        client.get("/get/user", Some(&after_login)).await.body,
        "alice"
    );
    assert_eq!(
        client.get("/get/cart", Some(&after_login)).await.body,
        "2",
        "data survives cycling"
    );
    let replay = client.get("/get/user", Some(&planted)).await;
    assert_eq!(replay.body, "-", "the pre-login id must be dead");
    assert!(replay.expires_sid());
    assert_eq!(store.len(), 1, "the old record is deleted");
}

#[tokio::test]
async fn logout_destroys_the_record_so_a_replayed_cookie_is_dead() {
    let clock = ManualClock::new(T0);
    let (client, store) = client(&clock);
    let sid = client.get("/login/alice", None).await.sid().unwrap();
    let bye = client.get("/logout", Some(&sid)).await;
    assert!(bye.expires_sid(), "logout expires the cookie");
    assert!(store.is_empty(), "logout deletes the record");
    let replay = client.get("/get/user", Some(&sid)).await;
    assert_eq!(replay.body, "-");
    // Writing with the replayed cookie begins a different session, never the old one.
    let fresh = client.get("/set/user/eve", Some(&sid)).await.sid().unwrap();
    assert_ne!(fresh, sid);
    assert_eq!(client.get("/get/user", Some(&sid)).await.body, "-");
}

#[tokio::test]
async fn idle_timeout_ends_a_quiet_session() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let layer = layer_with(store, &clock, |c| {
        c.idle_timeout(Duration::from_secs(60))
            .absolute_lifetime(Duration::from_secs(300))
            .refresh_after(Duration::from_secs(10))
    });
    let client = Site { layer };
    let sid = client.get("/set/user/alice", None).await.sid().unwrap();
    clock.advance(Duration::from_secs(59));
    assert_eq!(client.get("/get/user", Some(&sid)).await.body, "alice");
    // That visit renewed the cookie; the old value keeps its old deadline.
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        client.get("/get/user", Some(&sid)).await.body,
        "-",
        "61 s idle on the old cookie"
    );

    let sid = client.get("/set/user/bob", None).await.sid().unwrap();
    clock.advance(Duration::from_secs(61));
    let late = client.get("/get/user", Some(&sid)).await;
    assert_eq!(late.body, "-", "a session idle past the timeout is over");
    assert!(late.expires_sid());
}

#[tokio::test]
async fn no_shared_cache_keeps_a_session_cookie() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let layer = layer_with(store, &clock, |c| {
        c.idle_timeout(Duration::from_secs(600))
            .refresh_after(Duration::from_secs(10))
    });
    let client = Site { layer };

    let created = client.get("/public/set/user/alice", None).await;
    let sid = created.sid().expect("a session begun on a public response");
    assert_eq!(
        created.cache_control.as_deref(),
        Some("private, max-age=3600"),
        "a response carrying a new session cookie is private, its max-age kept"
    );

    clock.advance(Duration::from_secs(20));
    let asset = client.get("/public/static", Some(&sid)).await;
    assert!(
        asset.set_cookie.is_empty(),
        "a due renewal waits for a response no shared cache keeps: {:?}",
        asset.set_cookie
    );
    assert_eq!(asset.cache_control.as_deref(), Some("public, max-age=3600"));
    let page = client.get("/get/user", Some(&sid)).await;
    assert_eq!(page.body, "alice");
    assert!(page.sid().is_some(), "the next private response renews it");
    assert_eq!(page.cache_control.as_deref(), Some("private"));

    let renewed = page.sid().unwrap();
    let changed = client.get("/public/set/cart/2", Some(&renewed)).await;
    assert!(
        changed.set_cookie.is_empty(),
        "a change to a fresh cookie's session writes no cookie"
    );
    assert_eq!(
        changed.cache_control.as_deref(),
        Some("public, max-age=3600"),
        "so the response stays as the app made it"
    );
    assert_eq!(client.get("/get/cart", Some(&renewed)).await.body, "2");

    let forged = client.get("/public/static", Some("forged")).await;
    assert!(forged.expires_sid(), "a bad cookie is deleted");
    assert_eq!(
        forged.cache_control.as_deref(),
        Some("private, max-age=3600"),
        "a deletion is not for everyone either"
    );
}

#[tokio::test]
async fn one_request_s_session_never_shows_in_the_next() {
    // Requests on one thread reuse the session state of finished ones: nothing of the
    // previous visitor may remain in it.
    let clock = ManualClock::new(T0);
    let (client, _) = client(&clock);
    let alice = client.get("/set/cart/3", None).await.sid().unwrap();
    let stranger = client.get("/get/cart", None).await;
    assert_eq!(stranger.body, "-");
    assert!(stranger.set_cookie.is_empty());
    let forged = client.get("/get/cart", Some("forged")).await;
    assert!(forged.expires_sid());
    let clean = client.get("/get/cart", None).await;
    assert!(clean.set_cookie.is_empty(), "the stale mark is not reused");
    assert_eq!(client.get("/get/cart", Some(&alice)).await.body, "3");
    let bob = client.get("/set/user/bob", None).await.sid().unwrap();
    assert_ne!(bob, alice);
    assert_eq!(client.get("/get/cart", Some(&bob)).await.body, "-");
    assert_eq!(client.get("/get/user", Some(&alice)).await.body, "-");
}

#[tokio::test]
async fn a_session_kept_past_its_response_stays_its_own() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let layer = layer_with(store, &clock, |c| c);
    let kept: Arc<std::sync::Mutex<Option<Session>>> = Arc::default();
    let keeper = Arc::clone(&kept);
    let service = layer.layer(service_fn(move |request: Request<Full<Bytes>>| {
        let keeper = Arc::clone(&keeper);
        async move {
            let session = request.extensions().get::<Session>().cloned().unwrap();
            let body = if request.uri().path() == "/keep" {
                session.insert("who", "first").await.unwrap();
                *keeper.lock().unwrap() = Some(session);
                String::new()
            } else {
                // The handle the first request kept, read while this request's own
                // session holds "second".
                session.insert("who", "second").await.unwrap();
                let earlier = keeper.lock().unwrap().take().unwrap();
                format!("{:?}", earlier.get::<String>("who").await.unwrap())
            };
            Ok::<_, Infallible>(Response::new(body))
        }
    }));
    let client = Client::new(service);
    client
        .send(Request::get("/keep").body(Full::default()).unwrap())
        .await;
    let second = client
        .send(Request::get("/other").body(Full::default()).unwrap())
        .await;
    assert_eq!(
        second.text(),
        "None",
        "a handle kept past its response is never handed to another request"
    );
}

#[tokio::test]
async fn absolute_lifetime_ends_even_an_active_session() {
    let clock = ManualClock::new(T0);
    let store = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let layer = layer_with(store, &clock, |c| {
        c.idle_timeout(Duration::from_secs(60))
            .absolute_lifetime(Duration::from_secs(300))
            .refresh_after(Duration::from_secs(10))
    });
    let client = Site { layer };
    let mut sid = client.get("/set/user/alice", None).await.sid().unwrap();
    let mut elapsed = 0;
    while elapsed + 50 < 300 {
        clock.advance(Duration::from_secs(50));
        elapsed += 50;
        let answer = client.get("/get/user", Some(&sid)).await;
        assert_eq!(answer.body, "alice", "active at {elapsed} s");
        sid = answer.sid().expect("an active session is renewed");
    }
    clock.advance(Duration::from_secs(300 - elapsed));
    assert_eq!(
        client.get("/get/user", Some(&sid)).await.body,
        "-",
        "absolute lifetime reached"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_requests_changing_different_keys_all_persist() {
    let clock = ManualClock::new(T0);
    let (client, _) = client(&clock);
    let sid = client.get("/set/start/1", None).await.sid().unwrap();
    let client = Arc::new(client);
    let tasks: Vec<_> = (0..100)
        .map(|n| {
            let client = Arc::clone(&client);
            let sid = sid.clone();
            tokio::spawn(async move {
                assert_eq!(
                    client
                        .get(&format!("/set/k{n}/v{n}"), Some(&sid))
                        .await
                        .status,
                    StatusCode::OK
                );
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    for n in 0..100 {
        assert_eq!(
            client.get(&format!("/get/k{n}"), Some(&sid)).await.body,
            format!("v{n}"),
            "key k{n} lost"
        );
    }
}

#[tokio::test]
async fn rotated_out_key_works_while_in_the_ring_only() {
    let clock = ManualClock::new(T0);
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let old_key = || Key::from_bytes(&[1; 32]).unwrap();
    let new_key = || Key::from_bytes(&[2; 32]).unwrap();
    let build = |ring: Keyring| Site {
        layer: Consentry::builder(ring)
            .session(SessionConfig::with_shared_store(store.clone()))
            .clock(clock.clone())
            .build()
            .unwrap(),
    };
    let before = build(Keyring::new(1, old_key()));
    let sid = before.get("/set/user/alice", None).await.sid().unwrap();

    let rotating = build(Keyring::new(2, new_key()).with_verify_only(1, old_key()));
    assert_eq!(rotating.get("/get/user", Some(&sid)).await.body, "alice");

    let after = build(Keyring::new(2, new_key()));
    assert_eq!(after.get("/get/user", Some(&sid)).await.body, "-");
}

/// A store that can be switched off, like a database going down.
struct Flaky {
    inner: MemoryStore,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::unavailable(std::io::Error::other(
                "connection refused",
            )))
        } else {
            Ok(())
        }
    }
}

impl SessionStore for Flaky {
    fn load<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, Option<Record>> {
        match self.check() {
            Ok(()) => self.inner.load(key),
            Err(e) => Box::pin(async { Err(e) }),
        }
    }
    fn create<'a>(
        &'a self,
        key: &'a SessionKey,
        record: &'a Record,
        deadline: u64,
    ) -> StoreFuture<'a, ()> {
        match self.check() {
            Ok(()) => self.inner.create(key, record, deadline),
            Err(e) => Box::pin(async { Err(e) }),
        }
    }
    fn update<'a>(
        &'a self,
        key: &'a SessionKey,
        changes: &'a Changes,
        deadline: u64,
    ) -> StoreFuture<'a, bool> {
        match self.check() {
            Ok(()) => self.inner.update(key, changes, deadline),
            Err(e) => Box::pin(async { Err(e) }),
        }
    }
    fn delete<'a>(&'a self, key: &'a SessionKey) -> StoreFuture<'a, ()> {
        match self.check() {
            Ok(()) => self.inner.delete(key),
            Err(e) => Box::pin(async { Err(e) }),
        }
    }
}

#[tokio::test]
async fn store_outage_is_a_503_with_retry_after_and_never_a_new_session() {
    let clock = ManualClock::new(T0);
    let flaky = Arc::new(Flaky {
        inner: MemoryStore::new().with_clock(clock.clone()),
        down: AtomicBool::new(false),
    });
    let layer = layer_with(flaky.clone(), &clock, |c| {
        c.retry_after(Duration::from_secs(7))
    });
    let client = Site { layer };
    let sid = client.get("/set/user/alice", None).await.sid().unwrap();

    flaky.down.store(true, Ordering::SeqCst);
    for path in ["/get/user", "/set/cart/1", "/login/alice"] {
        let answer = client.get(path, Some(&sid)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
        assert_eq!(answer.retry_after.as_deref(), Some("7"));
        assert!(
            answer.set_cookie.is_empty(),
            "{path}: no new session during an outage"
        );
        assert!(answer.body.contains("session_store_unavailable"));
    }
    let new_visitor = client.get("/set/cart/1", None).await;
    assert_eq!(
        new_visitor.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "a failed create is a 503"
    );
    assert!(new_visitor.set_cookie.is_empty());
    let logout = client.get("/logout", Some(&sid)).await;
    assert_eq!(
        logout.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "an unsaved logout is not a success"
    );
    let untouched = client.get("/static", Some(&sid)).await;
    assert_eq!(
        untouched.status,
        StatusCode::OK,
        "requests that do not use the session keep working"
    );

    flaky.down.store(false, Ordering::SeqCst);
    assert_eq!(
        client.get("/get/user", Some(&sid)).await.body,
        "alice",
        "the session survived the outage"
    );
}

/// `/login` (with `?remember=SECS`), `/user`, `/logid`, `/cycle`.
async fn options_app(request: Request<Full<Bytes>>) -> Result<Response<String>, Infallible> {
    let session = request.extensions().get::<Session>().cloned().unwrap();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let body = match request.uri().path() {
        "/login" => {
            session.insert("user", &"demo").await.unwrap();
            if let Some(secs) = query.strip_prefix("remember=") {
                let secs: u64 = secs.parse().unwrap();
                session
                    .remember_for(Duration::from_secs(secs))
                    .await
                    .unwrap();
            }
            "ok".to_owned()
        }
        "/user" => session
            .get::<String>("user")
            .await
            .unwrap()
            .unwrap_or_else(|| "-".into()),
        "/cycle" => {
            session.cycle_id().await.unwrap();
            "cycled".to_owned()
        }
        _ => session.log_id().unwrap_or_else(|| "-".into()),
    };
    Ok(Response::new(body))
}

fn options_client(
    clock: &ManualClock,
    config: impl FnOnce(SessionConfig) -> SessionConfig,
) -> Client<consentry::ConsentryService<OptionsApp>> {
    let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new().with_clock(clock.clone()));
    let app: OptionsApp = service_fn(|request| Box::pin(options_app(request)) as _);
    Client::new(layer_with(store, clock, config).layer(app))
}

type OptionsApp = tower::util::ServiceFn<
    fn(
        Request<Full<Bytes>>,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<Response<String>, Infallible>> + Send>,
    >,
>;

#[tokio::test]
async fn cookie_name_domain_same_site_and_browser_sessions() {
    let clock = ManualClock::new(T0);
    let host_only = options_client(&clock, |c| {
        c.cookie_name("app_session")
            .same_site(consentry::SameSite::Strict)
            .browser_session(true)
    });
    let reply = host_only.get("/login").await;
    let set = reply.set_cookie("__Host-app_session").expect("renamed");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains("Max-Age"), "a browser-session cookie: {set}");
    assert!(!set.contains("Domain"), "{set}");
    assert_eq!(host_only.get("/user").await.text(), "demo");

    let shared = options_client(&clock, |c| c.domain("example.com"));
    let reply = shared.get("/login").await;
    let set = reply
        .set_cookie("__Secure-sid")
        .expect("__Secure- with a domain");
    assert!(
        set.contains("Domain=example.com") && set.contains("Max-Age="),
        "{set}"
    );
    assert!(reply.set_cookie("__Host-sid").is_none());

    for bad in [
        SessionConfig::new(MemoryStore::new()).cookie_name("__Host-x"),
        SessionConfig::new(MemoryStore::new()).cookie_name("a b"),
        SessionConfig::new(MemoryStore::new()).domain("https://example.com/"),
    ] {
        assert!(Consentry::builder(keyring()).session(bad).build().is_err());
    }
    let none_in_dev = Consentry::builder(keyring())
        .session(SessionConfig::new(MemoryStore::new()).same_site(consentry::SameSite::None))
        .dev_cookies(true)
        .build();
    assert!(none_in_dev.is_err(), "SameSite=None needs Secure");
}

#[tokio::test]
async fn remember_me_outlives_the_idle_timeout_and_keeps_a_lasting_cookie() {
    let clock = ManualClock::new(T0);
    let config = |c: SessionConfig| c.browser_session(true);
    let plain = options_client(&clock, config);
    plain.get("/login").await;
    let remembered = options_client(&clock, config);
    let reply = remembered.get("/login?remember=1209600").await;
    let set = reply.set_cookie("__Host-sid").unwrap();
    assert!(
        set.contains("Max-Age=1209600"),
        "lasting for 14 days: {set}"
    );

    // A session that exists already is remembered from now on.
    let later = options_client(&clock, config);
    later.get("/login").await;
    let reply = later.get("/login?remember=3600").await;
    let set = reply.set_cookie("__Host-sid").expect("written again");
    assert!(set.contains("Max-Age=3600"), "{set}");

    // A day without a visit: past the 30-minute idle timeout.
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(
        plain.get("/user").await.text(),
        "-",
        "the plain session ended"
    );
    assert_eq!(remembered.get("/user").await.text(), "demo", "remembered");
    // Logging in again (a new id) keeps it remembered.
    remembered.get("/cycle").await;
    clock.advance(Duration::from_secs(86_400));
    assert_eq!(remembered.get("/user").await.text(), "demo");
    // Never longer than max_remember (30 days by default), however long asked for.
    let greedy = options_client(&clock, config);
    let reply = greedy.get("/login?remember=99999999").await;
    let set = reply.set_cookie("__Host-sid").unwrap();
    assert!(set.contains("Max-Age=2592000"), "{set}");
}

#[tokio::test]
async fn the_log_id_names_a_session_without_revealing_it() {
    let clock = ManualClock::new(T0);
    let client = options_client(&clock, |c| c);
    assert_eq!(client.get("/logid").await.text(), "-", "no session yet");
    client.get("/login").await;
    let id = client.get("/logid").await.text();
    assert_eq!(id.len(), 16);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(client.get("/logid").await.text(), id, "stable");
    let cookie = client.cookie("__Host-sid").unwrap();
    assert!(!cookie.contains(&id));
    client.get("/cycle").await;
    assert_ne!(
        client.get("/logid").await.text(),
        id,
        "a new id, a new log id"
    );
}
