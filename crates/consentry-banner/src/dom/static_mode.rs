//! Static mode: no server. The loader reads and checks the page's configuration (JSON is
//! native there) and hands its fields over; the banner renders its own markup in the
//! visitor's language and keeps the choice in a first-party cookie whose denials a server
//! would also honour.

use super::js::{self, Node, document};
use super::{STATE, State, property, strings};
use crate::config::{self, Config, Translation};
use crate::logic::{self, Action};
use crate::markup::{self, Banner, Category};
use crate::protocol::{CHOICE_COOKIE, DIALOG_ID, SECTION_ID, choice_value};
use crate::text::push_hex;

/// What a static page configured.
pub(super) struct Site {
    pub(super) categories: Vec<Category>,
    privacy_url: String,
    /// The configured language first, then the translations.
    languages: Vec<Translation>,
    /// The one shown.
    current: usize,
}

impl Site {
    pub(super) const EMPTY: Self = Self {
        categories: Vec::new(),
        privacy_url: String::new(),
        languages: Vec::new(),
        current: 0,
    };
}

/// Reads the configuration the loader read and checked from the page's JSON (its fields,
/// [`crate::fields`]); `necessary` is offered and granted whatever it says.
pub(super) fn read_config(page: &Node, fields: &str) -> State {
    let Config {
        revision,
        gpc,
        gpc_denies,
        mut categories,
        texts,
        privacy_url,
        mut language,
        translations,
        ..
    } = crate::fields::read(fields);
    if language.is_empty() {
        "en".clone_into(&mut language);
    }
    let mut languages = vec![Translation {
        language,
        texts: texts.unwrap_or_default(),
        categories: Vec::new(),
    }];
    languages.extend(translations);
    config::ensure_necessary(&mut categories);
    let wanted: Vec<String> = std::iter::once(page.root().lang())
        .chain(strings(&js::NAVIGATOR.with(|n| property(n, "languages"))))
        .collect();
    let current = pick(&languages, &wanted).unwrap_or(0);
    languages[0].categories = labels(&categories);
    let mut site = Site {
        categories,
        privacy_url,
        languages,
        current: 0,
    };
    relabel(&mut site, current);
    let mut state = State {
        endpoint: None,
        revision,
        gpc,
        gpc_denies,
        language: Some(site.languages[current].language.clone()),
        site,
        ..State::EMPTY
    };
    restore(&mut state);
    state
}

/// Which of `languages` to show for the `wanted` tags ([`config::pick_language`]).
fn pick(languages: &[Translation], wanted: &[String]) -> Option<usize> {
    let tags: Vec<&str> = languages.iter().map(|l| l.language.as_str()).collect();
    config::pick_language(&tags, wanted.iter().map(String::as_str))
}

/// The stored choice, if it was made under this revision; the consent id in any case.
fn restore(state: &mut State) {
    let cookies = document().cookie();
    let choice = logic::stored_choice(&cookies);
    state.id = choice.as_ref().and_then(|c| c.id).map(str::to_owned);
    match choice.filter(|c| c.revision == state.revision) {
        Some(choice) => {
            state.decided = true;
            state.decided_at = choice.time.map(|t| f64::from(t) * 1000.0);
            state.granted = choice.granted().map(str::to_owned).collect();
        }
        None => {
            state.granted = logic::granted(
                logic::switches(&state.site.categories),
                &state.gpc_denies,
                &Action::RejectAll,
                false,
            );
        }
    }
}

/// A new consent id: 16 random bytes in hex.
fn new_id() -> String {
    let mut bytes = [0u8; 16];
    js::random(&mut bytes);
    let mut id = String::with_capacity(32);
    for byte in bytes {
        push_hex(&mut id, u32::from(byte), 2);
    }
    id
}

fn cookie_attributes(cookie: &mut String) {
    cookie.push_str(";path=/;max-age=15724800;samesite=lax");
    if js::LOCATION
        .with(|l| property(l, "protocol").as_string())
        .as_deref()
        == Some("https:")
    {
        cookie.push_str(";secure");
    }
}

/// Stores a decision in the choice cookie (with the consent id, made now if this is the
/// browser's first decision).
pub(super) fn store(granted: &[String]) {
    let now = js::now();
    let (revision, id) = STATE.with(|s| {
        let mut state = s.borrow_mut();
        let id = state.id.get_or_insert_with(new_id).clone();
        state.decided_at = Some(now);
        (state.revision, id)
    });
    let mut cookie = String::from(CHOICE_COOKIE);
    cookie.push_str("=");
    // Whole seconds since 1970 fit a u32 until 2106; the cast saturates.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let seconds = (now / 1000.0) as u32;
    cookie.push_str(&choice_value(revision, seconds, &id, granted));
    cookie_attributes(&mut cookie);
    document().set_cookie(&cookie);
}

