//! The static site's stand-in for the server (`crates/consentry-banner/src/site.js`), in
//! Node.js: the markup it renders is, byte for byte, what the Rust renderer writes for the
//! same configuration; and its grant rule, choice cookie reading, cookie deletions and
//! language pick give what the layer gives.

use std::path::PathBuf;
use std::process::Command;

use consentry_banner::config::{self, Config, Translation};
use consentry_banner::markup::{self, Banner, Category, CookieInfo, Service, Texts};
use serde_json::{Value, json};

/// Runs `script` in Node.js after `site.js` is imported as `site` (with the constants the
/// build defines), and returns what it prints, as JSON.
fn node(script: &str) -> Value {
    let site = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/consentry-banner/src/site.js")
        .canonicalize()
        .expect("site.js");
    let constants = config::site_constants()
        .map(|(name, value)| format!("globalThis.{name} = {value};"))
        .join("\n");
    let url = format!("file://{}", site.display());
    let program = format!("{constants}\nconst site = await import({url:?});\n{script}");
    let output = Command::new("node")
        .args(["--input-type=module", "-e", &program])
        .output()
        .expect("node starts (scripts/test installs Node.js)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"))
}

fn cookie(name: &str, prefix: bool, domain: Option<&str>, path: &str) -> CookieInfo {
    CookieInfo {
        name: name.into(),
        prefix,
        provider: "Provider <&>".into(),
        purpose: "Purpose \"quoted\"".into(),
        duration: "1 year".into(),
        domain: domain.map(Into::into),
        path: path.into(),
    }
}

/// `necessary` (locked, one cookie), `analytics` with a domain cookie, a prefix and two
/// services, `marketing`: as a static site configures them, in Rust.
fn categories() -> Vec<Category> {
    let category = |id: &str, locked| Category {
        id: id.into(),
        label: format!("{id} label"),
        description: format!("What {id} does, with 'quotes' & <tags>"),
        locked,
        ..Category::default()
    };
    vec![
        Category {
            cookies: vec![cookie("sid", false, None, "")],
            ..category("necessary", true)
        },
        Category {
            cookies: vec![
                cookie("_ga", true, Some(".example.com"), ""),
                cookie("_sp", false, None, "/sub"),
            ],
            services: vec![
                Service {
                    id: "matomo".into(),
                    label: "Matomo".into(),
                    description: "Statistics".into(),
                    cookies: vec![cookie("_pk", true, None, "")],
                },
                Service {
                    id: "plausible".into(),
                    label: "Plausible".into(),
                    description: String::new(),
                    cookies: vec![cookie("plausible", false, None, "")],
                },
            ],
            ..category("analytics", false)
        },
        category("marketing", false),
    ]
}

fn german() -> Texts {
    Texts {
        title: "Cookies auf dieser Website".into(),
        accept_all: "Alle akzeptieren".into(),
        ..Texts::default()
    }
}

fn config(gpc: bool) -> Config {
    Config {
        revision: 7,
        gpc,
        gpc_denies: vec!["marketing".into()],
        categories: categories(),
        texts: Some(Texts::default()),
        privacy_url: "/privacy?a=1&b=2".into(),
        language: "en".into(),
        translations: vec![
            Translation {
                language: "de".into(),
                texts: german(),
                categories: vec![(
                    "analytics".into(),
                    "Statistik".into(),
                    "Zählt Besuche.".into(),
                )],
            },
            Translation {
                language: "ar".into(),
                texts: Texts::default(),
                categories: Vec::new(),
            },
        ],
        ..Config::default()
    }
}

/// The markup `markup::render` writes for a static site.
fn rust_markup(
    config: &Config,
    categories: &[Category],
    texts: &Texts,
    language: &str,
    (open, hidden): (bool, bool),
    granted: &[String],
    (consent_id, decided_at): (Option<&str>, Option<u64>),
) -> String {
    markup::render(&Banner {
        action: "",
        stylesheet: None,
        revision: config.revision,
        return_to: "/",
        referral: None,
        privacy_url: &config.privacy_url,
        notice: None,
        gpc: config.gpc,
        open,
        granted,
        hidden,
        categories,
        texts,
        language: Some(language),
        consent_id,
        decided_at,
    })
}

/// The site's renderings of five cases: a first layer, the same under Global Privacy
/// Control, a decided visitor's hidden settings view, German, and Arabic opened.
fn site_renderings(plain: &Config, gpc: &Config) -> Value {
    node(&format!(
        r#"
const plain = site.configure({plain:?}), gpc = site.configure({gpc:?});
const state = (granted, id, time) => ({{ granted, id, time }});
const decided = ["necessary", "analytics", "analytics:matomo"];
console.log(JSON.stringify({{
  first: site.render(plain, state([]), plain.languages[0], false, false),
  gpc: site.render(gpc, state([]), gpc.languages[0], false, false),
  decided: site.render(plain, state(decided, "c0ffee", 1800000000), plain.languages[0], true, true),
  german: site.render(plain, state([], "c0ffee"), plain.languages[1], false, false),
  arabic: site.render(plain, state([]), plain.languages[2], true, false),
}}));
"#,
        plain = plain.to_json(),
        gpc = gpc.to_json(),
    ))
}

