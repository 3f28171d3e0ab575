//! Page layout and HTML escaping.

use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Who is looking at the page, for the header.
#[derive(Debug, Default, Clone)]
pub struct Viewer {
    /// The logged-in account's email.
    pub email: Option<String>,
    /// Items in the cart.
    pub cart_items: u32,
}

/// A whole page around `body` (already HTML).
pub fn page(title: &str, viewer: &Viewer, body: &str) -> String {
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
        None => nav.push_str(r#"<a href="/login">Log in</a>"#),
    }
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Inkwell Print Shop</title>
<link rel="stylesheet" href="/static/shop.css">
</head>
<body>
<header><a class="brand" href="/">Inkwell Print Shop</a><nav>{nav}</nav></header>
<main>
<h1>{title}</h1>
{body}
</main>
<footer><a href="/privacy">Privacy policy</a></footer>
</body>
</html>
"#,
        title = escape(title),
    )
}

/// The shop's stylesheet.
pub const CSS: &str = "\
body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#1b1b1b;background:#fafafa}
header{display:flex;justify-content:space-between;align-items:center;padding:.75rem 1.5rem;background:#1d3557;color:#fff}
header a{color:#fff;margin-right:1rem}
.brand{font-weight:700;text-decoration:none}
main{max-width:48rem;margin:0 auto;padding:1rem 1.5rem}
footer{max-width:48rem;margin:2rem auto;padding:0 1.5rem;font-size:.9rem}
table{border-collapse:collapse;width:100%}td,th{padding:.4rem;border-bottom:1px solid #ddd;text-align:left}
form.inline{display:inline}
button{font:inherit;padding:.35rem .9rem;border:1px solid #1d3557;border-radius:4px;background:#1d3557;color:#fff;cursor:pointer}
header button{background:transparent;border-color:#fff}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}
.error{color:#9b1c1c}
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
