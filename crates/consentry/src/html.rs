//! HTML escaping for everything the layer renders.

/// Escapes text for HTML element content and quoted attribute values (the same escaping
/// the banner's markup uses).
///
/// ```
/// assert_eq!(consentry::html::escape(r#"<a href="x">'&'"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;");
/// ```
pub fn escape(text: &str) -> String {
    consentry_banner::markup::escape(text)
}