#[test]
fn the_site_renders_what_the_rust_renderer_writes() {
    let plain = config(false);
    let gpc = config(true);
    let out = site_renderings(&plain, &gpc);
    let english = Texts::default();
    let categories = categories();
    let mut german_categories = categories.clone();
    german_categories[1].label = "Statistik".into();
    german_categories[1].description = "Zählt Besuche.".into();
    let granted: Vec<String> = ["necessary", "analytics", "analytics:matomo"]
        .map(String::from)
        .to_vec();
    let expected = [
        (
            "first",
            rust_markup(
                &plain,
                &categories,
                &english,
                "en",
                (false, false),
                &[],
                (None, None),
            ),
        ),
        (
            "gpc",
            rust_markup(
                &gpc,
                &categories,
                &english,
                "en",
                (false, false),
                &[],
                (None, None),
            ),
        ),
        (
            "decided",
            rust_markup(
                &plain,
                &categories,
                &english,
                "en",
                (true, true),
                &granted,
                (Some("c0ffee"), Some(1_800_000_000)),
            ),
        ),
        (
            "german",
            rust_markup(
                &plain,
                &german_categories,
                &german(),
                "de",
                (false, false),
                &[],
                (Some("c0ffee"), None),
            ),
        ),
        (
            "arabic",
            rust_markup(
                &plain,
                &categories,
                &english,
                "ar",
                (true, false),
                &[],
                (None, None),
            ),
        ),
    ];
    for (case, html) in expected {
        assert_eq!(out[case].as_str(), Some(html.as_str()), "{case}");
    }
    // The cases above cover what they claim.
    let decided = out["decided"].as_str().unwrap_or_default();
    assert!(decided.contains(r#"value="analytics:matomo" data-category="analytics" checked"#));
    assert!(decided.contains(" hidden>") && decided.contains("data-decided-at=\"1800000000\""));
    assert!(out["gpc"].as_str().unwrap_or_default().contains("data-gpc"));
    assert!(
        out["arabic"]
            .as_str()
            .unwrap_or_default()
            .contains(r#"dir="rtl""#)
    );
    assert!(
        out["german"]
            .as_str()
            .unwrap_or_default()
            .contains("Statistik")
    );
}

#[test]
fn decisions_grant_what_the_layer_grants() {
    let out = node(&format!(
        r#"
const plain = site.configure({plain:?});
const gpc = {{ ...plain, gpc: true }};
const save = (granted) => ({{ action: "save", granted }});
console.log(JSON.stringify([
  site.grant(plain, {{ action: "accept_all" }}),
  site.grant(gpc, {{ action: "accept_all" }}),
  site.grant(gpc, {{ action: "reject_all", granted: ["marketing"] }}),
  site.grant(gpc, save(["marketing", "bogus"])),
  site.grant(plain, save(["analytics:matomo"])),
  site.grant(plain, save(["analytics"])),
  site.grant(plain, save(["analytics", "analytics:matomo"])),
  site.grant(plain, save("analytics")),
  site.grant(plain, {{}}),
]));
"#,
        plain = config(false).to_json(),
    ));
    let all = [
        "necessary",
        "analytics",
        "analytics:matomo",
        "analytics:plausible",
        "marketing",
    ];
    assert_eq!(
        out,
        json!([
            all,
            // Global Privacy Control: "Accept all" leaves what it denies off…
            [
                "necessary",
                "analytics",
                "analytics:matomo",
                "analytics:plausible"
            ],
            // …"Reject all" ignores ticks…
            ["necessary"],
            // …and an explicit tick beats it; unknown ids are dropped.
            ["necessary", "marketing"],
            // A service grants its category, not its siblings.
            ["necessary", "analytics", "analytics:matomo"],
            // A category alone grants its services…
            [
                "necessary",
                "analytics",
                "analytics:matomo",
                "analytics:plausible"
            ],
            // …with one of them ticked (as the switches send it), only that one.
            ["necessary", "analytics", "analytics:matomo"],
            // Anything but a list of ids grants nothing optional.
            ["necessary"],
            ["necessary"],
        ])
    );
}

#[test]
fn choice_cookies_read_as_the_layer_reads_them() {
    let values = [
        "1.3.analytics.preferences",
        "1.3",
        "2.3.17",
        "2.3.analytics",
        "3.3.17",
        "3.3.17.",
        "3.3.17.abc",
        "3.7.1800000000.c0ffee.necessary.analytics",
        "4.3.1800000000.abc.analytics",
        "1.x.analytics",
        "1.4294967296",
        "1.4294967295",
        "2.0000000000003.017",
        "1.+3",
        "",
    ];
    let out = node(&format!(
        "console.log(JSON.stringify({values:?}.map((v) => site.parseChoice(v) ?? null)));"
    ));
    let parsed: Vec<Value> = values
        .iter()
        .map(
            |value| match consentry_banner::protocol::parse_choice(value) {
                Some(choice) => json!({
                    "revision": choice.revision,
                    "time": choice.time,
                    "id": choice.id,
                    "granted": choice.granted().collect::<Vec<_>>(),
                }),
                None => Value::Null,
            },
        )
        .collect();
    assert_eq!(out, Value::Array(parsed));
    assert_eq!(out[7]["granted"], json!(["necessary", "analytics"]));
    assert!(out[8].is_null() && out[10].is_null());
}

#[test]
fn withdrawal_deletes_the_declared_cookies_of_what_is_not_granted() {
    let out = node(&format!(
        r#"
const plain = site.configure({plain:?});
const jar = ["sid", "_ga", "_ga_X", "_pk_id", "other"];
console.log(JSON.stringify([
  site.deletions(plain, ["necessary", "analytics", "analytics:plausible"], jar),
  site.deletions(plain, [], jar),
  site.deletions(plain, ["analytics", "analytics:matomo", "analytics:plausible", "marketing"], jar),
]));
"#,
        plain = config(false).to_json(),
    ));
    assert_eq!(
        out,
        json!([
            // One service granted: the other service's cookies go.
            ["_pk_id=;max-age=0;path=/"],
            // Nothing granted: every declared cookie but the locked category's; a domain
            // cookie also host-only; exact names even when the page does not see them.
            [
                "_ga=;max-age=0;path=/",
                "_ga=;max-age=0;path=/;domain=.example.com",
                "_ga_X=;max-age=0;path=/",
                "_ga_X=;max-age=0;path=/;domain=.example.com",
                "_sp=;max-age=0;path=/sub",
                "_pk_id=;max-age=0;path=/",
                "plausible=;max-age=0;path=/",
            ],
            [],
        ])
    );
}

#[test]
fn configurations_are_checked_and_languages_picked() {
    let out = node(
        r#"
const errors = [];
console.error = (message) => errors.push(message);
const mistaken = site.configure('{"revision":-1,"categorys":[],"texts":{"acceptALL":"Yes"},"categories":[{"id":"analytics"},{"label":"B"},{"id":"analytics"},{"id":"necessary","label":"Needed"}]}');
const languages = ["en", "de", "pt-BR"].map((tag) => ({ tag }));
console.log(JSON.stringify({
  errors,
  revision: mistaken.revision,
  first: [mistaken.categories[0].id, mistaken.categories[0].label, mistaken.categories[0].locked],
  added: site.configure('{"categories":[]}').categories.map((c) => [c.id, c.locked]),
  broken: ["{", "1", "null", "[1]"].map((text) => site.configure(text) ?? null),
  odd: (() => {
    // Wrong types everywhere: read as empty, never a throw, and still rendered.
    const odd = site.configure('{"revision":"7","gpc":"yes","gpcDenies":"marketing","privacy":5,"language":["de"],"texts":[1],"translations":["x"],"categories":[null,5,{"id":"a","cookies":"c","services":{"id":"s"},"label":{}}]}');
    const html = site.render(odd, { granted: [] }, odd.languages[0], true, false);
    return [odd.revision, odd.gpc, odd.gpcDenies, odd.privacy, odd.languages.map((l) => l.tag), odd.categories.map((c) => c.id), html.includes('id="consentry-a"')];
  })(),
  picks: [["de-AT", "en"], ["PT-br"], ["pt"], ["fr"], ["", "de"]].map((w) => site.pick(languages, w) ?? null),
}));
"#,
    );
    let errors = out["errors"].to_string();
    for expected in [
        r#"unknown configuration key \"categorys\""#,
        r#"unknown text \"acceptALL\""#,
        r#"a category has no \"id\""#,
        "category listed twice: analytics",
        "the configuration is not valid JSON",
        "the configuration must be a JSON object",
    ] {
        assert!(errors.contains(expected), "{expected} in {errors}");
    }
    assert_eq!(out["revision"], 0, "a revision that is no u32 reads as 0");
    assert_eq!(out["first"], json!(["necessary", "Needed", true]));
    assert_eq!(out["added"], json!([["necessary", true]]));
    assert_eq!(out["broken"], json!([null, null, null, null]));
    assert_eq!(
        out["odd"],
        json!([0, true, [], "", ["en"], ["necessary", "", "", "a"], true])
    );
    assert_eq!(out["picks"], json!([1, 2, 2, null, 1]));
}
