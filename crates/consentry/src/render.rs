//! Rendering for a page: the banner, inert-until-granted script tags, the "Cookie settings"
//! link, the cookie declaration and the Consent Mode snippet, through the per-request
//! [`Page`] handle.
//!
//! The markup comes from the banner crate's shared renderer, so the server's first paint
//! and the WebAssembly banner agree on every id and field.

use std::fmt::Write as _;
use std::sync::Arc;

use consentry_banner::logic;
use consentry_banner::markup::{self, Banner, Category as BannerCategory};

use crate::assets;
use crate::consent::Consent;
use crate::gate::GatePart;
use crate::html::{Html, escape};
use crate::ledger::utc_time;
use crate::origin::local_or_root;
use crate::policy::{Category, Policy};
use crate::random::Nonce;

/// The banner's texts in one language; `Default` is English. Set them per language with
/// [`ConsentConfig::texts`](crate::ConsentConfig::texts).
///
/// ```
/// use consentry::BannerTexts;
///
/// let german = BannerTexts {
///     title: "Cookies auf dieser Website".into(),
///     accept_all: "Alle akzeptieren".into(),
///     reject_all: "Alle ablehnen".into(),
///     ..BannerTexts::default()
/// };
/// assert_eq!(german.save, "Save choices");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BannerTexts {
    /// The banner's heading.
    pub title: String,
    /// The first layer's text.
    pub body: String,
    /// The "Accept all" button.
    pub accept_all: String,
    /// The "Reject all" button, as prominent as "Accept all".
    pub reject_all: String,
    /// The control that opens the per-category switches.
    pub customize: String,
    /// The button that saves the switches.
    pub save: String,
    /// The link to the privacy policy.
    pub privacy_link: String,
    /// The "Cookie settings" link that reopens the banner.
    pub settings_link: String,
    /// The settings view's heading.
    pub settings_title: String,
    /// The note beside locked categories.
    pub always_on: String,
    /// The note shown when the browser sent Global Privacy Control.
    pub gpc_honoured: String,
    /// The heading of a category's list of cookies in the settings view.
    pub cookies: String,
    /// That list's "Name" column.
    pub cookie_name: String,
    /// Its "Provider" column.
    pub cookie_provider: String,
    /// Its "Purpose" column.
    pub cookie_purpose: String,
    /// Its "Duration" column.
    pub cookie_duration: String,
}

/// Conversions both ways between [`BannerTexts`] and the banner crate's texts, with the
/// field list written once (a missing field does not compile).
macro_rules! mirror_texts {
    ($($field:ident),* $(,)?) => {
        impl From<BannerTexts> for markup::Texts {
            fn from(texts: BannerTexts) -> Self {
                Self { $($field: texts.$field),* }
            }
        }

        impl From<markup::Texts> for BannerTexts {
            fn from(texts: markup::Texts) -> Self {
                Self { $($field: texts.$field),* }
            }
        }
    };
}

mirror_texts!(
    title,
    body,
    accept_all,
    reject_all,
    customize,
    save,
    privacy_link,
    settings_link,
    settings_title,
    always_on,
    gpc_honoured,
    cookies,
    cookie_name,
    cookie_provider,
    cookie_purpose,
    cookie_duration,
);

impl Default for BannerTexts {
    /// English.
    fn default() -> Self {
        markup::Texts::default().into()
    }
}

/// What every page of one layer renders with: the endpoint's path, the privacy link, the
/// texts per language and the gate's declaration.
pub(crate) struct Renderer {
    base_path: String,
    privacy_url: String,
    /// Lowercase primary language tag → texts; `en` always present.
    texts: Vec<(String, markup::Texts)>,
    /// Where `en` is in `texts`.
    english: usize,
    gate: Arc<GatePart>,
    /// The banner's categories (labels, descriptions, declared cookies) in each language
    /// of `texts`, built once: the policy and the declarations do not change.
    categories: Vec<Vec<BannerCategory>>,
    /// The stylesheet's path.
    stylesheet: String,
}

