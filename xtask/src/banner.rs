//! Builds `crates/consentry-banner` to WebAssembly and writes `www/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use consentry_banner::config::{self, Config};
use consentry_banner::markup::{self, Banner, Category, Texts};

use crate::manifest::{brotli_len, gzip_len, sha256, sources_hash};
use crate::run;

/// What the banner's build depends on: a change here makes `www/` stale.
const SOURCES: &[&str] = &[
    "crates/consentry-banner/src",
    "crates/consentry-banner/Cargo.toml",
    "xtask/src",
];

/// The files `www/` carries, built from the sources. `package.json`, `README.md` and the
/// type declarations are written by hand.
const BUILT: &[&str] = &[
    "consentry-banner.js",
    "consentry-banner.wasm",
    "consentry-banner.css",
    "server/consentry-banner.js",
    "server/consentry-banner.wasm",
];

/// What the banner may add to a page, gzip -9 (`cargo xtask banner --check` fails above):
/// `(manifest key, budget, target)`. Both pages meet their targets, so the budgets are the
/// targets: 12,000 B for a server-rendered page, and for a static page vanilla-cookieconsent
/// 3.1's JS + CSS (15,447 B).
const BUDGETS: [(&str, u64, u64); 2] = [
    ("server_page", 12_000, 12_000),
    ("static_page", 15_447, 15_447),
];

/// How this machine compiles to `wasm32-unknown-unknown`.
enum Toolchain {
    /// rustup has the target's std.
    Rustup,
    /// Debian's `rustc-web` + `rust-web-src`, building std from source.
    Debian { linker: PathBuf },
}

fn detect() -> Result<Toolchain, String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("wasm32-unknown-unknown"));
    if installed {
        return Ok(Toolchain::Rustup);
    }
    let debian_rustc = Path::new("/usr/bin/rustc");
    let std_source = Command::new(debian_rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .map(|out| {
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
                .join("lib/rustlib/src/rust/library/std")
        });
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let linker = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim())
        .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld");
    match std_source {
        Some(source) if source.exists() && linker.exists() => Ok(Toolchain::Debian { linker }),
        _ => Err("no wasm32-unknown-unknown toolchain: either `rustup target add wasm32-unknown-unknown`, \
                  or on Debian `apt-get install rustc-web rust-web-src`"
            .to_owned()),
    }
}

fn compile(root: &Path, profile: &str) -> Result<PathBuf, String> {
    let target_dir = root.join("target/wasm");
    let mut cargo = Command::new("cargo");
    cargo
        .current_dir(root)
        .args(["build", "--profile", profile, "-p", "consentry-banner", "--target", "wasm32-unknown-unknown"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none -Ctarget-feature=-reference-types,-multivalue")
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["-Zbuild-std=std,panic_abort"]);
    match detect()? {
        Toolchain::Rustup => {}
        Toolchain::Debian { linker } => {
            cargo
                .env("RUSTC", "/usr/bin/rustc")
                .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", linker);
        }
    }
    run(&mut cargo)?;
    Ok(target_dir
        .join("wasm32-unknown-unknown")
        .join(profile)
        .join("consentry_banner.wasm"))
}

/// Runs wasm-bindgen (as a library, pinned to the crate's wasm-bindgen version), then
/// shortens the generated import and export names in both the module and the glue.
fn bindgen(wasm: &Path) -> Result<(String, Vec<u8>), String> {
    let mut output = wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)
        .map_err(|e| e.to_string())?
        .typescript(false)
        .omit_default_module_path(true)
        .remove_name_section(std::env::var_os("XTASK_KEEP_NAMES").is_none())
        .remove_producers_section(true)
        .generate_output()
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    let mut renames: Vec<(String, String)> = Vec::new();
    let mut next = 0usize;
    let module = output.wasm_mut();
    let mut import_module = None;
    for import in module.imports.iter_mut() {
        if is_generated(&import.name) {
            let short = short_name(&mut next);
            renames.push((std::mem::replace(&mut import.name, short.clone()), short));
            import_module.get_or_insert_with(|| import.module.clone());
            "a".clone_into(&mut import.module);
        }
    }
    for export in module.exports.iter_mut() {
        if is_generated(&export.name) {
            let short = short_name(&mut next);
            renames.push((std::mem::replace(&mut export.name, short.clone()), short));
        }
    }
    let wasm = module.emit_wasm();
    let mut glue = rename_tokens(&trim_glue(output.js())?, &renames);
    if let Some(module_name) = import_module {
        glue = glue.replace(&format!("\"{module_name}\""), "\"a\"");
    }
    Ok((glue, wasm))
}

