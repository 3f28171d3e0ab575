//! The browser side: reads the configuration, enhances the banner, sends the choice,
//! activates scripts. Its public functions are the WebAssembly module's exports, which the
//! loader wires to the page: `submit`, `click` and `closed` receive the page's events,
//! `open`, `get` and `allows` become `window.consentry`.
//!
//! Size matters here (every visitor downloads it): no formatting machinery, few distinct
//! browser calls, event delegation instead of a listener per element. With a server the
//! markup always comes from the server (rendered into the page, or fetched for "Cookie
//! settings"); only the `static` build renders it.

use std::cell::RefCell;

use js_sys::{Array, Function, JSON, Object, Reflect};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    CustomEvent, CustomEventInit, Document, Element, Event, HtmlDialogElement, HtmlElement,
    HtmlFormElement, HtmlInputElement, RequestInit, Response, SubmitEvent, Window,
};

use crate::logic::{self, Action};
#[cfg(feature = "static")]
use crate::protocol::CONFIG_ID;
use crate::protocol::{
    CATEGORY_ATTR, DIALOG_ID, INERT_IFRAMES_SELECTOR, INERT_SCRIPTS_SELECTOR, OPEN_ATTR,
    OPEN_SELECTOR, REFERRAL_SELECTOR, SECTION_ID, SRC_ATTR, SWITCHES_SELECTOR, TITLE_ID,
};
#[cfg(not(feature = "static"))]
use crate::protocol::{GPC_DENIES_ATTR, GPC_SELECTOR, REVISION_ATTR};

// A small free-list allocator: the banner allocates little, and the default allocator
// weighs kilobytes of the download.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

/// What the banner knows about the visitor's consent.
#[derive(Default)]
struct State {
    /// The consent endpoint; `None` in static mode.
    endpoint: Option<String>,
    revision: u32,
    decided: bool,
    granted: Vec<String>,
    gpc: bool,
    gpc_denies: Vec<String>,
    #[cfg(feature = "static")]
    categories: Vec<crate::markup::Category>,
    #[cfg(feature = "static")]
    texts: crate::markup::Texts,
    #[cfg(feature = "static")]
    privacy_url: String,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

/// The body of a decision: `{"granted":[…],"revision":N,"referral":…}`; the referral is
/// the pending one the server put in the form. (The server tells the banner's posts from
/// the browser's fetch metadata, not from the body.)
fn decision_body(granted: &[String], config: &State, form: &Element) -> String {
    let body = Object::new();
    let list: Array = granted.iter().map(|g| JsValue::from_str(g)).collect();
    let _ = Reflect::set(&body, &"granted".into(), &list);
    let _ = Reflect::set(&body, &"revision".into(), &config.revision.into());
    if let Ok(Some(referral)) = form.query_selector(REFERRAL_SELECTOR) {
        let value = referral.unchecked_into::<HtmlInputElement>().value();
        let _ = Reflect::set(&body, &"referral".into(), &value.into());
    }
    JSON::stringify(&body).map(String::from).unwrap_or_default()
}

#[wasm_bindgen]
extern "C" {
    /// The page's window and document: the banner only runs in a browser page.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Window;
    #[wasm_bindgen(thread_local_v2, js_name = document)]
    static DOCUMENT: Document;
}

fn window() -> Window {
    WINDOW.with(Clone::clone)
}

fn document() -> Document {
    DOCUMENT.with(Clone::clone)
}

/// A JavaScript number as a revision (anything out of range is 0, which no policy uses).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "checked to be a whole number in range first"
)]
fn whole(number: f64) -> u32 {
    if number >= 0.0 && number <= f64::from(u32::MAX) && number.fract() == 0.0 {
        number as u32
    } else {
        0
    }
}

