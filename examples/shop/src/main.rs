//! `cargo run -p shop`: the print shop on 127.0.0.1:3000 with embedded defaults.

use std::net::SocketAddr;
use std::process::ExitCode;

use consentry::Key;
use shop::ShopConfig;
use tracing_subscriber::EnvFilter;

const USAGE: &str = "\
Usage: shop [--addr HOST:PORT]

Options (or environment variables):
  --addr HOST:PORT   listen address (SHOP_ADDR), default 127.0.0.1:3000
  -h, --help         this text

CONSENTRY_SECRET holds the cookie-signing secret (hex or base64, at least 32 bytes).
Without it a key is generated and every cookie dies when the shop restarts.";

struct Args {
    addr: SocketAddr,
}

fn parse_args() -> Result<Option<Args>, String> {
    let mut addr = std::env::var("SHOP_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--addr" => addr = args.next().ok_or("--addr needs a value")?,
            other => match other.strip_prefix("--addr=") {
                Some(value) => value.clone_into(&mut addr),
                None => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    let addr = addr
        .parse()
        .map_err(|e| format!("invalid address {addr:?}: {e}"))?;
    Ok(Some(Args { addr }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let args = match parse_args() {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("shop: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let key = match Key::from_env("CONSENTRY_SECRET") {
        Ok(Some(key)) => key,
        Ok(None) => Key::generate(),
        Err(error) => {
            eprintln!("shop: CONSENTRY_SECRET: {error}");
            return ExitCode::from(2);
        }
    };
    let app = match shop::app(ShopConfig::new(key)) {
        Ok(app) => app,
        Err(error) => {
            eprintln!("shop: {error}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("shop: cannot listen on {}: {error}", args.addr);
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("Inkwell Print Shop on http://{}", args.addr);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    if let Err(error) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        eprintln!("shop: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