/// The generated glue, reduced to what the loader uses: it exports the import object and
/// the step that wires an instance (the loader instantiates the module itself, streaming),
/// instead of an `init` with fallbacks for every kind of input; and it drops the
/// `TextEncoder.encodeInto` polyfill (every browser that runs WebAssembly has it). Each edit
/// must find its text, so a wasm-bindgen that writes the glue differently fails here.
fn trim_glue(glue: &str) -> Result<String, String> {
    const EXPORTS: &str = "export { initSync, __wbg_init as default };";
    const POLYFILL: &str = "if (!('encodeInto' in cachedTextEncoder)) {";
    const AFTER_POLYFILL: &str = "let WASM_VECTOR_LEN";
    let polyfill = glue
        .find(POLYFILL)
        .ok_or("the wasm-bindgen glue has no encodeInto polyfill where expected")?;
    let after = glue[polyfill..]
        .find(AFTER_POLYFILL)
        .ok_or("the wasm-bindgen glue changed after its encodeInto polyfill")?
        + polyfill;
    let glue = [&glue[..polyfill], &glue[after..]].concat();
    if !glue.contains(EXPORTS) {
        return Err("the wasm-bindgen glue's exports changed".into());
    }
    Ok(glue.replace(
        EXPORTS,
        "export { __wbg_get_imports as imports, __wbg_finalize_init as finish };",
    ))
}

/// Names wasm-bindgen generates: long, hashed, and private to the module and its glue.
fn is_generated(name: &str) -> bool {
    name.starts_with("__wbg")
        || name.starts_with("__wbindgen")
        || name.starts_with("__externref")
        || name.starts_with("wasm_bindgen")
}

/// `_a`, `_b`, …, `_Z`, `_aa`, … (underscore first, so never a JavaScript keyword).
fn short_name(next: &mut usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut n = *next;
    *next += 1;
    let mut name = String::from("_");
    loop {
        name.push(char::from(ALPHABET[n % ALPHABET.len()]));
        n /= ALPHABET.len();
        if n == 0 {
            return name;
        }
        n -= 1;
    }
}

/// Replaces whole JavaScript identifier tokens.
fn rename_tokens(js: &str, renames: &[(String, String)]) -> String {
    let map: std::collections::HashMap<&str, &str> = renames
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let mut out = String::with_capacity(js.len());
    let mut token = String::new();
    for c in js.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '$' {
            token.push(c);
            continue;
        }
        out.push_str(map.get(token.as_str()).copied().unwrap_or(&token));
        token.clear();
        out.push(c);
    }
    out.push_str(map.get(token.as_str()).copied().unwrap_or(&token));
    out
}

/// `wasm-opt -Oz`, from the pinned binaryen package (its optimiser is markedly better at
/// shrinking rustc's output than older system builds).
fn optimize(root: &Path, wasm: &[u8]) -> Result<Vec<u8>, String> {
    let wasm_opt = js_tool(root, "wasm-opt")?;
    let dir = root.join("target/wasm/opt");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let input = dir.join("in.wasm");
    let output = dir.join("out.wasm");
    std::fs::write(&input, wasm).map_err(|e| e.to_string())?;
    let mut command = Command::new(wasm_opt);
    command
        .args([
            "-Oz",
            "--converge",
            "--strip-producers",
            "--strip-target-features",
            // Rust never uses the first kilobyte of memory (its data and stack sit far
            // above), so binaryen may fold constant offsets into loads and stores.
            "--low-memory-unused",
        ])
        // Only the features rustc enabled and every current browser has: `--all-features`
        // would let binaryen emit typed function references that browsers reject.
        .args([
            "--enable-bulk-memory",
            "--enable-sign-ext",
            "--enable-nontrapping-float-to-int",
            "--enable-mutable-globals",
        ]);
    // XTASK_KEEP_NAMES keeps the function names, to see where the bytes go.
    command.arg(if std::env::var_os("XTASK_KEEP_NAMES").is_some() {
        "--debuginfo"
    } else {
        "--strip-debug"
    });
    run(command.arg(&input).arg("-o").arg(&output))?;
    std::fs::read(&output).map_err(|e| e.to_string())
}

/// The pinned JavaScript tools, installed from the npm registry into `target/` on first
/// use: the minifier and binaryen's optimiser.
const JS_TOOLS: [&str; 2] = ["esbuild@0.25.12", "binaryen@132.0.0"];

