//! An optional `Content-Security-Policy` with a per-request nonce and per-category origins.

/// The CSP the layer sends when enabled with
/// [`ConsentConfig::csp`](crate::ConsentConfig::csp).
///
/// The base policy allows only this origin, inline code carrying the request's nonce, and
/// WebAssembly compilation (for the banner); each category's
/// [`allow_origin`](crate::CategoryDef::allow_origin) origins are added to `script-src`,
/// `connect-src`, `img-src` and `frame-src` only for visitors who granted it, so the
/// browser itself blocks a third-party script before consent even if a template forgot
/// to gate it. A response that already has a CSP keeps its own. Responses that run
/// nothing a CSP governs are left without one: stylesheets (`text/css`), fonts (`font/*`),
/// audio, video and raster images (`image/*` but SVG, which runs scripts when opened on
/// its own). A response of any other type, or of none, gets the CSP.
///
/// **Inline code needs the nonce.** Every inline `<script>` and `<style>` element must carry
/// `nonce="…"` with [`Page::nonce`](crate::Page::nonce); the layer's own markup does.
/// **Inline `style="…"` attributes are blocked** by the base policy (a nonce cannot be put
/// on an attribute): move them into a stylesheet, or allow them with
/// [`Csp::style_attributes`]. See the README's CSP troubleshooting table for each common
/// violation and its fix.
///
/// ```
/// use consentry::Csp;
///
/// let csp = Csp::new().source("img-src", "https://images.example").report_only(false);
/// # let _ = csp;
/// ```
#[derive(Debug, Clone, Default)]
pub struct Csp {
    pub(crate) report_only: bool,
    style_attributes: bool,
    extra: Vec<(String, String)>,
}

const DIRECTIVES: &[(&str, &str)] = &[
    ("default-src", "'self'"),
    ("script-src", "'self' {nonce} 'wasm-unsafe-eval'"),
    ("style-src", "'self' {nonce}"),
    ("img-src", "'self' data:"),
    ("connect-src", "'self'"),
    ("frame-src", "'self'"),
    ("font-src", "'self'"),
    ("object-src", "'none'"),
    ("base-uri", "'self'"),
    ("form-action", "'self'"),
    ("frame-ancestors", "'self'"),
];

/// Where a template's nonce goes: a byte no header value may hold.
const NONCE_MARK: &str = "\0";

/// A rendered policy with the nonce left out ([`Csp::template`]).
#[derive(Debug)]
pub(crate) struct CspTemplate {
    parts: Vec<String>,
}

impl CspTemplate {
    /// A template of the text `parts` before, between and after the nonces (no part: one
    /// empty part, a policy without a nonce). For the benchmarks' entry points only.
    #[cfg(feature = "internals")]
    pub(crate) fn from_parts(mut parts: Vec<String>) -> Self {
        if parts.is_empty() {
            parts.push(String::new());
        }
        Self { parts }
    }