impl Renderer {
    pub(crate) fn new(
        base_path: String,
        privacy_url: String,
        texts: Vec<(String, BannerTexts)>,
        gate: Arc<GatePart>,
        policy: &Policy,
    ) -> Self {
        let mut texts: Vec<(String, markup::Texts)> = texts
            .into_iter()
            .map(|(language, texts)| (language, texts.into()))
            .collect();
        let english = if let Some(index) = texts.iter().position(|(language, _)| language == "en") {
            index
        } else {
            texts.push(("en".to_owned(), markup::Texts::default()));
            texts.len() - 1
        };
        let categories = texts
            .iter()
            .map(|(language, _)| {
                policy
                    .categories()
                    .iter()
                    .map(|def| {
                        let text = def.text_for(language);
                        BannerCategory {
                            id: def.category().as_str().to_owned(),
                            label: text.label.clone(),
                            description: text.description.clone(),
                            locked: def.category() == &Category::NECESSARY,
                            cookies: gate.banner_cookies(def.category()),
                            services: Vec::new(),
                        }
                    })
                    .collect()
            })
            .collect();
        let stylesheet = format!("{base_path}/{}", assets::stylesheet_name());
        Self {
            base_path,
            privacy_url,
            texts,
            english,
            gate,
            categories,
            stylesheet,
        }
    }

    /// The first supported language named in `Accept-Language`, else `en`: its index in
    /// the texts.
    pub(crate) fn negotiate(&self, accept_language: Option<&str>) -> usize {
        let found = accept_language
            .into_iter()
            .flat_map(|header| header.split(','))
            .filter_map(|item| item.split(';').next())
            .map(str::trim)
            .map(|tag| tag.split('-').next().unwrap_or_default())
            .find_map(|primary| {
                self.texts
                    .iter()
                    .position(|(language, _)| language.eq_ignore_ascii_case(primary))
            });
        found.unwrap_or(self.english)
    }

    /// The language tag at `index` (from [`Renderer::negotiate`]).
    pub(crate) fn language(&self, index: usize) -> &str {
        &self.texts[index.min(self.texts.len() - 1)].0
    }

    fn texts_for(&self, index: usize) -> &markup::Texts {
        &self.texts[index.min(self.texts.len() - 1)].1
    }
}

/// What a page of this request renders with: the banner, scripts that wait for consent,
/// the settings link, the declaration. Found in the request extensions beside
/// [`Consent`] (or extracted with the `axum` feature).
///
/// ```
/// use consentry::{Category, Page};
///
/// fn layout(page: &Page, content: &str) -> String {
///     format!(
///         "<!doctype html><html lang=\"{lang}\"><head>{mode}{tag}</head>\
///          <body>{content}<footer>{link}</footer>{banner}</body></html>",
///         lang = page.language(),
///         mode = page.consent_mode_snippet(),
///         // Live when granted, inert (activated by the banner later) when not.
///         tag = page.script_tag(&Category::ANALYTICS, "https://stats.example/a.js"),
///         link = page.settings_link(),
///         // The no-JavaScript form comes back to this request's path.
///         banner = page.banner_html(),
///     )
/// }
/// # let _ = layout;
/// ```
#[derive(Clone)]
pub struct Page {
    renderer: Arc<Renderer>,
    consent: Consent,
    nonce: Option<Nonce>,
    /// The index of the banner's language in the renderer's texts.
    language: usize,
    /// A signed referral waiting for consent, carried by the banner's form.
    pending_referral: Option<Arc<str>>,
    /// This request's path: the banner's no-JavaScript form comes back to it, checked only
    /// when a banner is rendered.
    path: RequestPath,
}

/// A request's path, kept by its [`Page`]: copied when short, so that keeping it costs no
/// allocation and no shared reference count; a longer one keeps the request's URI.
#[derive(Clone)]
enum RequestPath {
    Inline { len: u8, bytes: [u8; INLINE_PATH] },
    Shared(http::Uri),
}