/// The path of one of [`JS_TOOLS`]' commands, installing them when missing.
fn js_tool(root: &Path, command: &str) -> Result<PathBuf, String> {
    let prefix = root.join("target/js-tools");
    let binary = prefix.join("node_modules/.bin").join(command);
    let pinned = JS_TOOLS.iter().all(|tool| {
        let (name, version) = tool.rsplit_once('@').unwrap_or((tool, ""));
        std::fs::read_to_string(prefix.join("node_modules").join(name).join("package.json"))
            .is_ok_and(|json| json.contains(&format!("\"version\": \"{version}\"")))
    });
    if !binary.exists() || !pinned {
        let installed = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--no-save",
                "--prefix",
            ])
            .arg(&prefix)
            .args(JS_TOOLS)
            .status()
            .is_ok_and(|status| status.success());
        if !installed || !binary.exists() {
            return Err(format!(
                "{command} is needed to build the banner: install Node.js and npm (it comes from the npm registry: {})",
                JS_TOOLS.join(" ")
            ));
        }
    }
    Ok(binary)
}

/// The module that starts the banner (`crates/consentry-banner/src/loader.js`), loading
/// the WebAssembly from `wasm` next to it.
fn loader_source(root: &Path, wasm: &str) -> Result<String, String> {
    let path = root.join("crates/consentry-banner/src/loader.js");
    let source = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !source.contains("__WASM__") {
        return Err(format!("{}: no __WASM__ placeholder", path.display()));
    }
    Ok(source.replace("__WASM__", wasm))
}

/// Bundles the loader with the generated glue into one minified module (esbuild drops the
/// glue's unused parts), loading the WebAssembly from `wasm` next to it. The static build
/// (`static_site`) also carries the site's stand-in for the server (`site.js`).
fn bundle(root: &Path, static_site: bool, glue: &str, wasm: &str) -> Result<Vec<u8>, String> {
    let esbuild = js_tool(root, "esbuild")?;
    let dir = root
        .join("target/js-tools")
        .join(if static_site { "static" } else { "server" });
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("glue.js"), glue).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("loader.js"), loader_source(root, wasm)?).map_err(|e| e.to_string())?;
    let site = root.join("crates/consentry-banner/src/site.js");
    std::fs::copy(&site, dir.join("site.js")).map_err(|e| format!("{}: {e}", site.display()))?;
    let output = Command::new(esbuild)
        .arg(dir.join("loader.js"))
        .args(["--bundle", "--minify", "--format=esm"])
        // The server build has nothing to say on the console; the static build names the
        // page author's configuration mistakes there, so it keeps `console`.
        .arg(if static_site {
            "--pure:console.log"
        } else {
            "--drop:console"
        })
        .arg(format!("--define:STATIC={static_site}"))
        // What `site.js` takes from the Rust crate.
        .args(
            config::site_constants()
                .iter()
                .map(|(name, json)| format!("--define:{name}={json}")),
        )
        .args(["--target=es2022", "--log-level=warning"])
        .output()
        .map_err(|e| format!("esbuild: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "esbuild failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output.stdout)
}

fn standard_categories() -> Vec<Category> {
    markup::STANDARD_CATEGORIES
        .iter()
        .map(|(id, label, description)| Category {
            id: (*id).into(),
            label: (*label).into(),
            description: (*description).into(),
            locked: *id == "necessary",
            ..Category::default()
        })
        .collect()
}

/// What a server-rendered page carries inline on a first visit: the first layer (standard
/// categories, English) and the loader tag.
fn server_inline() -> String {
    let texts = Texts::default();
    let categories = standard_categories();
    let mut html = markup::render(&Banner {
        action: "/consent",
        stylesheet: Some("/consent/banner.0123abcd.css"),
        revision: 1,
        return_to: "/",
        referral: None,
        privacy_url: "/privacy",
        notice: None,
        gpc: false,
        open: false,
        granted: &[],
        hidden: false,
        categories: &categories,
        texts: &texts,
        language: Some("en"),
        consent_id: None,
        decided_at: None,
    });
    html.push_str("<script type=\"module\" src=\"/consent/consentry-banner.0123abcd.js\" nonce=\"AAAAAAAAAAAAAAAAAAAAAA\"></script>\n");
    html
}

/// What a static page carries inline: the configuration (categories, default texts) and
/// the loader and stylesheet tags. The markup is rendered in the browser.
fn static_inline() -> String {
    let config = Config {
        revision: 1,
        gpc_denies: vec!["marketing".into()],
        categories: standard_categories(),
        privacy_url: "/privacy.html".into(),
        ..Config::default()
    };
    let mut html =
        String::from("<link rel=\"stylesheet\" href=\"/consentry/consentry-banner.css\">\n");
    push_tags(
        &mut html,
        &config.to_json(),
        "/consentry/consentry-banner.js",
    );
    html
}

