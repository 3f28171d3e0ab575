//! `cargo run -p shop`: the print shop on 127.0.0.1:3000 and its analytics provider on
//! 127.0.0.1:3001, with embedded defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use consentry::Keyring;
use consentry::ledger::JsonlLedger;
use shop::ShopConfig;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
Usage: shop [OPTIONS]

Options (each also read from the environment variable in brackets):
  --addr HOST:PORT             the shop (SHOP_ADDR), default 127.0.0.1:3000
  --analytics-addr HOST:PORT   the analytics provider (SHOP_ANALYTICS_ADDR), default 127.0.0.1:3001
  --data-dir DIR               the consent ledger's folder (SHOP_DATA_DIR), default ./data
  --policy-revision N          the consent policy revision (SHOP_POLICY_REVISION), default 1
  --database-url URL           keep the consent ledger, sessions and accounts in PostgreSQL
                               (SHOP_DATABASE_URL), e.g. postgres://shop@127.0.0.1/shop;
                               without it, a JSONL file in the data folder and memory
  --redis URL                  keep sessions in Redis (SHOP_REDIS_URL), e.g. redis://127.0.0.1:6379/,
                               also with --database-url
  --without-consentry          no consentry layer in front of the routes: only the stylesheet
                               works (to measure the layer's cost: scripts/bench-shop)
  -h, --help                   this text

CONSENTRY_SECRET holds the cookie-signing secret (hex or base64, at least 32 bytes), and
CONSENTRY_PREVIOUS_SECRETS any earlier secrets, comma-separated, that still verify cookies
during a rotation. Without CONSENTRY_SECRET a key is generated and every cookie dies when
the shop restarts.";

struct Args {
    addr: SocketAddr,
    analytics_addr: SocketAddr,
    data_dir: PathBuf,
    policy_revision: u32,
    redis: Option<String>,
    database_url: Option<String>,
    without_consentry: bool,
}

fn parse_args() -> Result<Option<Args>, String> {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let mut addr = env("SHOP_ADDR", "127.0.0.1:3000");
    let mut analytics_addr = env("SHOP_ANALYTICS_ADDR", "127.0.0.1:3001");
    let mut data_dir = env("SHOP_DATA_DIR", "data");
    let mut revision = env("SHOP_POLICY_REVISION", "1");
    let mut redis = env("SHOP_REDIS_URL", "");
    let mut database_url = env("SHOP_DATABASE_URL", "");
    let mut without_consentry = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--without-consentry" {
            without_consentry = true;
            continue;
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let target = match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => &mut addr,
            "--analytics-addr" => &mut analytics_addr,
            "--data-dir" => &mut data_dir,
            "--policy-revision" => &mut revision,
            "--redis" => &mut redis,
            "--database-url" => &mut database_url,
            other => return Err(format!("unknown argument {other:?}")),
        };
        *target = match inline {
            Some(value) => value,
            None => args.next().ok_or_else(|| format!("{flag} needs a value"))?,
        };
    }
    let parse_addr = |text: &str| -> Result<SocketAddr, String> {
        text.parse()
            .map_err(|e| format!("invalid address {text:?}: {e}"))
    };
    Ok(Some(Args {
        addr: parse_addr(&addr)?,
        analytics_addr: parse_addr(&analytics_addr)?,
        data_dir: PathBuf::from(data_dir),
        policy_revision: revision
            .parse()
            .map_err(|e| format!("invalid policy revision {revision:?}: {e}"))?,
        redis: (!redis.is_empty()).then_some(redis),
        database_url: (!database_url.is_empty()).then_some(database_url),
        without_consentry,
    }))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|error| format!("cannot listen on {addr}: {error}"))
}

async fn run(args: Args) -> Result<(), String> {
    let keyring = Keyring::from_env("CONSENTRY_SECRET", "CONSENTRY_PREVIOUS_SECRETS")
        .map_err(|error| format!("CONSENTRY_SECRET / CONSENTRY_PREVIOUS_SECRETS: {error}"))?
        .unwrap_or_else(Keyring::development);
    let mut config = ShopConfig::with_keyring(keyring);
    let ledger_at = if let Some(url) = &args.database_url {
        let db = consentry_postgres::Postgres::builder(url)
            .connect()
            .await
            // The URL may hold a password: name the problem, not the URL.
            .map_err(|e| format!("--database-url: {e}"))?;
        config.ledger = Arc::new(db.ledger());
        config.store = Arc::new(db.store());
        config.accounts = shop::accounts::Accounts::in_postgres(url)
            .await
            .map_err(|e| format!("--database-url: {e}"))?;
        "PostgreSQL (sessions and accounts too)".to_owned()
    } else {
        let path = args.data_dir.join("consent-ledger.jsonl");
        let ledger = JsonlLedger::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        config.ledger = Arc::new(ledger);
        path.display().to_string()
    };
    let shop_listener = bind(args.addr).await?;
    let analytics_listener = bind(args.analytics_addr).await?;
    config.policy_revision = args.policy_revision;
    if let Some(url) = &args.redis {
        let store =
            consentry_redis::RedisStore::new(url).map_err(|e| format!("--redis {url}: {e}"))?;
        config.store = Arc::new(store);
        tracing::info!("sessions in Redis at {url}");
    }
    config.analytics_origin = format!(
        "http://{}",
        analytics_listener.local_addr().map_err(|e| e.to_string())?
    );
    let app = if args.without_consentry {
        shop::app_without_consentry(config)
    } else {
        shop::app(config)
    }
    .map_err(|error| error.to_string())?;
    let (analytics, _) = shop::analytics::app();

    tracing::info!(
        "Inkwell Print Shop on http://{}",
        shop_listener.local_addr().map_err(|e| e.to_string())?
    );
    tracing::info!(
        "analytics provider on http://{} (hit counts at /stats)",
        args.analytics_addr
    );
    tracing::info!("consent ledger in {ledger_at}");
    let shutdown = || async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let shop_server = axum::serve(
        shop_listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown());
    let analytics_server =
        axum::serve(analytics_listener, analytics).with_graceful_shutdown(shutdown());
    let (shop_result, analytics_result) = tokio::join!(shop_server, analytics_server);
    shop_result
        .and(analytics_result)
        .map_err(|error| error.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    match parse_args() {
        Ok(Some(args)) => match run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("shop: {message}");
                ExitCode::FAILURE
            }
        },
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("shop: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
