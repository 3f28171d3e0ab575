//! `RedisStore` against a real `redis-server` that each test starts on a free port.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use consentry::store::{Changes, Record, SessionKey, SessionStore, conformance};
use consentry::{Clock, Key, StoreError, SystemClock};
use consentry_redis::RedisStore;
use http_body_util::BodyExt as _;
use shop::ShopConfig;
use tower::ServiceExt as _;

const REDIS_SERVER: &str = "/usr/bin/redis-server";

/// A `redis-server` with append-only persistence in a fresh folder.
struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    fn start() -> Self {
        assert!(
            std::path::Path::new(REDIS_SERVER).exists(),
            "{REDIS_SERVER} is missing: run scripts/test, which installs the redis-server package"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("consentry-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Self {
            port,
            dir,
            child: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let child = Command::new(REDIS_SERVER)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.pong() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pong(&self) -> bool {
        self.command("PING")
            .is_some_and(|reply| reply.starts_with("+PONG"))
    }

    /// Sends one inline command and returns the first reply line.
    fn command(&self, command: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(1))).ok()?;
        stream.write_all(format!("{command}\r\n").as_bytes()).ok()?;
        let mut buffer = [0u8; 256];
        let read = stream.read(&mut buffer).ok()?;
        Some(String::from_utf8_lossy(&buffer[..read]).into_owned())
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server the hard way, like a crash.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn passes_the_store_conformance_suite() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url()).unwrap();
    conformance::run(&store, SystemClock.now()).await;
    // And with another prefix, the same keys do not collide.
    let other = RedisStore::builder(&server.url())
        .prefix("other:")
        .build()
        .unwrap();
    conformance::run(&other, SystemClock.now()).await;
}

#[tokio::test]
async fn keys_are_hashes_under_the_prefix_with_a_ttl() {
    let server = RedisServer::start();
    let store = RedisStore::builder(&server.url())
        .prefix("shop:s:")
        .build()
        .unwrap();
    let key = SessionKey::from_digest([0xAB; 32]);
    let deadline = SystemClock.now() + 600;
    store
        .create(
            &key,
            &Record::from([("cart".into(), "[1]".into())]),
            deadline,
        )
        .await
        .unwrap();
    let name = format!("shop:s:{key}");
    assert_eq!(
        server.command(&format!("TYPE {name}")).as_deref(),
        Some("+hash\r\n")
    );
    let ttl: i64 = server
        .command(&format!("TTL {name}"))
        .unwrap()
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap();
    assert!(
        (590..=600).contains(&ttl),
        "TTL follows the deadline: {ttl}"
    );
    let keys = server.command("KEYS *").unwrap();
    assert!(
        keys.contains(&key.to_string()) && !keys.contains("sid"),
        "{keys}"
    );
}

fn shop_on(store: &RedisStore) -> Router {
    let mut config = ShopConfig::new(Key::from_bytes(&[11; 32]).unwrap());
    config.store = Arc::new(store.clone());
    shop::app(config).unwrap()
}

struct Reply {
    status: StatusCode,
    retry_after: Option<String>,
    sid: Option<String>,
    body: String,
}

async fn send(
    app: &Router,
    method: &str,
    path: &str,
    sid: Option<&str>,
    form: Option<&str>,
) -> Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, "127.0.0.1:3000");
    if let Some(sid) = sid {
        request = request.header(header::COOKIE, format!("__Host-sid={sid}"));
    }
    if form.is_some() {
        request = request
            .header(header::ORIGIN, "http://127.0.0.1:3000")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let body = form.map_or_else(Body::empty, |f| Body::from(f.to_owned()));
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().unwrap().to_owned());
    let sid = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .find_map(|v| {
            let value = v
                .to_str()
                .unwrap()
                .strip_prefix("__Host-sid=")?
                .split(';')
                .next()?;
            (!value.is_empty()).then(|| value.to_owned())
        });
    let body = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    Reply {
        status,
        retry_after,
        sid,
        body,
    }
}