fn push_tags(html: &mut String, config: &str, loader: &str) {
    html.push_str("<script type=\"application/json\" id=\"consentry-config\">");
    html.push_str(config);
    html.push_str("</script>\n<script type=\"module\" src=\"");
    html.push_str(loader);
    html.push_str("\" nonce=\"AAAAAAAAAAAAAAAAAAAAAA\"></script>\n");
}

/// The WebAssembly, compiled, bound and optimised once: the glue and the module. Server
/// pages and static sites load the same module.
fn webassembly(root: &Path) -> Result<(String, Vec<u8>), String> {
    let wasm = compile(root, "wasm")?;
    let (glue, wasm) = bindgen(&wasm)?;
    Ok((glue, optimize(root, &wasm)?))
}

/// One build variant, bundled and written into `dir`. With `hashed`, the module loads the
/// WebAssembly under its content-hashed name (as the layer serves it).
fn variant(
    root: &Path,
    (glue, wasm): &(String, Vec<u8>),
    static_site: bool,
    dir: &Path,
    hashed: bool,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let wasm_url = if hashed {
        format!("banner.{}.wasm", &sha256(wasm)[..8])
    } else {
        "consentry-banner.wasm".to_owned()
    };
    let module = bundle(root, static_site, glue, &wasm_url)?;
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let files = vec![
        ("consentry-banner.js".to_owned(), module),
        ("consentry-banner.wasm".to_owned(), wasm.clone()),
    ];
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(files)
}

pub(crate) fn build(root: &Path) -> Result<(), String> {
    let www = root.join("www");
    let built = webassembly(root)?;
    let server = variant(root, &built, false, &www.join("server"), true)?;
    let static_files = variant(root, &built, true, &www, false)?;
    let css = (
        "consentry-banner.css".to_owned(),
        consentry_banner::CSS.as_bytes().to_vec(),
    );
    std::fs::write(www.join(&css.0), &css.1).map_err(|e| e.to_string())?;
    for stale in [
        "consentry-banner.glue.js",
        "server/consentry-banner.glue.js",
    ] {
        let _ = std::fs::remove_file(www.join(stale));
    }
    let mut server_page: Vec<(String, Vec<u8>)> = server
        .iter()
        .map(|(n, b)| (format!("server/{n}"), b.clone()))
        .collect();
    server_page.push(css.clone());
    server_page.push((
        "(inline markup, tags)".to_owned(),
        server_inline().into_bytes(),
    ));
    let mut static_page: Vec<(String, Vec<u8>)> = static_files;
    static_page.push(css);
    static_page.push((
        "(inline config, tags)".to_owned(),
        static_inline().into_bytes(),
    ));

    let manifest = manifest_json(root, &server_page, &static_page)?;
    std::fs::write(www.join("manifest.json"), manifest).map_err(|e| e.to_string())?;
    println!("A server-rendered page (the layer, first visit):");
    report(&server_page);
    println!("\nA static page (the npm package):");
    report(&static_page);
    Ok(())
}

fn manifest_json(
    root: &Path,
    server_page: &[(String, Vec<u8>)],
    static_page: &[(String, Vec<u8>)],
) -> Result<String, String> {
    let mut files = serde_json::Map::new();
    for (name, bytes) in server_page.iter().chain(static_page) {
        if !name.starts_with('(') {
            files.insert(
                name.clone(),
                serde_json::json!({
                    "sha256": sha256(bytes),
                    "bytes": bytes.len(),
                    "gzip": gzip_len(bytes),
                    "brotli": brotli_len(bytes),
                }),
            );
        }
    }
    let page = |parts: &[(String, Vec<u8>)]| {
        let sizes = |measure: fn(&[u8]) -> usize| {
            let items: serde_json::Map<String, serde_json::Value> = parts
                .iter()
                .map(|(name, bytes)| (name.clone(), serde_json::json!(measure(bytes))))
                .collect();
            let total: usize = parts.iter().map(|(_, bytes)| measure(bytes)).sum();
            (items, total)
        };
        let (gzip, total_gzip) = sizes(gzip_len);
        let (brotli, total_brotli) = sizes(brotli_len);
        serde_json::json!({
            "gzip": gzip,
            "total_gzip": total_gzip,
            "brotli": brotli,
            "total_brotli": total_brotli,
        })
    };
    let manifest = serde_json::json!({
        "sources_sha256": sources_hash(root, SOURCES)?,
        "wasm_bindgen": "0.2.130",
        "files": files,
        "server_page": page(server_page),
        "static_page": page(static_page),
    });
    Ok(serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n")
}

fn report(parts: &[(String, Vec<u8>)]) {
    println!(
        "  {:<36} {:>8} {:>8} {:>8}",
        "part", "bytes", "gzip", "brotli"
    );
    let (mut gzip_total, mut brotli_total) = (0, 0);
    for (name, bytes) in parts {
        let (gzip, brotli) = (gzip_len(bytes), brotli_len(bytes));
        gzip_total += gzip;
        brotli_total += brotli;
        println!("  {name:<36} {:>8} {gzip:>8} {brotli:>8}", bytes.len());
    }
    println!(
        "  {:<36} {:>8} {gzip_total:>8} {brotli_total:>8}",
        "total added to the page", ""
    );
}

/// Fails when a page's gzip total in the manifest is over its budget ([`BUDGETS`]).
fn within_budgets(manifest: &serde_json::Value) -> Result<(), String> {
    for (page, budget, target) in BUDGETS {
        let total = manifest[page]["total_gzip"].as_u64().unwrap_or(u64::MAX);
        if total > budget {
            return Err(format!(
                "the banner adds {total} bytes gzipped to a {page}, over its budget of {budget} (target {target})"
            ));
        }
    }
    Ok(())
}

/// `12345` as the README writes it: `12 345`.
fn spaced(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(digit);
    }
    out
}

