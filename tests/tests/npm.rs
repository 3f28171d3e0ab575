//! The npm package as a front-end developer meets it: packed with `npm pack`, installed into
//! a Vite site (`tests/vite-site`), built, served and used in headless Chromium; and
//! imported in Node, where it must do nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use consentry_tests::{Browser, BrowserOptions};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `program` in `dir`; panics with its output when it fails.
fn run(dir: &Path, program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout + &stderr
}

/// The Vite site with the packed package installed, in a fresh folder.
fn site_with_package(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("consentry-npm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("public")).unwrap();
    let fixture = repo().join("tests/vite-site");
    for file in [
        "package.json",
        "index.html",
        "main.js",
        "public/analytics.js",
    ] {
        std::fs::copy(fixture.join(file), dir.join(file)).unwrap();
    }
    let www = repo().join("www");
    let packed = run(&dir, "npm", &["pack", www.to_str().unwrap(), "--silent"]);
    let tarball = packed.lines().last().unwrap().trim().to_owned();
    run(
        &dir,
        "npm",
        &[
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            &format!("./{tarball}"),
        ],
    );
    dir
}

/// Serves `dist` on a free loopback port.
async fn serve(dist: PathBuf) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let dist = dist.clone();
        async move {
            let path = match uri.path() {
                "/" => "index.html",
                other => other.trim_start_matches('/'),
            };
            if path.contains("..") {
                return axum::http::StatusCode::NOT_FOUND.into_response();
            }
            let kind = match path.rsplit('.').next() {
                Some("html") => "text/html; charset=utf-8",
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                Some("wasm") => "application/wasm",
                _ => "application/octet-stream",
            };
            match std::fs::read(dist.join(path)) {
                Ok(bytes) => ([(CONTENT_TYPE, kind)], bytes).into_response(),
                Err(_) => axum::http::StatusCode::NOT_FOUND.into_response(),
            }
        }
    });
    consentry_tests::serve(app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_packed_package_works_in_a_vite_build() {
    let vite = repo().join("tests/node_modules/.bin/vite");
    assert!(
        vite.exists(),
        "{} is missing: run scripts/test, which runs npm ci in tests/",
        vite.display()
    );
    let dir = site_with_package("vite");
    run(
        &dir,
        vite.to_str().unwrap(),
        &["build", "--logLevel", "warn"],
    );
    let (url, server) = serve(dir.join("dist")).await;

    let browser = Browser::start("npm-vite", BrowserOptions::default()).await;
    browser.goto(&url).await;
    browser
        .static_banner_round_trip(".necessary.analytics")
        .await;
    browser.close().await;
    server.abort();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn importing_the_package_in_node_does_nothing() {
    let dir = site_with_package("node");
    let output = Command::new("node")
        .args([
            "--input-type=module",
            "-e",
            "await import('consentry-banner'); console.log('imported');",
        ])
        .current_dir(&dir)
        .output()
        .expect("node starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout.trim(), "imported");
    assert!(stderr.is_empty(), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
