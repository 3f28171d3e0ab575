//! `RedisStore` against a real `redis-server` that each test starts on a free port: the
//! store contract's conformance suite, then the store behind a bare consentry layer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use std::convert::Infallible;

use bytes::Bytes;
use consentry::testing::{Client, TestResponse};
use consentry::{
    Clock, Consentry, ConsentryService, Key, Keyring, Session, SessionConfig, SessionError,
    SystemClock,
};
use consentry_redis::testing::RedisServer;
use consentry_redis::{ConfigError, RedisStore};
use consentry_store::{Changes, Record, SessionKey, SessionStore, StoreError, conformance};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::util::ServiceFn;
use tower::{Layer as _, service_fn};

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
        .create(&key, &Record::from([("cart", "[1]")]), deadline)
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

/// A bare app behind the layer: `/login`, `/account`, `/logout`, `/cart?sku=…` (appends),
/// `/` (reads the cart), `/static` (never touches the session).
async fn app(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let session = request
        .extensions()
        .get::<Session>()
        .cloned()
        .expect("layer");
    let query = request.uri().query().unwrap_or_default().to_owned();
    let answer: Result<(StatusCode, String), SessionError> = async {
        Ok(match request.uri().path() {
            "/login" => {
                session.cycle_id().await?;
                session.insert("user", "demo@example.com").await?;
                (StatusCode::SEE_OTHER, String::new())
            }
            "/account" => match session.get::<String>("user").await? {
                Some(user) => (StatusCode::OK, user),
                None => (StatusCode::SEE_OTHER, String::new()),
            },
            "/logout" => {
                session.destroy();
                (StatusCode::SEE_OTHER, String::new())
            }
            "/cart" => {
                let mut cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
                cart.push(query);
                session.insert("cart", &cart).await?;
                (StatusCode::SEE_OTHER, String::new())
            }
            "/" => {
                let cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
                (StatusCode::OK, format!("{} in cart", cart.len()))
            }
            _ => (StatusCode::OK, "static".to_owned()),
        })
    }
    .await;
    // A store failure also marks the session failed; the layer answers 503 for it.
    let (status, body) =
        answer.unwrap_or_else(|error| (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()));
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    Ok(response)
}

type App = ConsentryService<ServiceFn<fn(Request<Full<Bytes>>) -> AppFuture>>;
type AppFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send>,
>;

fn boxed(request: Request<Full<Bytes>>) -> AppFuture {
    Box::pin(app(request))
}

/// One app instance with sessions in `store`, as a visitor with an empty cookie jar.
fn instance(store: &RedisStore) -> Client<App> {
    let layer = Consentry::builder(Keyring::new(1, Key::from_bytes(&[11; 32]).unwrap()))
        .session(SessionConfig::new(store.clone()))
        .build()
        .unwrap();
    Client::new(layer.layer(service_fn(boxed as fn(_) -> _)))
}

/// `method path?form` with the session cookie `sid` (or none), set on the request itself
/// so concurrent requests do not share the client's jar.
async fn send(
    app: &Client<App>,
    method: &str,
    path: &str,
    sid: Option<&str>,
    form: Option<&str>,
) -> TestResponse {
    let uri = match form {
        Some(form) if !form.is_empty() => format!("{path}?{form}"),
        _ => path.to_owned(),
    };
    let mut request = app.request(&method.parse().unwrap(), &uri);
    request = request.header(
        http::header::COOKIE,
        sid.map_or_else(|| "visitor=1".to_owned(), |sid| format!("__Host-sid={sid}")),
    );
    app.send(request.body(Full::default()).unwrap()).await
}

async fn login(app: &Client<App>) -> String {
    let reply = send(app, "POST", "/login", None, None).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.text());
    reply
        .new_cookie("__Host-sid")
        .expect("login sets the session cookie")
}

#[tokio::test]
async fn a_login_on_one_instance_works_on_another() {
    let server = RedisServer::start();
    let first = instance(&RedisStore::new(&server.url()).unwrap());
    let second = instance(&RedisStore::new(&server.url()).unwrap());
    let sid = login(&first).await;
    let account = send(&second, "GET", "/account", Some(&sid), None).await;
    assert_eq!(account.status, StatusCode::OK);
    assert!(account.text().contains("demo@example.com"));
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
        Arc::new(instance(&store)),
        Arc::new(instance(&RedisStore::new(&server.url()).unwrap())),
    ];
    let sid = login(&apps[0]).await;
    let skus = ["BC-500", "FL-A5-1000", "PO-A2-10", "ST-RND-250"];
    let tasks: Vec<_> = (0..40)
        .map(|n| {
            let app = Arc::clone(&apps[n % 2]);
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
        account.text().contains("demo@example.com"),
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
    let app = instance(&RedisStore::new(&server.url()).unwrap());
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
            reply.text()
        );
        assert!(
            reply.header("retry-after").is_some(),
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
        send(&app, "GET", "/static", Some(&sid), None).await.status,
        StatusCode::OK
    );
    let anonymous_cart = send(&app, "POST", "/cart", None, Some("sku=BC-500&qty=1")).await;
    assert_eq!(
        anonymous_cart.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "no session silently lost"
    );
    assert!(anonymous_cart.new_cookie("__Host-sid").is_none());

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = send(&app, "GET", "/account", Some(&sid), None).await;
        if reply.status == StatusCode::OK {
            assert!(
                reply.text().contains("demo@example.com"),
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
    let app = instance(&RedisStore::new(&server.url()).unwrap());
    assert!(
        server
            .command("CONFIG SET maxmemory 1")
            .unwrap()
            .starts_with("+OK")
    );
    let reply = send(&app, "POST", "/login", None, None).await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert!(reply.new_cookie("__Host-sid").is_none());
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
    let port = consentry_store::servers::free_port();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
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
    // Nothing listens there: no server of this process is given the port.
    let port = consentry_store::servers::free_port();
    let store = RedisStore::new(&format!("redis://127.0.0.1:{port}/")).unwrap();
    let result = store.load(&SessionKey::from_digest([1; 32])).await;
    assert!(
        matches!(
            result,
            Err(StoreError::Unavailable(_) | StoreError::Timeout)
        ),
        "{result:?}"
    );
    assert!(matches!(
        RedisStore::new("not a url"),
        Err(ConfigError::InvalidUrl(_))
    ));
    assert!(matches!(
        RedisStore::builder(&format!("redis://127.0.0.1:{port}/"))
            .timeout(Duration::ZERO)
            .build(),
        Err(ConfigError::ZeroTimeout)
    ));
}