/// The longest path a [`Page`] copies (the size a shared URI takes anyway).
const INLINE_PATH: usize = 80;

impl RequestPath {
    fn new(uri: &http::Uri) -> Self {
        let path = uri.path();
        match u8::try_from(path.len()) {
            Ok(len) if path.len() <= INLINE_PATH => {
                let mut bytes = [0; INLINE_PATH];
                bytes[..path.len()].copy_from_slice(path.as_bytes());
                Self::Inline { len, bytes }
            }
            _ => Self::Shared(uri.clone()),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Copied whole from a `&str`, so always UTF-8; the root would be the safe
            // fallback.
            Self::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("/")
            }
            Self::Shared(uri) => uri.path(),
        }
    }
}

impl std::fmt::Debug for Page {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Page")
            .field("consent", &self.consent)
            .field("language", &self.language())
            .finish_non_exhaustive()
    }
}

impl Page {
    pub(crate) fn new(
        renderer: Arc<Renderer>,
        consent: Consent,
        nonce: Option<Nonce>,
        language: usize,
        pending_referral: Option<String>,
        uri: &http::Uri,
    ) -> Self {
        Self {
            renderer,
            consent,
            nonce,
            language,
            pending_referral: pending_referral.map(Arc::from),
            path: RequestPath::new(uri),
        }
    }

    /// The visitor's consent this page renders for.
    pub fn consent(&self) -> &Consent {
        &self.consent
    }

