//! Page layout. Every page carries the consent banner while the visitor is undecided, a
//! "Cookie settings" link, and the analytics tag (inert until analytics is granted).

use std::fmt::Write as _;

use consentry::{Category, Page, Referral, Via};

pub use consentry::html::escape;

/// Who is looking at the page, for the header.
#[derive(Debug, Default, Clone)]
pub struct Viewer {
    /// The logged-in account's email.
    pub email: Option<String>,
    /// Items in the cart.
    pub cart_items: u32,
}

/// Everything a page needs besides its own body.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// Header facts.
    pub viewer: Viewer,
    /// Rendering for this request: banner, settings link, tags that wait for consent.
    pub page: Page,
    /// The analytics provider's origin (`http://127.0.0.1:3001`).
    pub analytics_origin: String,
    /// The partner that referred the visitor, if any.
    pub referral: Option<Referral>,
}

impl Chrome {
    /// Whether portal pricing applies (the request came through a partner portal).
    pub fn portal(&self) -> bool {
        self.referral
            .as_ref()
            .is_some_and(|r| r.via() == Via::Portal)
    }
}

/// A whole page around `body` (already HTML).
pub fn page(title: &str, chrome: &Chrome, body: &str) -> String {
    let viewer = &chrome.viewer;
    let render = &chrome.page;
    let mut nav = String::new();
    let _ = write!(
        nav,
        r#"<a href="/">Catalogue</a> <a href="/cart">Cart ({})</a> "#,
        viewer.cart_items
    );
    match &viewer.email {
        Some(email) => {
            let _ = write!(
                nav,
                r#"<a href="/account">{}</a> <form method="post" action="/logout" class="inline"><button type="submit">Log out</button></form>"#,
                escape(email)
            );
        }
        None => nav.push_str(r#"<a href="/login">Log in</a> <a href="/register">Register</a>"#),
    }
    let analytics = render.script_tag(
        &Category::ANALYTICS,
        &format!("{}/a.js", chrome.analytics_origin),
    );
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Inkwell Print Shop</title>
<link rel="stylesheet" href="/static/shop.css">
{consent_mode}
</head>
<body>
<header><a class="brand" href="/">Inkwell Print Shop</a><nav aria-label="Main">{nav}</nav></header>
<main>
{partner}<h1>{title}</h1>
{body}
</main>
<footer><a href="/privacy">Privacy policy</a> · {settings}</footer>
{banner}{analytics}
</body>
</html>
"#,
        title = escape(title),
        consent_mode = render.consent_mode_snippet(),
        settings = render.settings_link(),
        banner = render.banner_html(),
        partner = chrome.referral.as_ref().map_or_else(String::new, |referral| {
            let pricing = if chrome.portal() { " Portal pricing applies: 10% off every product." } else { "" };
            format!(
                "<p class=\"partner\" role=\"status\">You came from <strong>{}</strong>.{pricing}</p>\n",
                escape(referral.partner_name())
            )
        }),
    )
}

/// The shop's stylesheet.
pub const CSS: &str = "\
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{display:flex;justify-content:space-between;align-items:center;padding:.75rem 1.5rem;background:#1d3557;color:#fff}
header a{color:#fff;margin-right:1rem}
.brand{font-weight:700;text-decoration:none}
main{max-width:48rem;margin:0 auto;padding:1rem 1.5rem}
footer{max-width:48rem;margin:2rem auto 16rem;padding:0 1.5rem;font-size:.9rem}
footer a{color:#1d3557}
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}
form.inline{display:inline}
button{font:inherit;padding:.35rem .9rem;border:1px solid #1d3557;border-radius:4px;background:#1d3557;color:#fff;cursor:pointer}
header button{background:transparent;border-color:#fff}
label{display:block;margin:.5rem 0}label.inline{display:inline}input{font:inherit;padding:.3rem}
caption{text-align:left;font-weight:600;padding:.4rem 0}
dl.shares{display:grid;grid-template-columns:repeat(4,1fr);gap:.5rem;margin:1rem 0}dl.shares dt{grid-row:1;font-size:.85rem}dl.shares dd{grid-row:2;margin:0;font-size:1.4rem;font-weight:600}
svg.chart{max-width:100%;height:auto;background:#fff;border:1px solid #ddd}
.error{color:#9b1c1c}
.partner{background:#e8f0fa;border-left:4px solid #1d3557;padding:.5rem .75rem}
";