fn property(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn strings(object: &JsValue, key: &str) -> Vec<String> {
    let value = property(object, key);
    if Array::is_array(&value) {
        Array::from(&value)
            .iter()
            .filter_map(|v| v.as_string())
            .collect()
    } else {
        Vec::new()
    }
}

/// Static mode: the configuration the page author wrote as JSON. Every mistake is named on
/// the console; `necessary` is offered and granted whatever the configuration says.
#[cfg(feature = "static")]
fn read_config(page: &Document) -> Option<State> {
    let complain = |message: &str| web_sys::console::error_1(&message.into());
    let Some(element) = page.get_element_by_id(CONFIG_ID) else {
        complain(
            "consentry: no <script type=\"application/json\" id=\"consentry-config\"> on this page; the banner cannot start",
        );
        return None;
    };
    let raw = match JSON::parse(&element.text_content().unwrap_or_default()) {
        Ok(raw) if raw.is_object() => raw,
        Ok(_) => {
            complain("consentry: the configuration must be a JSON object");
            return None;
        }
        Err(error) => {
            let mut message = String::from("consentry: the configuration is not valid JSON: ");
            message.push_str(
                &js_sys::Error::from(error)
                    .message()
                    .as_string()
                    .unwrap_or_default(),
            );
            complain(&message);
            return None;
        }
    };
    let mut categories = static_mode::categories(&raw);
    let text_keys = keys(&property(&raw, "texts"));
    for problem in crate::config::problems(&keys(&raw), &text_keys, &categories) {
        complain(&problem);
    }
    crate::config::ensure_necessary(&mut categories);
    let mut config = State {
        endpoint: None,
        revision: whole(property(&raw, "revision").as_f64().unwrap_or(0.0)),
        gpc: property(&raw, "gpc").is_truthy(),
        gpc_denies: strings(&raw, "gpcDenies"),
        categories,
        texts: static_mode::texts(&raw),
        privacy_url: property(&raw, "privacy").as_string().unwrap_or_default(),
        ..State::default()
    };
    static_mode::restore(&mut config);
    Some(config)
}

/// An object's own keys (none for anything else).
#[cfg(feature = "static")]
fn keys(value: &JsValue) -> Vec<String> {
    if !value.is_object() {
        return Vec::new();
    }
    Object::keys(value.unchecked_ref::<Object>())
        .iter()
        .filter_map(|key| key.as_string())
        .collect()
}

/// With a server, everything is in the markup it rendered: the endpoint (the form's
/// action), the revision, whether the visitor decided (the banner is `hidden`), the current
/// choice (the ticked switches) and Global Privacy Control.
#[cfg(not(feature = "static"))]
fn read_config(page: &Document) -> Option<State> {
    let section = page.get_element_by_id(SECTION_ID)?;
    let form = section.query_selector("form").ok()??;
    Some(State {
        endpoint: form.get_attribute("action"),
        revision: whole(
            JSON::parse(&section.get_attribute(REVISION_ATTR)?)
                .ok()?
                .as_f64()?,
        ),
        decided: section.get_attribute("hidden").is_some(),
        granted: categories_of(&form).1,
        gpc: section
            .query_selector(GPC_SELECTOR)
            .ok()
            .flatten()
            .is_some(),
        gpc_denies: section
            .get_attribute(GPC_DENIES_ATTR)
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect(),
        ..State::default()
    })
}

/// Runs when the module loads.
#[wasm_bindgen(start)]
fn start() {
    let page = document();
    let Some(mut config) = read_config(&page) else {
        return;
    };
    config.gpc = config.gpc || property(&window().navigator(), "globalPrivacyControl").is_truthy();
    let decided = config.decided;
    let granted = config.granted.clone();
    STATE.with(|state| *state.borrow_mut() = config);

    activate(&granted);
    if decided {
        consent_mode(&granted);
        add_settings_control();
    } else {
        #[cfg(feature = "static")]
        static_mode::show_first_layer();
    }
}

fn element_by_id(id: &str) -> Option<Element> {
    document().get_element_by_id(id)
}

/// The settings view in a modal dialog; focus goes back where it was on close. The server
/// renders the markup on every page (hidden once the visitor decided); the static build
/// renders it here.
fn open_settings() {
    #[cfg(feature = "static")]
    if element_by_id(SECTION_ID).is_none() {
        static_mode::insert(true);
    }
    if let Some(section) = element_by_id(SECTION_ID) {
        show_in_dialog(&section);
    }
}

fn show_in_dialog(section: &Element) {
    let page = document();
    let dialog = element_by_id(DIALOG_ID).unwrap_or_else(|| {
        let dialog = page.create_element("dialog").unwrap_throw();
        let _ = dialog.set_attribute("id", DIALOG_ID);
        let _ = dialog.set_attribute("class", "consentry-dialog");
        let _ = dialog.set_attribute("aria-labelledby", TITLE_ID);
        dialog
    });
    if let Some(body) = page.body() {
        let _ = body.append_child(&dialog);
    }
    if let Some(active) = page.active_element() {
        let _ = active.set_attribute("data-consentry-return", "");
    }
    let _ = section.remove_attribute("hidden");
    let _ = dialog.append_child(section);
    if let Ok(Some(details)) = section.query_selector("details") {
        let _ = details.set_attribute("open", "");
    }
    let _ = dialog.unchecked_into::<HtmlDialogElement>().show_modal();
}

/// Closing the settings dialog (the loader listens for `close` on the window, capturing):
/// without a choice, the first layer goes back where it was while undecided.
#[wasm_bindgen(js_name = closed)]
pub fn on_dialog_close(event: &Event) {
    if event
        .target()
        .and_then(|t| t.unchecked_into::<Element>().get_attribute("id"))
        .as_deref()
        != Some(DIALOG_ID)
    {
        return;
    }
    let page = document();
    if let (Some(section), Some(body)) = (element_by_id(SECTION_ID), page.body()) {
        if STATE.with(|s| s.borrow().decided) {
            let _ = section.set_attribute("hidden", "");
        }
        let _ = body.append_child(&section);
    }
    if let Some(Ok(Some(back))) = page
        .body()
        .map(|b| b.query_selector("[data-consentry-return]"))
    {
        let _ = back.remove_attribute("data-consentry-return");
        let _ = back.unchecked_into::<HtmlElement>().focus();
    }
}

/// Every click on the page (delegated from the window by the loader).
#[wasm_bindgen(js_name = click)]
pub fn on_click(event: &Event) {
    // Click targets are elements.
    let Some(target) = event.target().map(JsCast::unchecked_into::<Element>) else {
        return;
    };
    let opener = matches!(
        target.closest("[data-consent-open],.consentry-customize>summary"),
        Ok(Some(_))
    );
    // Without the server's markup on this page, a settings link keeps its own target (the
    // settings page), so it always leads somewhere.
    let markup = cfg!(feature = "static") || element_by_id(SECTION_ID).is_some();
    if opener && markup {
        event.prevent_default();
        open_settings();
    }
}

/// The form's switches as `(id, locked)`, and the ids of the ticked ones.
fn categories_of(form: &Element) -> (Vec<(String, bool)>, Vec<String>) {
    let mut switches = Vec::new();
    let mut ticked = Vec::new();
    if let Ok(inputs) = form.query_selector_all(SWITCHES_SELECTOR) {
        for index in 0..inputs.length() {
            let Some(input) = inputs.item(index) else {
                continue;
            };
            let input: HtmlInputElement = input.unchecked_into();
            let id = input.value();
            if input.checked() {
                ticked.push(id.clone());
            }
            switches.push((id, input.disabled()));
        }
    }
    (switches, ticked)
}

/// Every form submission on the page (delegated from the window by the loader).
#[wasm_bindgen(js_name = submit)]
pub fn on_submit(event: &Event) {
    // Submit events target forms.
    let Some(form) = event
        .target()
        .map(JsCast::unchecked_into::<HtmlFormElement>)
    else {
        return;
    };
    let ours = matches!(form.closest(".consentry-form"), Ok(Some(_)));
    if !ours || form.get_attribute("data-native").is_some() {
        return;
    }
    event.prevent_default();
    let submitter = event.unchecked_ref::<SubmitEvent>().submitter();
    let button = submitter
        .as_ref()
        .and_then(|s| s.get_attribute("value"))
        .unwrap_or_default();
    let (categories, ticked) = categories_of(&form);
    let action = Action::from_button(&button, ticked);
    let (granted, endpoint, body) = STATE.with(|state| {
        let config = state.borrow();
        let switches = categories.iter().map(|(id, locked)| (id.as_str(), *locked));
        let granted = logic::granted(switches, &config.gpc_denies, &action, config.gpc);
        let body = decision_body(&granted, &config, &form);
        (granted, config.endpoint.clone(), body)
    });
    if let Some(endpoint) = endpoint {
        send(&endpoint, &body, form, submitter);
    } else {
        #[cfg(feature = "static")]
        static_mode::store(&granted);
        apply(&granted, false);
    }
}

/// Posts the decision; if the endpoint cannot be reached or refuses, falls back to the
/// plain form post (the path that works without JavaScript).
fn send(endpoint: &str, body: &str, form: HtmlFormElement, submitter: Option<HtmlElement>) {
    let init = JSON::parse(
        r#"{"method":"POST","credentials":"same-origin","headers":{"Content-Type":"application/json"}}"#,
    )
    .unwrap_or_else(|_| Object::new().into());
    let _ = Reflect::set(&init, &"body".into(), &body.into());
    let init: RequestInit = init.unchecked_into();
    let (error_form, error_submitter) = (form.clone(), submitter.clone());
    let on_response = Closure::once(move |response: JsValue| {
        let response: Response = response.unchecked_into();
        match response.json().ok().filter(|_| response.ok()) {
            Some(json) => {
                let on_state = Closure::once(|state: JsValue| {
                    apply(
                        &strings(&state, "granted"),
                        property(&state, "reload").is_truthy(),
                    );
                });
                let _ = json.then(&on_state);
                on_state.forget();
            }
            None => native_submit(&form, submitter.as_ref()),
        }
    });
    let on_error =
        Closure::once(move |_: JsValue| native_submit(&error_form, error_submitter.as_ref()));
    let _ = window()
        .fetch_with_str_and_init(endpoint, &init)
        .then(&on_response)
        .catch(&on_error);
    on_response.forget();
    on_error.forget();
}

fn native_submit(form: &HtmlFormElement, submitter: Option<&HtmlElement>) {
    let _ = form.set_attribute("data-native", "");
    let _ = form.request_submit_with_submitter(submitter);
}

/// Applies a decision in the page.
fn apply(granted: &[String], reload: bool) {
    let before = STATE.with(|state| {
        let mut config = state.borrow_mut();
        config.decided = true;
        std::mem::replace(&mut config.granted, granted.to_vec())
    });
    if let Some(section) = element_by_id(SECTION_ID) {
        let _ = section.set_attribute("hidden", "");
        // The switches now show the choice, for the next time settings open.
        if let Ok(inputs) = section.query_selector_all(SWITCHES_SELECTOR) {
            for index in 0..inputs.length() {
                if let Some(input) = inputs.item(index) {
                    let input: HtmlInputElement = input.unchecked_into();
                    input.set_checked(granted.contains(&input.value()));
                }
            }
        }
    }
    if let Some(dialog) = element_by_id(DIALOG_ID) {
        dialog.unchecked_into::<HtmlDialogElement>().close();
    }
    consent_mode(granted);
    let init = Object::new();
    let _ = Reflect::set(&init, &"detail".into(), &state_object());
    if let Ok(event) = CustomEvent::new_with_event_init_dict(
        "consentry:change",
        init.unchecked_ref::<CustomEventInit>(),
    ) {
        let _ = document().dispatch_event(&event);
    }
    // A withdrawal needs a fresh page (scripts already running cannot be unloaded; the
    // server deleted the cookies), and so does a grant the page's CSP does not allow yet.
    if reload || logic::withdrew(&before, granted) {
        let _ = window().location().reload();
        return;
    }
    activate(granted);
    add_settings_control();
}

/// Turns inert `type="text/plain" data-consent` scripts and `data-src` iframes of granted
/// categories live.
fn activate(granted: &[String]) {
    let page = document();
    let Some(body) = page.body() else { return };
    for (selector, frame) in [
        (INERT_IFRAMES_SELECTOR, true),
        (INERT_SCRIPTS_SELECTOR, false),
    ] {
        let Ok(nodes) = body.query_selector_all(selector) else {
            continue;
        };
        for index in 0..nodes.length() {
            let Some(node) = nodes.item(index) else {
                continue;
            };
            let element: Element = node.unchecked_into();
            if !granted.contains(&element.get_attribute(CATEGORY_ATTR).unwrap_or_default()) {
                continue;
            }
            let src = element.get_attribute(SRC_ATTR);
            if frame {
                if let Some(src) = src {
                    let _ = element.set_attribute("src", &src);
                    let _ = element.remove_attribute(SRC_ATTR);
                }
                continue;
            }
            let script: HtmlElement = page
                .create_element("script")
                .unwrap_throw()
                .unchecked_into();
            match src {
                Some(src) => {
                    let _ = script.set_attribute("src", &src);
                }
                None => script.set_text_content(element.text_content().as_deref()),
            }
            script.set_nonce(&element.unchecked_ref::<HtmlElement>().nonce());
            let _ = element.replace_with_with_node_1(&script);
        }
    }
}

/// Google Consent Mode: `gtag('consent', 'update', …)` when the page has `gtag`.
fn consent_mode(granted: &[String]) {
    let window = window();
    let gtag = property(&window, "gtag");
    if !gtag.is_function() {
        return;
    }
    let gtag: Function = gtag.unchecked_into();
    let update = Object::new();
    for (purpose, on) in logic::consent_mode(granted) {
        let _ = Reflect::set(
            &update,
            &purpose.into(),
            &(if on { "granted" } else { "denied" }).into(),
        );
    }
    let _ = gtag.call3(&window, &"consent".into(), &"update".into(), &update);
}

/// `{decided, granted, revision, gpc}`.
fn state_object() -> JsValue {
    STATE.with(|state| {
        let config = state.borrow();
        let object = Object::new();
        let granted: Array = config
            .granted
            .iter()
            .map(|g| JsValue::from_str(g))
            .collect();
        let _ = Reflect::set(&object, &"decided".into(), &config.decided.into());
        let _ = Reflect::set(&object, &"granted".into(), &granted);
        let _ = Reflect::set(&object, &"revision".into(), &config.revision.into());
        let _ = Reflect::set(&object, &"gpc".into(), &config.gpc.into());
        object.into()
    })
}

/// A floating "Cookie settings" button, unless the page already has a `data-consent-open`
/// control (so withdrawing stays as easy as consenting).
fn add_settings_control() {
    let page = document();
    let Some(body) = page.body() else { return };
    if let Ok(Some(_)) = body.query_selector(OPEN_SELECTOR) {
        return;
    }
    let button = page.create_element("button").unwrap_throw();
    let _ = button.set_attribute("type", "button");
    let _ = button.set_attribute("class", "consentry-open");
    let _ = button.set_attribute(OPEN_ATTR, "");
    button.set_text_content(Some(&settings_label()));
    let _ = body.append_child(&button);
}

#[cfg(feature = "static")]
fn settings_label() -> String {
    STATE.with(|s| s.borrow().texts.settings_link.clone())
}

#[cfg(not(feature = "static"))]
fn settings_label() -> String {
    "Cookie settings".to_owned()
}

/// `window.consentry.open()`: the settings dialog.
#[wasm_bindgen]
pub fn open() {
    open_settings();
}

/// `window.consentry.get()`: `{decided, granted, revision, gpc}`.
#[wasm_bindgen]
pub fn get() -> JsValue {
    state_object()
}

/// `window.consentry.allows(category)`.
#[wasm_bindgen]
pub fn allows(category: &str) -> bool {
    STATE.with(|s| s.borrow().granted.iter().any(|g| g == category))
}

/// Static mode: no server. The banner renders its own markup and keeps the choice in a
/// first-party cookie whose denials a server would also honour.
#[cfg(feature = "static")]
mod static_mode {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use web_sys::HtmlDocument;

    use super::{STATE, State, document, property};
    use crate::logic::{self, Action};
    use crate::markup::{self, Banner, Category, Texts};
    use crate::protocol::{CHOICE_COOKIE, choice_value};

    pub(super) fn categories(raw: &JsValue) -> Vec<Category> {
        let value = property(raw, "categories");
        if !js_sys::Array::is_array(&value) {
            return Vec::new();
        }
        js_sys::Array::from(&value)
            .iter()
            .map(|c| Category {
                id: property(&c, "id").as_string().unwrap_or_default(),
                label: property(&c, "label").as_string().unwrap_or_default(),
                description: property(&c, "description").as_string().unwrap_or_default(),
                locked: property(&c, "locked").is_truthy(),
            })
            .collect()
    }

    pub(super) fn texts(raw: &JsValue) -> Texts {
        let given = property(raw, "texts");
        let mut texts = Texts::default();
        for (name, field) in crate::config::text_fields_mut(&mut texts) {
            if let Some(value) = property(&given, name).as_string() {
                *field = value;
            }
        }
        texts
    }

    fn cookies() -> String {
        document()
            .unchecked_into::<HtmlDocument>()
            .cookie()
            .unwrap_or_default()
    }

    /// The stored choice, if it was made under this revision.
    pub(super) fn restore(config: &mut State) {
        if config.endpoint.is_some() {
            return;
        }
        if let Some(granted) = logic::read_choice(&cookies(), config.revision) {
            config.decided = true;
            config.granted = granted;
        } else {
            config.decided = false;
            config.granted = logic::granted(
                logic::switches(&config.categories),
                &config.gpc_denies,
                &Action::RejectAll,
                false,
            );
        }
    }

    pub(super) fn store(granted: &[String]) {
        let revision = STATE.with(|s| s.borrow().revision);
        let mut cookie = String::from(CHOICE_COOKIE);
        cookie.push('=');
        // Whole seconds since 1970 fit a u32 until 2106; the cast saturates.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let now = (js_sys::Date::now() / 1000.0) as u32;
        cookie.push_str(&choice_value(revision, now, granted));
        cookie.push_str(";path=/;max-age=15724800;samesite=lax");
        if super::window().location().protocol().ok().as_deref() == Some("https:") {
            cookie.push_str(";secure");
        }
        let _ = document()
            .unchecked_into::<HtmlDocument>()
            .set_cookie(&cookie);
    }

    pub(super) fn insert(open: bool) {
        let html = STATE.with(|state| {
            let config = state.borrow();
            markup::render(&Banner {
                action: "",
                stylesheet: None,
                revision: config.revision,
                return_to: "/",
                referral: None,
                privacy_url: &config.privacy_url,
                notice: None,
                gpc: config.gpc,
                gpc_denies: &config.gpc_denies,
                open,
                granted: &config.granted,
                hidden: false,
                categories: &config.categories,
                texts: &config.texts,
            })
        });
        if let Some(body) = document().body() {
            let _ = body.insert_adjacent_html("beforeend", &html);
        }
    }

    pub(super) fn show_first_layer() {
        if document().get_element_by_id(super::SECTION_ID).is_none() {
            insert(false);
        }
    }
}
