//! The shop as a process, the way it is deployed: killed with `kill -9` mid-decision (with
//! the JSONL ledger and with PostgreSQL), and restarted with a rotated key (sessions in a
//! real `redis-server`).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use consentry::ledger::{ConsentLedger as _, JsonlLedger, Period};
use consentry_postgres::testing::PgServer;
use consentry_redis::testing::RedisServer;
use consentry_store::servers::{free_port, scratch_dir};

const SECRET_A: &str = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0";
const SECRET_B: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// A loopback address no other server of this process was given (tests run in parallel,
/// each with its shop, PostgreSQL and Redis).
fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// A running `shop` binary.
struct Shop {
    child: Child,
}

impl Shop {
    fn start(addr: SocketAddr, data_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        Self::start_with(addr, data_dir, env, args, Stdio::null())
    }

    /// The shop listening on `addr`, with `stderr` where it writes; `RUST_LOG=warn` unless
    /// `env` says otherwise.
    fn start_with(
        addr: SocketAddr,
        data_dir: &Path,
        env: &[(&str, &str)],
        args: &[&str],
        stderr: Stdio,
    ) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_shop"));
        command
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--analytics-addr")
            .arg(free_addr().to_string())
            .arg("--data-dir")
            .arg(data_dir)
            .args(args)
            .env_remove("CONSENTRY_SECRET")
            .env_remove("CONSENTRY_PREVIOUS_SECRETS")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("the shop binary starts");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "the shop did not start listening"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Self { child }
    }

    /// Stops the shop and returns what it wrote to a piped stderr.
    fn stop_and_read_stderr(mut self) -> String {
        let _ = self.child.kill();
        let mut text = String::new();
        if let Some(mut stderr) = self.child.stderr.take() {
            let _ = stderr.read_to_string(&mut text);
        }
        let _ = self.child.wait();
        text
    }

    /// `kill -9`.
    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Shop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn set_cookies(&self) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, value)| value.as_str())
    }

    fn header(&self, wanted: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut text = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        let _ = write!(text, "{name}: {value}\r\n");
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// A visitor with a cookie jar.
#[derive(Default, Clone)]
struct Visitor {
    jar: Vec<(String, String)>,
}

impl Visitor {
    fn send(&mut self, addr: SocketAddr, method: &str, path: &str, form: Option<&str>) -> Reply {
        let cookie = self
            .jar
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let origin = format!("http://{addr}");
        let mut headers = vec![("Cookie", cookie.as_str())];
        if form.is_some() {
            headers.push(("Origin", origin.as_str()));
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
        }
        let reply = request(addr, method, path, &headers, form.unwrap_or_default()).unwrap();
        for set in reply.set_cookies() {
            let pair = set.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            self.jar.retain(|(n, _)| n != name);
            if !set.contains("Max-Age=0") {
                self.jar.push((name.to_owned(), value.to_owned()));
            }
        }
        reply
    }

    fn get(&mut self, addr: SocketAddr, path: &str) -> Reply {
        self.send(addr, "GET", path, None)
    }

    fn cookie(&self, name: &str) -> Option<&str> {
        self.jar
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

const COOKIES: [&str; 3] = ["__Host-sid", "__Host-consent", "__Host-ref"];

#[test]
fn a_rotated_key_keeps_old_cookies_working_then_retires_them() {
    let redis = RedisServer::start();
    let data = scratch_dir("shop-rotation");
    let addr = free_addr();
    let url = redis.url();
    let redis_args = ["--redis", url.as_str()];

    let shop = Shop::start(addr, &data, &[("CONSENTRY_SECRET", SECRET_A)], &redis_args);
    let mut visitor = Visitor::default();
    let decided = visitor.send(
        addr,
        "POST",
        "/consent",
        Some("action=accept_all&return_to=/"),
    );
    assert_eq!(decided.status, 303);
    visitor.get(addr, "/?ref=acme");
    let login = visitor.send(
        addr,
        "POST",
        "/login",
        Some("email=demo%40example.com&password=demo"),
    );
    assert_eq!(login.status, 303);
    let account = visitor.get(addr, "/account");
    assert!(account.body.contains("demo@example.com"), "logged in");
    for name in COOKIES {
        assert!(visitor.cookie(name).is_some(), "{name} set");
    }
    let old = visitor.clone();
    shop.kill();

    // The new secret signs, the old one verifies.
    let shop = Shop::start(
        addr,
        &data,
        &[
            ("CONSENTRY_SECRET", SECRET_B),
            ("CONSENTRY_PREVIOUS_SECRETS", SECRET_A),
        ],
        &redis_args,
    );
    let account = visitor.get(addr, "/account");
    assert_eq!(account.status, 200, "still logged in after the rotation");
    assert!(account.body.contains("demo@example.com"));
    assert!(account.body.contains("Acme"), "the referral still shows");
    for name in COOKIES {
        assert_ne!(visitor.cookie(name), old.cookie(name), "{name} re-signed");
    }
    let state = visitor.get(addr, "/consent");
    assert!(state.body.contains(r#""decided":true"#), "{}", state.body);
    shop.kill();

    // The old secret removed: what it signed no longer counts; what was re-signed does.
    let _shop = Shop::start(addr, &data, &[("CONSENTRY_SECRET", SECRET_B)], &redis_args);
    let mut retired = old;
    let refused = retired.get(addr, "/account");
    assert_eq!(refused.status, 303);
    assert_eq!(refused.header("location"), Some("/login"));
    assert!(
        retired
            .get(addr, "/consent")
            .body
            .contains(r#""decided":false"#)
    );
    let account = visitor.get(addr, "/account");
    assert_eq!(account.status, 200);
    assert!(account.body.contains("demo@example.com"));
    let _ = std::fs::remove_dir_all(data);
}

/// Posts decisions from 8 threads until 300 are acknowledged, then kills the shop with
/// `kill -9` while posts are in flight; returns the acknowledged consent ids.
fn decide_until_killed(shop: Shop, addr: SocketAddr) -> Vec<String> {
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let halt = Arc::new(AtomicBool::new(false));
    let origin = format!("http://{addr}");
    let posters: Vec<_> = (0..8)
        .map(|_| {
            let (acknowledged, halt, origin) =
                (Arc::clone(&acknowledged), Arc::clone(&halt), origin.clone());
            std::thread::spawn(move || {
                while !halt.load(Ordering::Relaxed) {
                    let headers = [
                        ("Origin", origin.as_str()),
                        ("Content-Type", "application/json"),
                    ];
                    let body = r#"{"action":"accept_all"}"#;
                    let Ok(reply) = request(addr, "POST", "/consent", &headers, body) else {
                        break;
                    };
                    assert!(matches!(reply.status, 200 | 503), "{}", reply.status);
                    if reply.status == 200 {
                        let id = reply
                            .body
                            .split(r#""id":""#)
                            .nth(1)
                            .and_then(|rest| rest.split('"').next())
                            .expect("an acknowledged decision names its consent id");
                        acknowledged.lock().unwrap().push(id.to_owned());
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while acknowledged.lock().unwrap().len() < 300 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Killed while posts are in flight.
    shop.kill();
    halt.store(true, Ordering::Relaxed);
    for poster in posters {
        poster.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 300,
        "only {} acknowledged",
        acknowledged.len()
    );
    acknowledged
}

fn assert_none_lost(acknowledged: &[String], recorded: &HashSet<String>) {
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged decisions lost: {lost:?}",
        lost.len()
    );
}

#[test]
fn kill_9_loses_no_acknowledged_decision() {
    let data = scratch_dir("shop-crash");
    let addr = free_addr();
    let env = [("CONSENTRY_SECRET", SECRET_A)];
    let acknowledged = decide_until_killed(Shop::start(addr, &data, &env, &[]), addr);

    // The restarted shop repairs a torn last line and writes on.
    let shop = Shop::start(addr, &data, &env, &[]);
    shop.kill();
    let recorded: HashSet<String> = JsonlLedger::read(data.join("consent-ledger.jsonl"))
        .expect("the ledger reads back whole")
        .into_iter()
        .map(|record| record.consent_id)
        .collect();
    assert_none_lost(&acknowledged, &recorded);
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn with_a_database_url_sessions_and_every_acknowledged_decision_live_in_postgres() {
    let postgres = PgServer::start();
    let data = scratch_dir("shop-postgres");
    let addr = free_addr();
    let env = [("CONSENTRY_SECRET", SECRET_A)];
    let args = ["--database-url", &postgres.url()];
    let shop = Shop::start(addr, &data, &env, &args);
    let mut visitor = Visitor::default();
    assert_eq!(
        visitor
            .send(addr, "POST", "/cart", Some("sku=BC-500&qty=2"))
            .status,
        303
    );
    assert_eq!(
        visitor
            .send(addr, "POST", "/consent", Some("action=reject_all"))
            .status,
        303
    );
    let acknowledged = decide_until_killed(shop, addr);

    let shop = Shop::start(addr, &data, &env, &args);
    assert!(
        visitor.get(addr, "/cart").body.contains("Business cards"),
        "the cart outlived the process, in PostgreSQL"
    );
    let own = visitor.get(addr, "/consent/records");
    assert_eq!(own.status, 200);
    assert!(own.body.contains(r#""records":[{"#), "{}", own.body);
    shop.kill();
    assert!(
        !data.join("consent-ledger.jsonl").exists(),
        "no JSONL ledger beside the database"
    );

    let recorded: HashSet<String> = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let db = consentry_postgres::Postgres::builder(&postgres.url())
            .connect()
            .await
            .unwrap();
        let mut records = db.ledger().export(Period::ALL);
        let mut ids = HashSet::new();
        while let Some(record) =
            std::future::poll_fn(|cx| futures_core::Stream::poll_next(records.as_mut(), cx)).await
        {
            ids.insert(record.unwrap().consent_id);
        }
        ids
    });
    assert_none_lost(&acknowledged, &recorded);
    let _ = std::fs::remove_dir_all(data);
}

#[test]
fn a_generated_key_is_announced_on_stderr() {
    let data = scratch_dir("shop-generated-key");
    let addr = free_addr();
    let shop = Shop::start_with(addr, &data, &[("RUST_LOG", "off")], &[], Stdio::piped());
    let stderr = shop.stop_and_read_stderr();
    assert!(
        stderr.contains("generated signing key (development only)")
            && stderr.contains("invalid when this process restarts"),
        "with no log subscriber output, stderr still says it: {stderr}"
    );
    let _ = std::fs::remove_dir_all(data);
}
