//! The browser side: reads the configuration, keeps the visitor's consent, renders and
//! opens the banner. Its public functions are the WebAssembly module's exports; the loader
//! (`loader.js`, bundled with the generated glue) listens to the page's events, posts
//! decisions, runs the scripts [`due`] returns in document order, fires the `consentry:*`
//! events and exposes `window.consentry`.
//!
//! Size matters here (every visitor downloads it): no formatting machinery, no closures,
//! few distinct browser calls (`dom/js.rs`). The markup always comes from the page: a
//! server renders it (hidden once the visitor decided), and on a static site the loader's
//! stand-in for the server (`site.js`) renders the same markup, so one WebAssembly build
//! serves both.

use std::cell::RefCell;

use js_sys::{Array, JSON, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

mod js;

use js::{Node, all, document};

use crate::logic::{self, Action};
use crate::protocol::{
    CATEGORY_ATTR, DIALOG_ID, GPC_SELECTOR, OPEN_ATTR, OPEN_SELECTOR, REFERRAL_SELECTOR,
    REVISION_ATTR, SECTION_ID, SETTINGS_LABEL_ATTR, SWITCHES_SELECTOR, TITLE_ID,
};

// A small free-list allocator: the banner allocates little, and the default allocator
// weighs kilobytes of the download.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// Inert elements waiting for consent, in document order.
const INERT_SELECTOR: &str =
    "script[type='text/plain'][data-consent],iframe[data-consent][data-src]";

/// What the banner knows about the visitor's consent.
struct State {
    /// The consent endpoint (the form's action; empty on a static site).
    endpoint: Option<String>,
    revision: u32,
    decided: bool,
    granted: Vec<String>,
    gpc: bool,
    /// The consent id, once the visitor decided.
    id: Option<String>,
    /// When the visitor decided, in milliseconds since 1970 (as `Date` counts).
    decided_at: Option<f64>,
}

impl State {
    /// Before the banner started. A constant, so the thread-local needs no lazy set-up.
    const EMPTY: Self = Self {
        endpoint: None,
        revision: 0,
        decided: false,
        granted: Vec::new(),
        gpc: false,
        id: None,
        decided_at: None,
    };
}

thread_local! {
    static STATE: RefCell<State> = const { RefCell::new(State::EMPTY) };
}

fn set(object: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &JsValue::from_str(key), value);
}

