//! The banner's markup: one renderer for the server (first paint, no JavaScript needed) and
//! the WebAssembly banner (static sites, reopening after a decision).

use crate::text::{push_html, push_u32, push_u64};

/// The banner's texts in one language. `Default` is English.
///
/// ```
/// use consentry_banner::markup::Texts;
///
/// let german = Texts {
///     title: "Cookies auf dieser Website".into(),
///     accept_all: "Alle akzeptieren".into(),
///     reject_all: "Alle ablehnen".into(),
///     ..Texts::default()
/// };
/// assert_eq!(german.save, "Save choices");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs, reason = "each field is the text its name says")]
pub struct Texts {
    pub title: String,
    pub body: String,
    pub accept_all: String,
    pub reject_all: String,
    pub customize: String,
    pub save: String,
    pub privacy_link: String,
    pub settings_link: String,
    pub settings_title: String,
    pub always_on: String,
    pub gpc_honoured: String,
    pub cookies: String,
    pub cookie_name: String,
    pub cookie_provider: String,
    pub cookie_purpose: String,
    pub cookie_duration: String,
}

impl Default for Texts {
    fn default() -> Self {
        Self {
            title: "Cookies on this site".into(),
            body: "We use necessary cookies to run this site and, with your consent, others for \
                   the purposes below. Change your choice any time in \u{201c}Cookie settings\u{201d}."
                .into(),
            accept_all: "Accept all".into(),
            reject_all: "Reject all".into(),
            customize: "Customize".into(),
            save: "Save choices".into(),
            privacy_link: "Privacy policy".into(),
            settings_link: "Cookie settings".into(),
            settings_title: "Cookie settings".into(),
            always_on: "Always on".into(),
            gpc_honoured: "Your browser sent a Global Privacy Control signal. We honour it: \
                           marketing stays off unless you switch it on here."
                .into(),
            cookies: "Cookies".into(),
            cookie_name: "Name".into(),
            cookie_provider: "Provider".into(),
            cookie_purpose: "Purpose".into(),
            cookie_duration: "Duration".into(),
        }
    }
}

/// `text` escaped for HTML element content and quoted attribute values.
///
/// ```
/// assert_eq!(consentry_banner::markup::escape("<b a=\"'\">&"), "&lt;b a=&quot;&#39;&quot;&gt;&amp;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_html(&mut out, text);
    out
}

/// The standard categories with their English texts: `(id, label, description)`, in
/// policy order (`necessary` first).
pub const STANDARD_CATEGORIES: [(&str, &str, &str); 4] = [
    (
        "necessary",
        "Strictly necessary",
        "Runs the site: your session, security and this choice.",
    ),
    (
        "preferences",
        "Preferences",
        "Remembers settings such as language or region.",
    ),
    (
        "analytics",
        "Analytics",
        "Counts visits and how the site is used, in aggregate.",
    ),
    (
        "marketing",
        "Marketing",
        "Partner referrals and advertising measurement.",
    ),
];

/// One category as the banner shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Category {
    /// Slug id, sent back in `granted`.
    pub id: String,
    /// Label beside the switch.
    pub label: String,
    /// What it is for.
    pub description: String,
    /// Always on (`necessary`): shown ticked and disabled.
    pub locked: bool,
    /// The cookies it covers, listed in the settings view (and, in static mode, deleted
    /// when it is not granted).
    pub cookies: Vec<CookieInfo>,
    /// Services inside the category, each with its own switch (static mode). A service's
    /// granted id is `<category>:<service>`; the category counts as granted when any of its
    /// services is.
    pub services: Vec<Service>,
}

/// One optional service inside a [`Category`], with its own switch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Service {
    /// Slug id, unique inside its category.
    pub id: String,
    /// Label beside the switch.
    pub label: String,
    /// What it does (may be empty).
    pub description: String,
    /// The cookies it sets.
    pub cookies: Vec<CookieInfo>,
}

