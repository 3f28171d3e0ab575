//! HTML the layer renders: [`Html`], markup that is already escaped, and [`escape`] for
//! text.

use std::fmt;

/// Escapes text for HTML element content and quoted attribute values (the same escaping
/// the banner's markup uses).
///
/// ```
/// assert_eq!(consentry::html::escape(r#"<a href="x">'&'"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;");
/// ```
pub fn escape(text: &str) -> String {
    consentry_banner::markup::escape(text)
}

/// Markup rendered by the layer ([`Page`](crate::Page)'s helpers), with every piece of text
/// in it already escaped: insert it into a page as it is.
///
/// It displays as the markup and dereferences to `&str`. Template engines take it as safe
/// HTML without a `|safe` filter: with the `maud` feature it implements `maud::Render`,
/// with the `askama` feature `askama::filters::HtmlSafe`.
///
/// ```
/// use consentry::Html;
///
/// fn layout(banner: &Html) -> String {
///     format!("<body><main>…</main>{banner}</body>")
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Html(String);

impl Html {
    /// Markup the layer built; every text in it escaped.
    pub(crate) fn trusted(markup: String) -> Self {
        Self(markup)
    }

    /// The markup.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup as a `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Html {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for Html {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Html {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Html> for String {
    fn from(html: Html) -> Self {
        html.0
    }
}

#[cfg(feature = "maud")]
impl maud::Render for Html {
    fn render_to(&self, buffer: &mut String) {
        buffer.push_str(&self.0);
    }
}

#[cfg(feature = "askama")]
impl askama::filters::HtmlSafe for Html {}