fn property(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn string_array<S: AsRef<str>>(items: &[S]) -> Array {
    items
        .iter()
        .map(|g| JsValue::from_str(g.as_ref()))
        .collect()
}

fn strings(value: &JsValue) -> Vec<String> {
    if Array::is_array(value) {
        Array::from(value)
            .iter()
            .filter_map(|v| v.as_string())
            .collect()
    } else {
        Vec::new()
    }
}

fn element_by_id(id: &str) -> Option<Node> {
    document().by_id(id)
}

/// Everything is in the markup: the endpoint (the form's action), the revision, whether the
/// visitor decided (the banner is `hidden`), the current choice (the ticked switches), the
/// consent id and time and Global Privacy Control.
fn read_config(page: &Node) -> Option<State> {
    let section = page.by_id(SECTION_ID)?;
    let form = section.query("form")?;
    Some(State {
        endpoint: form.attr("action"),
        revision: crate::text::parse_u32(&section.attr(REVISION_ATTR)?)?,
        decided: section.has_attr("hidden"),
        granted: ticked(&form),
        gpc: section.query(GPC_SELECTOR).is_some(),
        id: section.attr("data-consent-id"),
        decided_at: section
            .attr("data-decided-at")
            .and_then(|t| crate::text::parse_u32(&t))
            .map(f64::from)
            .map(|seconds| seconds * 1000.0),
    })
}

/// Starts the banner on this page: the state object, or `undefined` when the page has no
/// banner to start.
#[wasm_bindgen]
pub fn start() -> JsValue {
    let Some(mut config) = read_config(&document()) else {
        return JsValue::UNDEFINED;
    };
    config.gpc =
        config.gpc || js::NAVIGATOR.with(|n| property(n, "globalPrivacyControl").is_truthy());
    let decided = config.decided;
    STATE.with(|state| *state.borrow_mut() = config);
    if decided {
        add_settings_control();
    }
    state_object()
}

/// The inert scripts and iframes the current consent lets run, in document order: each
/// `data-consent` names a granted category or service, or (`!id`) one the visitor decided
/// against. The loader turns them live.
#[wasm_bindgen]
pub fn due() -> Array {
    STATE.with(|state| {
        let state = state.borrow();
        all(&document(), INERT_SELECTOR)
            .filter(|node| {
                logic::allowed(
                    &node.attr(CATEGORY_ATTR).unwrap_or_default(),
                    state.decided,
                    &state.granted,
                )
            })
            .map(JsValue::from)
            .collect()
    })
}

/// The settings view in a modal dialog; focus goes back where it was on close. `false`
/// when this page has no banner markup (a settings link then keeps its own target).
#[wasm_bindgen]
pub fn open() -> bool {
    let Some(section) = element_by_id(SECTION_ID) else {
        return false;
    };
    let page = document();
    let dialog = element_by_id(DIALOG_ID).unwrap_or_else(|| {
        let dialog = page.create("dialog");
        dialog.set_attr("id", DIALOG_ID);
        dialog.set_attr("class", "consentry-dialog");
        dialog.set_attr("aria-labelledby", TITLE_ID);
        dialog
    });
    if let Some(body) = page.body() {
        body.append(&dialog);
    }
    if let Some(active) = page.active() {
        active.set_attr("data-consentry-return", "");
    }
    section.remove_attr("hidden");
    dialog.append(&section);
    if let Some(details) = section.query("details") {
        details.set_attr("open", "");
    }
    dialog.show_modal().is_ok()
}

/// The settings dialog closed (the loader listens for `close` on the window, capturing):
/// without a choice, the first layer goes back where it was while undecided.
#[wasm_bindgen]
pub fn closed() {
    let page = document();
    if let (Some(section), Some(body)) = (element_by_id(SECTION_ID), page.body()) {
        if STATE.with(|s| s.borrow().decided) {
            section.set_attr("hidden", "");
        }
        body.append(&section);
    }
    if let Some(back) = page.query("[data-consentry-return]") {
        back.remove_attr("data-consentry-return");
        back.focus();
    }
}

/// Shows the first layer (`window.consentry.show()`); `false` without banner markup.
#[wasm_bindgen]
pub fn show() -> bool {
    element_by_id(SECTION_ID).is_some_and(|section| {
        section.remove_attr("hidden");
        true
    })
}

/// The ids of the form's ticked switches.
fn ticked(form: &Node) -> Vec<String> {
    all(form, SWITCHES_SELECTOR)
        .filter(Node::checked)
        .map(|input| input.value())
        .collect()
}

/// A submission of the banner's form (the loader checks it is the banner's, and prevents
/// the browser's own post): the decision's JSON body for the loader to post to the form's
/// action (falling back to the plain form post if that fails), or, on a static site, to
/// hand to the site.
#[wasm_bindgen]
pub fn submit(form: &JsValue, button: &str) -> JsValue {
    let form: &Node = form.unchecked_ref();
    decide(
        &Action::from_button(button, ticked(form)),
        form.query(REFERRAL_SELECTOR),
    )
}

/// `window.consentry.accept(categories)`: nothing accepts all, a list grants exactly those
/// (and necessary), `[]` rejects all (the loader turns `"all"` and one id into these).
/// Returns what [`submit`] does; anything else is refused (`undefined`: the loader's
/// promise rejects and nothing is recorded), so a mistaken argument never grants
/// everything.
#[wasm_bindgen]
pub fn accept(categories: &JsValue) -> JsValue {
    let action = if categories.is_undefined() {
        Action::AcceptAll
    } else if Array::is_array(categories) {
        Action::Save(strings(categories))
    } else {
        return JsValue::UNDEFINED;
    };
    decide(
        &action,
        element_by_id(SECTION_ID).and_then(|s| s.query(REFERRAL_SELECTOR)),
    )
}

/// The body to post: `{"action":…,"granted":[ticked…],"revision":N,"referral":…}`. The
/// server applies the action (Global Privacy Control included), as it does for the plain
/// form; the referral is the pending one it put in the form. (It tells the banner's posts
/// from the browser's fetch metadata, not from the body.)
fn decide(action: &Action, referral: Option<Node>) -> JsValue {
    let body = Object::new();
    let (name, ticked) = match action {
        Action::AcceptAll => (crate::protocol::ACCEPT_ALL, None),
        Action::RejectAll => (crate::protocol::REJECT_ALL, None),
        Action::Save(ticked) => (crate::protocol::SAVE, Some(ticked)),
    };
    set(&body, "action", &name.into());
    if let Some(ticked) = ticked {
        set(&body, "granted", &string_array(ticked));
    }
    set(
        &body,
        "revision",
        &STATE.with(|s| s.borrow().revision).into(),
    );
    if let Some(referral) = referral {
        set(&body, "referral", &referral.value().into());
    }
    JSON::stringify(&body).map_or(JsValue::UNDEFINED, JsValue::from)
}

/// The server's answer to a posted decision (`{granted, reload, id, decidedAt}`), applied:
/// the new state, with `reload` when the page must reload.
#[wasm_bindgen]
pub fn decided(answer: &JsValue) -> JsValue {
    STATE.with(|state| {
        let mut state = state.borrow_mut();
        state.id = property(answer, "id").as_string().or(state.id.take());
        state.decided_at = property(answer, "decidedAt")
            .as_f64()
            .map(|seconds| seconds * 1000.0);
    });
    apply(
        &strings(&property(answer, "granted")),
        property(answer, "reload").is_truthy(),
    )
}

/// Applies a decision in the page. The outcome for the loader: the new state with `reload`,
/// whether the page must reload (a withdrawal: scripts already running cannot be unloaded;
/// or a grant the page's CSP does not allow yet).
fn apply(granted: &[String], reload: bool) -> JsValue {
    let before = STATE.with(|state| {
        let mut config = state.borrow_mut();
        config.decided = true;
        std::mem::replace(&mut config.granted, granted.to_vec())
    });
    if let Some(section) = element_by_id(SECTION_ID) {
        section.set_attr("hidden", "");
        // The switches now show the choice, for the next time settings open.
        for input in all(&section, SWITCHES_SELECTOR) {
            input.set_checked(granted.contains(&input.value()));
        }
    }
    if let Some(dialog) = element_by_id(DIALOG_ID) {
        dialog.close();
    }
    let reload = reload || logic::withdrew(&before, granted);
    if !reload {
        add_settings_control();
    }
    let outcome = state_object();
    set(outcome.unchecked_ref(), "reload", &reload.into());
    outcome
}

/// `window.consentry.reset()`: forgets the decision. The endpoint the loader sends
/// `DELETE` to (the server records the withdrawal and deletes the cookies; on a static site
/// the site does that); the loader reloads.
#[wasm_bindgen]
pub fn reset() -> Option<String> {
    STATE.with(|s| s.borrow().endpoint.clone())
}

/// The Google Consent Mode `update` for the current consent (`{ad_storage: "denied", …}`):
/// the loader passes it to `gtag('consent', 'update', …)` when the page has `gtag`.
#[wasm_bindgen]
pub fn mode() -> JsValue {
    let update = Object::new();
    STATE.with(|s| {
        for (purpose, on) in logic::consent_mode(&s.borrow().granted) {
            set(
                &update,
                purpose,
                &(if on { "granted" } else { "denied" }).into(),
            );
        }
    });
    update.into()
}

/// `{decided, granted, revision, gpc, id, decidedAt, language}`.
fn state_object() -> JsValue {
    STATE.with(|state| {
        let config = state.borrow();
        let object = Object::new();
        set(&object, "decided", &config.decided.into());
        set(&object, "granted", &string_array(&config.granted));
        set(&object, "revision", &config.revision.into());
        set(&object, "gpc", &config.gpc.into());
        set(
            &object,
            "id",
            &config.id.as_deref().map_or(JsValue::NULL, JsValue::from),
        );
        set(
            &object,
            "decidedAt",
            &config.decided_at.map_or(JsValue::NULL, JsValue::from),
        );
        // The language the banner shows: its section's (a static site switches it).
        set(
            &object,
            "language",
            &element_by_id(SECTION_ID)
                .and_then(|section| section.attr("lang"))
                .map_or(JsValue::NULL, JsValue::from),
        );
        object.into()
    })
}

/// A floating "Cookie settings" button, unless the page already has a `data-consent-open`
/// control (so withdrawing stays as easy as consenting).
fn add_settings_control() {
    let page = document();
    let Some(body) = page.body() else { return };
    if body.query(OPEN_SELECTOR).is_some() {
        return;
    }
    let button = page.create("button");
    button.set_attr("type", "button");
    button.set_attr("class", "consentry-open");
    button.set_attr(OPEN_ATTR, "");
    button.set_text(
        &element_by_id(SECTION_ID)
            .and_then(|section| section.attr(SETTINGS_LABEL_ATTR))
            .unwrap_or_else(|| "Cookie settings".to_owned()),
    );
    body.append(&button);
}

/// `window.consentry.get()`: `{decided, granted, revision, gpc, id, decidedAt, language}`.
#[wasm_bindgen]
pub fn get() -> JsValue {
    state_object()
}

/// `window.consentry.allows(category)`: whether a category or service
/// (`<category>:<service>`) is granted.
#[wasm_bindgen]
pub fn allows(category: &str) -> bool {
    STATE.with(|s| s.borrow().granted.iter().any(|g| g == category))
}