/// A cookie as the settings view lists it.
///
/// ```
/// use consentry_banner::markup::{Category, CookieInfo, Service};
///
/// let analytics = Category {
///     id: "analytics".into(),
///     cookies: vec![CookieInfo { name: "_ga".into(), prefix: true, provider: "Google".into(), ..CookieInfo::default() }],
///     services: vec![Service { id: "matomo".into(), label: "Matomo".into(), ..Service::default() }],
///     ..Category::default()
/// };
/// assert_eq!(analytics.service_id(&analytics.services[0].id), "analytics:matomo");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CookieInfo {
    /// Its name, or the prefix of its names when `prefix`.
    pub name: String,
    /// `name` is a prefix (`_ga` covers `_ga_XYZ`).
    pub prefix: bool,
    /// Who sets it.
    pub provider: String,
    /// What it is for.
    pub purpose: String,
    /// How long it lives, as text.
    pub duration: String,
    /// The `Domain` it is set with (host-only when `None`), needed to delete it.
    pub domain: Option<String>,
    /// The `Path` it is set with (`/` when empty).
    pub path: String,
}

impl Category {
    /// The granted id of one of its services: `<category>:<service>`.
    ///
    /// ```
    /// use consentry_banner::markup::Category;
    ///
    /// let analytics = Category { id: "analytics".into(), ..Category::default() };
    /// assert_eq!(analytics.service_id("matomo"), "analytics:matomo");
    /// ```
    pub fn service_id(&self, service: &str) -> String {
        service_id(&self.id, service)
    }
}

/// `<category>:<service>` (what [`Category::service_id`] gives, for code that holds only
/// the category's id).
pub(crate) fn service_id(category: &str, service: &str) -> String {
    let mut id = String::with_capacity(category.len() + 1 + service.len());
    id.push_str(category);
    id.push_str(":");
    id.push_str(service);
    id
}

/// The primary subtag of a language tag: `pt` of `pt-BR` (or `pt_BR`).
pub(crate) fn primary_subtag(tag: &str) -> &str {
    &tag[..tag
        .bytes()
        .position(|b| b == b'-' || b == b'_')
        .unwrap_or(tag.len())]
}

/// Whether a language (a BCP 47 tag such as `ar` or `he-IL`) is written right to left.
///
/// ```
/// use consentry_banner::markup::right_to_left;
///
/// assert!(right_to_left("ar") && right_to_left("he-IL") && right_to_left("FA"));
/// assert!(!right_to_left("en") && !right_to_left("de-AR"));
/// ```
pub fn right_to_left(language: &str) -> bool {
    let primary = primary_subtag(language);
    RIGHT_TO_LEFT
        .iter()
        .any(|rtl| primary.eq_ignore_ascii_case(rtl))
}

/// The primary subtags of the languages written right to left ([`right_to_left`] reads
/// them; static sites get the same list at build time).
///
/// ```
/// assert!(consentry_banner::markup::RIGHT_TO_LEFT.contains(&"he"));
/// ```
pub const RIGHT_TO_LEFT: [&str; 11] = [
    "ar", "he", "fa", "ur", "ps", "yi", "dv", "ckb", "sd", "ug", "iw",
];

/// Everything one rendering needs.
#[derive(Debug, Clone)]
pub struct Banner<'a> {
    /// Where the form posts (the consent endpoint).
    pub action: &'a str,
    /// A stylesheet to link from the markup, if any.
    pub stylesheet: Option<&'a str>,
    /// The policy revision shown.
    pub revision: u32,
    /// The path to come back to after a form post.
    pub return_to: &'a str,
    /// A signed pending referral to carry through the form.
    pub referral: Option<&'a str>,
    /// The privacy policy's URL.
    pub privacy_url: &'a str,
    /// What changed in the policy since the visitor last decided, shown when a revision
    /// bump asks them again.
    pub notice: Option<&'a str>,
    /// Whether Global Privacy Control is on (shows the note).
    pub gpc: bool,
    /// The settings view: switches expanded and reflecting `granted`. Otherwise every
    /// optional switch is unticked.
    pub open: bool,
    /// Categories currently granted (used when `open`).
    pub granted: &'a [String],
    /// Rendered but not shown (`hidden`), for the banner to open later in place.
    pub hidden: bool,
    /// The categories, in policy order.
    pub categories: &'a [Category],
    /// The texts.
    pub texts: &'a Texts,
    /// The language of the texts (a BCP 47 tag), written as `lang` with its `dir` on the
    /// section; `None` leaves both to the page.
    pub language: Option<&'a str>,
    /// The visitor's consent id, when they decided (read by `window.consentry.get()`).
    pub consent_id: Option<&'a str>,
    /// When the visitor decided, in unix seconds.
    pub decided_at: Option<u64>,
}