/// Deletes the declared cookies of every category and service not granted.
pub(super) fn clear_cookies() {
    let page = document();
    let doomed = STATE.with(|s| {
        let state = s.borrow();
        logic::deletions(&page.cookie(), &state.site.categories, &state.granted)
    });
    for deletion in doomed {
        page.set_cookie(&deletion);
    }
}

/// Forgets the decision: the choice cookie and the declared cookies of every category
/// (`window.consentry.reset()`). The consent id goes too.
pub(super) fn forget() {
    let mut cookie = String::from(CHOICE_COOKIE);
    cookie.push_str("=;max-age=0;path=/");
    document().set_cookie(&cookie);
    STATE.with(|s| {
        let mut state = s.borrow_mut();
        state.granted.clear();
        state.decided = false;
        state.id = None;
        state.decided_at = None;
    });
    clear_cookies();
}

/// Renders the banner (the settings view when `open`) at the end of the body.
pub(super) fn insert(open: bool) {
    let html = STATE.with(|state| {
        let config = state.borrow();
        let site = &config.site;
        let language = &site.languages[site.current];
        markup::render(&Banner {
            action: "",
            stylesheet: None,
            revision: config.revision,
            return_to: "/",
            referral: None,
            privacy_url: &site.privacy_url,
            notice: None,
            gpc: config.gpc,
            open,
            granted: &config.granted,
            hidden: false,
            categories: &site.categories,
            texts: &language.texts,
            language: Some(&language.language),
            consent_id: None,
            decided_at: None,
        })
    });
    if let Some(body) = document().body() {
        body.insert_html("beforeend", &html);
    }
}

/// The categories' and services' labels in language `index`: its translation's, else the
/// configured language's (kept as language 0's list when the configuration is read).
fn relabel(site: &mut Site, index: usize) {
    let (first, rest) = site.languages.split_at(1);
    let translated = rest
        .get(index.wrapping_sub(1))
        .map_or(&[][..], |l| &l.categories[..]);
    let label = |id: &str| {
        translated
            .iter()
            .chain(&first[0].categories)
            .find(|(c, _, _)| c == id)
    };
    for category in &mut site.categories {
        if let Some((_, l, d)) = label(&category.id) {
            category.label.clone_from(l);
            category.description.clone_from(d);
        }
        for service in &mut category.services {
            if let Some((_, l, d)) = label(&markup::service_id(&category.id, &service.id)) {
                service.label.clone_from(l);
                service.description.clone_from(d);
            }
        }
    }
    site.current = index;
}

/// `(id, label, description)` of every category and service, as configured.
fn labels(categories: &[Category]) -> Vec<(String, String, String)> {
    let mut labels = Vec::new();
    for category in categories {
        labels.push((
            category.id.clone(),
            category.label.clone(),
            category.description.clone(),
        ));
        for service in &category.services {
            labels.push((
                markup::service_id(&category.id, &service.id),
                service.label.clone(),
                service.description.clone(),
            ));
        }
    }
    labels
}

pub(super) fn show_first_layer() {
    if document().by_id(SECTION_ID).is_none() {
        insert(false);
    }
}

/// The "Cookie settings" control's label, in the banner's language.
pub(super) fn settings_label() -> String {
    STATE.with(|s| {
        let site = &s.borrow().site;
        site.languages[site.current].texts.settings_link.clone()
    })
}

/// Shows the banner in another language: the markup is rendered again, where it was.
pub(super) fn switch_language(tag: &str) -> bool {
    let index = STATE.with(|s| pick(&s.borrow().site.languages, &[tag.to_owned()]));
    let Some(index) = index else { return false };
    STATE.with(|s| {
        let mut state = s.borrow_mut();
        relabel(&mut state.site, index);
        state.language = Some(state.site.languages[index].language.clone());
    });
    let page = document();
    if let Some(section) = page.by_id(SECTION_ID) {
        let in_dialog = page
            .by_id(DIALOG_ID)
            .is_some_and(|d| d.query("#consentry").is_some());
        let hidden = section.has_attr("hidden");
        section.remove();
        insert(in_dialog);
        if let Some(new) = page.by_id(SECTION_ID) {
            if in_dialog {
                if let Some(dialog) = page.by_id(DIALOG_ID) {
                    dialog.append(&new);
                }
            } else if hidden {
                new.set_attr("hidden", "");
            }
        }
    }
    if let Some(button) = page.query(".consentry-open") {
        button.set_text(&settings_label());
    }
    true
}