    /// The header value with `nonce` (ASCII text) in each place, as bytes for
    /// `HeaderValue`, which checks them once more.
    pub(crate) fn fill(&self, nonce: &[u8]) -> Vec<u8> {
        let len = self.parts.iter().map(String::len).sum::<usize>()
            + (self.parts.len() - 1) * nonce.len();
        let mut out = Vec::with_capacity(len);
        for (index, part) in self.parts.iter().enumerate() {
            if index > 0 {
                out.extend_from_slice(nonce);
            }
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// Directives that take the granted categories' origins.
const ORIGIN_DIRECTIVES: &[&str] = &["script-src", "connect-src", "img-src", "frame-src"];

impl Csp {
    /// The base policy, enforced.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sends `Content-Security-Policy-Report-Only` instead, to try the policy first.
    #[must_use]
    pub fn report_only(mut self, report_only: bool) -> Self {
        self.report_only = report_only;
        self
    }

    /// Allows inline `style="…"` attributes (`style-src-attr 'unsafe-inline'`), which the
    /// base policy blocks. Style attributes cannot run code, but they let injected markup
    /// restyle the page; prefer classes and a stylesheet when you can.
    ///
    /// ```
    /// use consentry::Csp;
    ///
    /// let csp = Csp::new().style_attributes(true);
    /// # let _ = csp;
    /// ```
    #[must_use]
    pub fn style_attributes(mut self, allowed: bool) -> Self {
        self.style_attributes = allowed;
        self
    }

    /// Adds an always-allowed source to a directive (created if absent).
    #[must_use]
    pub fn source(mut self, directive: impl Into<String>, source: impl Into<String>) -> Self {
        self.extra.push((directive.into(), source.into()));
        self
    }

    pub(crate) fn header_name(&self) -> http::HeaderName {
        if self.report_only {
            http::header::CONTENT_SECURITY_POLICY_REPORT_ONLY
        } else {
            http::header::CONTENT_SECURITY_POLICY
        }
    }

    /// The policy for `granted_origins` with a place for the nonce: render it once per
    /// granted set, then [`CspTemplate::fill`] per response.
    pub(crate) fn template(&self, granted_origins: &[&str]) -> CspTemplate {
        let rendered = self.render(NONCE_MARK, granted_origins);
        CspTemplate {
            parts: rendered.split(NONCE_MARK).map(str::to_owned).collect(),
        }
    }

    /// The header value for one response.
    pub(crate) fn render(&self, nonce: &str, granted_origins: &[&str]) -> String {
        let nonce = format!("'nonce-{nonce}'");
        let mut out = String::with_capacity(512);
        let mut names: Vec<&str> = DIRECTIVES.iter().map(|(name, _)| *name).collect();
        for (name, _) in &self.extra {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        for name in names {
            if !out.is_empty() {
                out.push_str("; ");
            }
            out.push_str(name);
            if let Some((_, base)) = DIRECTIVES.iter().find(|(n, _)| *n == name) {
                out.push(' ');
                out.push_str(&base.replace("{nonce}", &nonce));
            }
            if ORIGIN_DIRECTIVES.contains(&name) {
                for origin in granted_origins {
                    out.push(' ');
                    out.push_str(origin);
                }
            }
            for (_, source) in self.extra.iter().filter(|(n, _)| n == name) {
                out.push(' ');
                out.push_str(source);
            }
        }
        if self.style_attributes && !self.extra.iter().any(|(n, _)| n == "style-src-attr") {
            out.push_str("; style-src-attr 'unsafe-inline'");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_filled_is_the_policy_rendered() {
        let csp = Csp::new()
            .source("img-src", "https://img.example")
            .style_attributes(true);
        for origins in [
            &[][..],
            &["https://stats.example", "https://ads.example"][..],
        ] {
            let template = csp.template(origins);
            assert_eq!(
                template.fill(b"n0nce"),
                csp.render("n0nce", origins).into_bytes()
            );
        }
    }

    #[test]
    fn origins_appear_only_when_given() {
        let csp = Csp::new()
            .source("img-src", "https://img.example")
            .source("worker-src", "'self'");
        let closed = csp.render("abc", &[]);
        assert!(closed.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(closed.contains("img-src 'self' data: https://img.example;"));
        assert!(closed.ends_with("worker-src 'self'"));
        assert!(!closed.contains("stats.example"));
        let open = csp.render("abc", &["https://stats.example"]);
        assert!(
            open.contains(
                "script-src 'self' 'nonce-abc' 'wasm-unsafe-eval' https://stats.example;"
            )
        );
        assert!(open.contains("connect-src 'self' https://stats.example;"));
        assert!(
            !open.contains("style-src-attr"),
            "style attributes blocked by default"
        );
        let styled = Csp::new().style_attributes(true).render("abc", &[]);
        assert!(styled.ends_with("; style-src-attr 'unsafe-inline'"));
        assert!(styled.contains("style-src 'self' 'nonce-abc';"));
    }
}