/// Renders the banner as HTML: a `<section>` landmark holding a form that posts to
/// `action`, so it works without JavaScript.
///
/// ```
/// use consentry_banner::markup::{render, Banner, Category, Texts};
///
/// let categories = [Category { id: "analytics".into(), label: "Analytics".into(), description: "Counts visits".into(), ..Category::default() }];
/// let html = render(&Banner {
///     action: "/consent", stylesheet: None, revision: 1, return_to: "/", referral: None,
///     privacy_url: "/privacy", notice: None, gpc: false, open: false, granted: &[], hidden: false,
///     categories: &categories,
///     texts: &Texts::default(), language: Some("en"), consent_id: None, decided_at: None,
/// });
/// assert!(html.contains(r#"value="accept_all""#) && html.contains(r#"value="reject_all""#));
/// assert!(html.contains(r#" lang="en" dir="ltr""#));
/// ```
pub fn render(banner: &Banner<'_>) -> String {
    let texts = banner.texts;
    let mut out = String::with_capacity(2048);
    out.push_str(r#"<section id="consentry" class="consentry" aria-labelledby="consentry-title" data-revision=""#);
    push_u32(&mut out, banner.revision);
    out.push_str("\"");
    if let Some(language) = banner.language {
        out.push_str(" lang=\"");
        push_html(&mut out, language);
        out.push_str(if right_to_left(language) {
            "\" dir=\"rtl\""
        } else {
            "\" dir=\"ltr\""
        });
    }
    out.push_str(" data-settings-label=\"");
    push_html(&mut out, &texts.settings_link);
    out.push_str("\"");
    if let Some(id) = banner.consent_id {
        out.push_str(" data-consent-id=\"");
        push_html(&mut out, id);
        out.push_str("\"");
    }
    if let Some(time) = banner.decided_at {
        out.push_str(" data-decided-at=\"");
        push_u64(&mut out, time);
        out.push_str("\"");
    }
    out.push_str(if banner.hidden { " hidden>\n" } else { ">\n" });
    if let Some(stylesheet) = banner.stylesheet {
        out.push_str(r#"<link rel="stylesheet" href=""#);
        push_html(&mut out, stylesheet);
        out.push_str("\">\n");
    }
    out.push_str(r#"<form class="consentry-form" method="post" action=""#);
    push_html(&mut out, banner.action);
    out.push_str("\">\n");
    hidden(&mut out, "return_to", banner.return_to);
    out.push_str(r#"<input type="hidden" name="revision" value=""#);
    push_u32(&mut out, banner.revision);
    out.push_str("\">\n");
    if let Some(referral) = banner.referral {
        hidden(&mut out, "referral", referral);
    }
    out.push_str(r#"<h2 id="consentry-title">"#);
    push_html(
        &mut out,
        if banner.open {
            &texts.settings_title
        } else {
            &texts.title
        },
    );
    out.push_str("</h2>\n<p>");
    push_html(&mut out, &texts.body);
    out.push_str(r#" <a href=""#);
    push_html(&mut out, banner.privacy_url);
    out.push_str("\">");
    push_html(&mut out, &texts.privacy_link);
    out.push_str("</a></p>\n");
    if let Some(notice) = banner.notice {
        out.push_str(r#"<p class="consentry-notice" role="note">"#);
        push_html(&mut out, notice);
        out.push_str("</p>\n");
    }
    if banner.gpc {
        out.push_str(r#"<p class="consentry-gpc" data-gpc>"#);
        push_html(&mut out, &texts.gpc_honoured);
        out.push_str("</p>\n");
    }
    out.push_str("<div class=\"consentry-actions\">\n");
    button(&mut out, "accept_all", &texts.accept_all);
    button(&mut out, "reject_all", &texts.reject_all);
    out.push_str("</div>\n<details class=\"consentry-customize\"");
    if banner.open {
        out.push_str(" open");
    }
    out.push_str(">\n<summary>");
    push_html(&mut out, &texts.customize);
    out.push_str("</summary>\n<fieldset>\n<legend class=\"consentry-visually-hidden\">");
    push_html(&mut out, &texts.customize);
    out.push_str("</legend>\n");
    switches(&mut out, banner);
    out.push_str("</fieldset>\n");
    button(&mut out, "save", &texts.save);
    out.push_str("</details>\n</form>\n</section>\n");
    out
}

/// One switch per category (and per service inside it), with its cookies.
fn switches(out: &mut String, banner: &Banner<'_>) {
    let texts = banner.texts;
    for category in banner.categories {
        let granted = |id: &String| category.locked || (banner.open && banner.granted.contains(id));
        out.push_str("<div class=\"consentry-category\">\n");
        switch(
            out,
            &category.id,
            None,
            granted(&category.id),
            category.locked,
        );
        label(
            out,
            &category.id,
            &category.label,
            category.locked.then_some(&*texts.always_on),
        );
        description(out, &category.id, &category.description);
        if !category.services.is_empty() {
            out.push_str("<div class=\"consentry-services\">\n");
            for service in &category.services {
                let id = category.service_id(&service.id);
                out.push_str("<div class=\"consentry-category\">\n");
                switch(out, &id, Some(&category.id), granted(&id), category.locked);
                label(out, &id, &service.label, None);
                description(out, &id, &service.description);
                out.push_str("</div>\n");
            }
            out.push_str("</div>\n");
        }
        cookie_table(out, category, texts);
        out.push_str("</div>\n");
    }
}

fn hidden(out: &mut String, name: &str, value: &str) {
    out.push_str(r#"<input type="hidden" name=""#);
    out.push_str(name);
    out.push_str(r#"" value=""#);
    push_html(out, value);
    out.push_str("\">\n");
}

fn button(out: &mut String, action: &str, label: &str) {
    out.push_str(r#"<button type="submit" class="consentry-button" name="action" value=""#);
    out.push_str(action);
    out.push_str("\">");
    push_html(out, label);
    out.push_str("</button>\n");
}

/// A category's (or service's) switch; `id` is what it grants.
fn switch(out: &mut String, id: &str, category: Option<&str>, checked: bool, locked: bool) {
    out.push_str("<input type=\"checkbox\" role=\"switch\" id=\"consentry-");
    push_html(out, id);
    out.push_str("\" name=\"granted\" value=\"");
    push_html(out, id);
    out.push_str("\"");
    if let Some(category) = category {
        out.push_str(" data-category=\"");
        push_html(out, category);
        out.push_str("\"");
    }
    if checked {
        out.push_str(" checked");
    }
    if locked {
        out.push_str(" disabled");
    }
    out.push_str(" aria-describedby=\"consentry-");
    push_html(out, id);
    out.push_str("-desc\">\n");
}

fn label(out: &mut String, id: &str, text: &str, always_on: Option<&str>) {
    out.push_str("<label for=\"consentry-");
    push_html(out, id);
    out.push_str("\">");
    push_html(out, text);
    if let Some(always_on) = always_on {
        out.push_str(" <small>(");
        push_html(out, always_on);
        out.push_str(")</small>");
    }
    out.push_str("</label>\n");
}

fn description(out: &mut String, id: &str, text: &str) {
    out.push_str("<p id=\"consentry-");
    push_html(out, id);
    out.push_str("-desc\">");
    push_html(out, text);
    out.push_str("</p>\n");
}

/// The cookies of a category and its services, as a table under a disclosure.
fn cookie_table(out: &mut String, category: &Category, texts: &Texts) {
    let cookies = category
        .cookies
        .iter()
        .chain(category.services.iter().flat_map(|s| &s.cookies));
    let count = cookies.clone().count();
    if count == 0 {
        return;
    }
    out.push_str("<details class=\"consentry-cookies\">\n<summary>");
    push_html(out, &texts.cookies);
    out.push_str(" (");
    push_u64(out, count as u64);
    out.push_str(")</summary>\n<table>\n<thead><tr>");
    for heading in [
        &texts.cookie_name,
        &texts.cookie_provider,
        &texts.cookie_purpose,
        &texts.cookie_duration,
    ] {
        out.push_str("<th scope=\"col\">");
        push_html(out, heading);
        out.push_str("</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for cookie in cookies {
        out.push_str("<tr><td><code>");
        push_html(out, &cookie.name);
        if cookie.prefix {
            out.push_str("*");
        }
        out.push_str("</code></td>");
        for cell in [&cookie.provider, &cookie.purpose, &cookie.duration] {
            out.push_str("<td>");
            push_html(out, cell);
            out.push_str("</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Vec<Category> {
        vec![
            Category {
                id: "necessary".into(),
                label: "Necessary".into(),
                description: "Runs the site".into(),
                locked: true,
                ..Category::default()
            },
            Category {
                id: "analytics".into(),
                label: "Analytics <b>".into(),
                description: "Counts".into(),
                locked: false,
                ..Category::default()
            },
        ]
    }

    fn banner<'a>(
        categories: &'a [Category],
        granted: &'a [String],
        texts: &'a Texts,
        open: bool,
    ) -> Banner<'a> {
        Banner {
            action: "/consent",
            stylesheet: Some("/consent/banner.css"),
            revision: 12,
            return_to: "/cart?x=\"1\"",
            referral: Some("tok\"en"),
            privacy_url: "/privacy",
            notice: None,
            gpc: true,
            open,
            granted,
            hidden: false,
            categories,
            texts,
            language: None,
            consent_id: None,
            decided_at: None,
        }
    }

    #[test]
    fn first_layer_has_equal_buttons_and_unticked_switches() {
        let categories = categories();
        assert!(
            render(&banner(&categories, &[], &Texts::default(), false))
                .contains(r#"data-revision="12" data-settings-label="Cookie settings">"#)
        );
        let texts = Texts::default();
        let granted = vec!["analytics".to_owned()];
        let html = render(&banner(&categories, &granted, &texts, false));
        assert!(html.contains(r#"data-revision="12""#));
        assert!(html.contains(r#"name="return_to" value="/cart?x=&quot;1&quot;""#));
        assert!(html.contains(r#"name="referral" value="tok&quot;en""#));
        assert!(html.contains("Analytics &lt;b&gt;"));
        assert!(html.contains("data-gpc"));
        assert!(html.contains(
            r#"id="consentry-necessary" name="granted" value="necessary" checked disabled"#
        ));
        assert!(
            html.contains(
                r#"id="consentry-analytics" name="granted" value="analytics" aria-describedby"#
            ),
            "unticked on the first layer"
        );
        let accept = html.find(r#"value="accept_all""#).unwrap();
        let reject = html.find(r#"value="reject_all""#).unwrap();
        assert!(
            accept < reject && reject - accept < 120,
            "side by side with the same markup"
        );
    }

    #[test]
    fn the_english_texts_land_in_their_fields() {
        let texts = Texts::default();
        assert_eq!(texts.title, "Cookies on this site");
        assert!(texts.body.ends_with("\u{201c}Cookie settings\u{201d}."));
        assert_eq!(texts.accept_all, "Accept all");
        assert_eq!(texts.settings_title, "Cookie settings");
        assert!(texts.gpc_honoured.starts_with("Your browser sent"));
        assert_eq!(texts.cookie_duration, "Duration");
    }

    #[test]
    fn settings_view_reflects_the_current_choice() {
        let categories = categories();
        let texts = Texts::default();
        let granted = vec!["analytics".to_owned()];
        let html = render(&banner(&categories, &granted, &texts, true));
        assert!(html.contains("<details class=\"consentry-customize\" open>"));
        assert!(html.contains(r#"value="analytics" checked aria-describedby"#));
        assert!(html.contains(">Cookie settings</h2>"));
    }
}