/// Fails when the README's size table does not show the manifest's totals (it went stale
/// once).
fn readme_shows(root: &Path, manifest: &serde_json::Value) -> Result<(), String> {
    let readme = std::fs::read_to_string(root.join("README.md")).map_err(|e| e.to_string())?;
    let total = |page: &str| {
        format!(
            "{} / {}",
            spaced(manifest[page]["total_gzip"].as_u64().unwrap_or_default()),
            spaced(manifest[page]["total_brotli"].as_u64().unwrap_or_default())
        )
    };
    let row = format!(
        "| **total** | **{}** | **{}** |",
        total("server_page"),
        total("static_page")
    );
    if readme.contains(&row) {
        Ok(())
    } else {
        Err(format!(
            "README.md's banner size table is stale: its total row should read `{row}`"
        ))
    }
}

/// Fails when `www/` does not match the banner's sources or its own manifest.
pub(crate) fn check(root: &Path) -> Result<(), String> {
    let www = root.join("www");
    let manifest_text = std::fs::read_to_string(www.join("manifest.json"))
        .map_err(|e| format!("www/manifest.json: {e}; run `cargo xtask banner`"))?;
    let manifest: serde_json::Value =
        serde_json::from_str(&manifest_text).map_err(|e| format!("www/manifest.json: {e}"))?;
    let current = sources_hash(root, SOURCES)?;
    if manifest["sources_sha256"] != current.as_str() {
        return Err("www/ is stale: the banner's sources changed since it was built; run `cargo xtask banner`".into());
    }
    for name in BUILT {
        let bytes = std::fs::read(www.join(name)).map_err(|e| format!("www/{name}: {e}"))?;
        if manifest["files"][name]["sha256"] != sha256(&bytes).as_str() {
            return Err(format!(
                "www/{name} does not match www/manifest.json; run `cargo xtask banner`"
            ));
        }
    }
    within_budgets(&manifest)?;
    readme_shows(root, &manifest)?;
    println!(
        "www/ is up to date: the banner adds {} bytes gzipped ({} brotli) to a server-rendered page, {} ({}) to a static one",
        manifest["server_page"]["total_gzip"],
        manifest["server_page"]["total_brotli"],
        manifest["static_page"]["total_gzip"],
        manifest["static_page"]["total_brotli"]
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_spaced_as_the_readme_writes_them() {
        assert_eq!(spaced(7), "7");
        assert_eq!(spaced(999), "999");
        assert_eq!(spaced(11_561), "11 561");
        assert_eq!(spaced(1_234_567), "1 234 567");
    }

    #[test]
    fn a_page_over_its_budget_fails_the_check() {
        let page = |gzip: u64| serde_json::json!({ "total_gzip": gzip });
        let within = serde_json::json!({ "server_page": page(12_000), "static_page": page(1) });
        assert!(within_budgets(&within).is_ok());
        let over = serde_json::json!({ "server_page": page(12_001), "static_page": page(1) });
        let error = within_budgets(&over).unwrap_err();
        assert!(
            error.contains("12001") && error.contains("server_page"),
            "{error}"
        );
        assert!(
            within_budgets(&serde_json::json!({})).is_err(),
            "a manifest without totals fails"
        );
    }
}