    /// This response's CSP nonce, when the CSP is enabled. Put it on every inline
    /// `<script>` and `<style>` element. Inline `style="…"` attributes cannot carry a nonce
    /// and are blocked unless [`Csp::style_attributes`](crate::Csp::style_attributes) allows
    /// them.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_ref().map(Nonce::as_str)
    }

    /// The language the banner is rendered in (from `Accept-Language`).
    pub fn language(&self) -> &str {
        self.renderer.language(self.language)
    }

    fn nonce_attr(&self) -> String {
        self.nonce().map_or_else(String::new, |nonce| {
            format!(r#" nonce="{}""#, escape(nonce))
        })
    }

    /// A `<script>` for `src` in `category`: live when granted, otherwise inert
    /// (`type="text/plain" data-consent="…"`), so the banner can activate it on consent
    /// and no request reaches the third party before.
    pub fn script_tag(&self, category: &Category, src: &str) -> Html {
        Html::trusted(if self.consent.allows(category) {
            format!(
                r#"<script src="{}"{}></script>"#,
                escape(src),
                self.nonce_attr()
            )
        } else {
            format!(
                r#"<script type="text/plain" data-consent="{}" data-src="{}"{}></script>"#,
                escape(category.as_str()),
                escape(src),
                self.nonce_attr()
            )
        })
    }

    /// Google Consent Mode v2: an inline script that sets every purpose to `denied` by
    /// default and then, if the visitor decided, to what they chose. Put it before any
    /// tag; the banner sends `update` when the choice changes.
    pub fn consent_mode_snippet(&self) -> Html {
        let mut script = format!(
            "<script{}>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments);}}\
             gtag('consent','default',{{ad_storage:'denied',ad_user_data:'denied',ad_personalization:'denied',\
             analytics_storage:'denied',functionality_storage:'denied',personalization_storage:'denied',\
             security_storage:'granted',wait_for_update:500}});",
            self.nonce_attr()
        );
        if self.consent.decided() {
            let _ = write!(
                script,
                "gtag('consent','update',{});",
                self.consent_mode_update()
            );
        }
        script.push_str("</script>");
        Html::trusted(script)
    }

    /// The Consent Mode `update` object for this state, as a JavaScript object literal
    /// (the mapping the banner uses, [`consentry_banner::logic::consent_mode`]).
    pub fn consent_mode_update(&self) -> String {
        let granted: Vec<String> = self
            .consent
            .granted()
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect();
        let mut update = String::from("{");
        for (index, (purpose, on)) in logic::consent_mode(&granted).into_iter().enumerate() {
            if index > 0 {
                update.push(',');
            }
            let _ = write!(
                update,
                "{purpose}:'{}'",
                if on { "granted" } else { "denied" }
            );
        }
        update.push('}');
        update
    }

    /// The banner for this page: the first layer (Accept all, Reject all, Customize) while
    /// the visitor is undecided, as a plain form that posts to the consent endpoint so it
    /// works without JavaScript. With the `banner` feature (the default) it also carries the
    /// WebAssembly banner's loader, and once the visitor has decided, the settings view
    /// rendered `hidden` (so "Cookie settings" opens it in place); without the feature it
    /// is empty once decided. The no-JavaScript form comes back to this request's path
    /// ([`Page::banner_html_returning_to`] names another, a query string for instance).
    pub fn banner_html(&self) -> Html {
        self.banner(local_or_root(self.path.as_str()))
    }

    /// [`Page::banner_html`], with the no-JavaScript form coming back to `return_to` (a path
    /// on this site; anything else comes back to `/`).
    ///
    /// ```
    /// use consentry::Page;
    ///
    /// // Back to the search results, query string included.
    /// fn results(page: &Page, query: &str) -> String {
    ///     let back = format!("/search?q={}", consentry::html::escape(query));
    ///     page.banner_html_returning_to(&back).into_string()
    /// }
    /// # let _ = results;
    /// ```
    pub fn banner_html_returning_to(&self, return_to: &str) -> Html {
        self.banner(local_or_root(return_to))
    }

    /// The banner, coming back to `return_to`, a path checked to be local.
    fn banner(&self, return_to: &str) -> Html {
        #[cfg(feature = "banner")]
        {
            // Decided visitors get the settings view hidden, for "Cookie settings" to open
            // in place.
            let decided = self.consent.decided();
            Html::trusted(self.render(return_to, decided, decided) + &self.loader())
        }
        #[cfg(not(feature = "banner"))]
        Html::trusted(if self.consent.decided() {
            String::new()
        } else {
            self.render(return_to, false, false)
        })
    }

    /// The consent form with the per-category switches open, showing the current choice.
    /// The endpoint serves it at `GET /consent` to browsers, for the "Cookie settings" link.
    pub fn settings_html(&self, return_to: &str) -> Html {
        Html::trusted(self.render(return_to, true, false))
    }

    /// Every declared cookie as an HTML table, for the privacy page. Generated from the
    /// same registry that drives the gate, so the policy cannot drift from reality.
    pub fn declaration_html(&self) -> Html {
        Html::trusted(
            self.renderer
                .gate
                .declaration_html(self.consent.policy(), self.language()),
        )
    }

    /// The policy's revision history for the privacy page, newest first: an `<ol>` of each
    /// revision, its date and what changed ([`Policy::revision_note`](crate::Policy::revision_note));
    /// empty when the policy has no notes.
    ///
    /// ```
    /// use consentry::Page;
    ///
    /// fn privacy(page: &Page) -> String {
    ///     format!("<h2>Changes to this policy</h2>{}", page.revision_history_html())
    /// }
    /// # let _ = privacy;
    /// ```
    pub fn revision_history_html(&self) -> Html {
        let notes = self.consent.policy().revision_notes();
        if notes.is_empty() {
            return Html::default();
        }
        let mut out = String::from("<ol class=\"consentry-revisions\" reversed>\n");
        for note in notes.iter().rev() {
            let _ = writeln!(
                out,
                "<li><strong>Revision {}</strong>, <time datetime=\"{date}\">{date}</time>: {}</li>",
                note.revision(),
                escape(note.text()),
                date = escape(note.date()),
            );
        }
        out.push_str("</ol>\n");
        Html::trusted(out)
    }

    /// What the visitor can know about their own decision (GDPR Art. 15): their consent id,
    /// when and under which policy revision they decided, and a link that downloads their
    /// records (`GET /consent/records`). Empty before a signed decision. The settings page
    /// shows it; put it on a privacy page too.
    ///
    /// ```
    /// use consentry::Page;
    ///
    /// fn privacy(page: &Page) -> String {
    ///     format!("<h2>Your consent</h2>{}", page.records_html())
    /// }
    /// # let _ = privacy;
    /// ```
    pub fn records_html(&self) -> Html {
        let state = self.consent.state();
        let (Some(id), Some(decided_at)) = (state.id(), state.decided_at()) else {
            return Html::default();
        };
        Html::trusted(format!(
            "<p class=\"consentry-records\">Your consent id is <code>{id}</code>. You decided on \
             {when} under policy revision {revision}. <a href=\"{base}/records\" \
             download=\"consent-records.json\">Download your consent records</a> (JSON).</p>\n",
            id = escape(&id),
            when = utc_time(decided_at),
            revision = state.revision(),
            base = escape(&self.renderer.base_path),
        ))
    }

    /// The cookie declaration as JSON (what `GET /consent/declaration` returns).
    pub fn declaration_json(&self) -> serde_json::Value {
        self.renderer
            .gate
            .declaration_json(self.consent.policy(), self.language())
    }

    /// A "Cookie settings" link: opens the settings page without JavaScript, and the
    /// banner's dialog with it.
    pub fn settings_link(&self) -> Html {
        Html::trusted(format!(
            r#"<a href="{}" data-consent-open>{}</a>"#,
            escape(&self.renderer.base_path),
            escape(&self.texts().settings_link)
        ))
    }

    /// The settings page's `<title>`.
    pub(crate) fn settings_title(&self) -> &str {
        &self.texts().settings_title
    }

    fn texts(&self) -> &markup::Texts {
        self.renderer.texts_for(self.language)
    }

    /// Renders the banner markup. `open` shows the settings view reflecting the current
    /// choice; `hidden` renders it for the WebAssembly banner to open in place later.
    fn render(&self, return_to: &str, open: bool, hidden: bool) -> String {
        let renderer = &self.renderer;
        let consent = &self.consent;
        let policy = consent.policy();
        let categories = &renderer.categories[self.language.min(renderer.categories.len() - 1)];
        let granted: Vec<String> = if consent.decided() {
            consent
                .granted()
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect()
        } else {
            Vec::new()
        };
        // A returning visitor asked again after a revision bump is told what changed.
        let notice = consent
            .state()
            .earlier_revision()
            .filter(|_| !consent.decided())
            .and_then(|since| policy.changes_since(since));
        markup::render(&Banner {
            action: &renderer.base_path,
            stylesheet: Some(&renderer.stylesheet),
            revision: consent.state().revision(),
            return_to,
            referral: self.pending_referral.as_deref(),
            privacy_url: &renderer.privacy_url,
            notice: notice.as_deref(),
            gpc: consent.state().gpc(),
            open,
            granted: &granted,
            hidden,
            categories,
            texts: self.texts(),
            language: Some(self.language()),
            consent_id: consent.state().id().as_deref(),
            decided_at: consent.state().decided_at(),
        })
    }

    /// The WebAssembly banner's loader. It reads everything it needs from the markup.
    #[cfg(feature = "banner")]
    fn loader(&self) -> String {
        format!(
            "<script type=\"module\" src=\"{}/{}\"{}></script>\n",
            escape(&self.renderer.base_path),
            assets::loader_name(),
            self.nonce_attr(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_keeps_its_requests_path_whatever_its_length() {
        let long = format!("/{}", "a%C3%A9/".repeat(20));
        for path in [
            "/",
            "/orders/42",
            &format!("/{}", "x".repeat(INLINE_PATH - 1)),
            &long,
        ] {
            let uri: http::Uri = format!("{path}?page=2").parse().unwrap();
            let kept = RequestPath::new(&uri);
            assert_eq!(kept.as_str(), path);
            assert_eq!(
                matches!(kept, RequestPath::Inline { .. }),
                path.len() <= INLINE_PATH,
                "{path}"
            );
        }
    }
}