async fn login(app: &Router) -> String {
    let reply = send(
        app,
        "POST",
        "/login",
        None,
        Some("email=demo%40example.com&password=demo"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.sid.expect("login sets the session cookie")
}

#[tokio::test]
async fn a_login_on_one_instance_works_on_another() {
    let server = RedisServer::start();
    let first = shop_on(&RedisStore::new(&server.url()).unwrap());
    let second = shop_on(&RedisStore::new(&server.url()).unwrap());
    let sid = login(&first).await;
    let account = send(&second, "GET", "/account", Some(&sid), None).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.body.contains("demo@example.com"));
    // Logging out on the second instance ends the session on the first.
    send(&second, "POST", "/logout", Some(&sid), Some("")).await;
    assert_eq!(
        send(&first, "GET", "/account", Some(&sid), None)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_on_two_instances_merge() {
    let server = RedisServer::start();
    let store = RedisStore::new(&server.url()).unwrap();
    let apps = [
        shop_on(&store),
        shop_on(&RedisStore::new(&server.url()).unwrap()),
    ];
    let sid = login(&apps[0]).await;
    let skus = ["BC-500", "FL-A5-1000", "PO-A2-10", "ST-RND-250"];
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let app = apps[n % 2].clone();
            let sid = sid.clone();
            let form = format!("sku={}&qty=1", skus[n % 4]);
            tokio::spawn(async move {
                send(&app, "POST", "/cart", Some(&sid), Some(&form))
                    .await
                    .status
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::SEE_OTHER);
    }
    // Different SKUs are different cart lines in one session value, so the last writer of
    // the cart wins there; what must hold is that the login survived every write.
    let account = send(&apps[1], "GET", "/account", Some(&sid), None).await;
    assert!(
        account.body.contains("demo@example.com"),
        "the user key survived concurrent cart writes"
    );

    // Distinct keys written concurrently through the store itself all persist.
    let key = SessionKey::from_digest([0x5A; 32]);
    store
        .create(&key, &Record::new(), SystemClock.now() + 600)
        .await
        .unwrap();
    let writes: Vec<_> = (0..100)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut changes = Changes::default();
                changes.insert(format!("k{n}"), format!("{n}"));
                store
                    .update(&key, &changes, SystemClock.now() + 600)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for write in writes {
        assert!(write.await.unwrap());
    }
    let record = store.load(&key).await.unwrap().unwrap();
    assert_eq!(record.len(), 100, "every concurrent key persisted");
}

#[tokio::test]
async fn redis_killed_means_503_for_session_requests_only_and_recovery_after_restart() {
    let mut server = RedisServer::start();
    let app = shop_on(&RedisStore::new(&server.url()).unwrap());
    let sid = login(&app).await;
    assert_eq!(
        send(&app, "GET", "/account", Some(&sid), None).await.status,
        StatusCode::OK
    );

    server.kill();
    for (method, path, form) in [
        ("GET", "/account", None),
        ("POST", "/cart", Some("sku=BC-500&qty=1")),
        ("GET", "/", None),
    ] {
        let started = Instant::now();
        let reply = send(&app, method, path, Some(&sid), form).await;
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}: {}",
            reply.body
        );
        assert!(
            reply.retry_after.is_some(),
            "{method} {path} says when to retry"
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{method} {path} answered promptly"
        );
    }
    assert_eq!(
        send(&app, "GET", "/", None, None).await.status,
        StatusCode::OK,
        "anonymous browsing goes on"
    );
    assert_eq!(
        send(&app, "GET", "/static/shop.css", Some(&sid), None)
            .await
            .status,
        StatusCode::OK
    );
    let anonymous_cart = send(&app, "POST", "/cart", None, Some("sku=BC-500&qty=1")).await;
    assert_eq!(
        anonymous_cart.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no session silently lost"
    );
    assert!(anonymous_cart.sid.is_none());

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = send(&app, "GET", "/account", Some(&sid), None).await;
        if reply.status == StatusCode::OK {
            assert!(
                reply.body.contains("demo@example.com"),
                "the persisted session is back"
            );
            break;
        }
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "only 503 while recovering"
        );
        assert!(
            Instant::now() < deadline,
            "sessions did not come back within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn out_of_memory_replies_are_503() {
    let server = RedisServer::start();
    let app = shop_on(&RedisStore::new(&server.url()).unwrap());
    assert!(
        server
            .command("CONFIG SET maxmemory 1")
            .unwrap()
            .starts_with("+OK")
    );
    let reply = send(
        &app,
        "POST",
        "/login",
        None,
        Some("email=demo%40example.com&password=demo"),
    )
    .await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.body
    );
    assert!(reply.sid.is_none());
    assert!(
        server
            .command("CONFIG SET maxmemory 0")
            .unwrap()
            .starts_with("+OK")
    );
    login(&app).await;
}

#[tokio::test]
async fn a_silent_server_is_a_timeout_not_a_hang() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(4).filter_map(Result::ok).collect();
        std::thread::sleep(Duration::from_secs(3));
        drop(held);
    });
    let store = RedisStore::builder(&format!("redis://127.0.0.1:{port}/"))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = Instant::now();
    let result = store.load(&SessionKey::from_digest([1; 32])).await;
    assert!(
        matches!(
            result,
            Err(StoreError::Timeout | StoreError::Unavailable(_))
        ),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[tokio::test]
async fn a_refused_connection_is_an_error_not_a_panic() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let store = RedisStore::new(&format!("redis://127.0.0.1:{port}/")).unwrap();
    let result = store.load(&SessionKey::from_digest([1; 32])).await;
    assert!(
        matches!(
            result,
            Err(StoreError::Unavailable(_) | StoreError::Timeout)
        ),
        "{result:?}"
    );
    assert!(RedisStore::new("not a url").is_err());
}
