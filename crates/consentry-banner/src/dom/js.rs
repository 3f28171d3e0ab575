//! The few browser calls the banner makes, declared here rather than through `web-sys`:
//! each is one small import, and none of the calls that cannot throw for the banner's own
//! arguments (constant selectors and attribute names) is wrapped in a `try`/`catch` shim.
//! `showModal` keeps its `catch`: it throws when the dialog is already open elsewhere.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// An element, or the document (both answer the query methods).
    #[derive(Clone)]
    pub(crate) type Node;

    #[wasm_bindgen(method, js_name = getElementById)]
    pub(crate) fn by_id(this: &Node, id: &str) -> Option<Node>;
    #[wasm_bindgen(method, js_name = querySelector)]
    pub(crate) fn query(this: &Node, selector: &str) -> Option<Node>;
    #[wasm_bindgen(method, js_name = querySelectorAll)]
    pub(crate) fn query_all(this: &Node, selector: &str) -> List;
    #[wasm_bindgen(method, js_name = getAttribute)]
    pub(crate) fn attr(this: &Node, name: &str) -> Option<String>;
    #[wasm_bindgen(method, js_name = setAttribute)]
    pub(crate) fn set_attr(this: &Node, name: &str, value: &str);
    #[wasm_bindgen(method, js_name = removeAttribute)]
    pub(crate) fn remove_attr(this: &Node, name: &str);
    #[wasm_bindgen(method, js_name = hasAttribute)]
    pub(crate) fn has_attr(this: &Node, name: &str) -> bool;
    #[wasm_bindgen(method, js_name = appendChild)]
    pub(crate) fn append(this: &Node, child: &Node);
    #[wasm_bindgen(method, js_name = createElement)]
    pub(crate) fn create(this: &Node, tag: &str) -> Node;
    #[wasm_bindgen(method)]
    pub(crate) fn focus(this: &Node);
    #[wasm_bindgen(method)]
    pub(crate) fn close(this: &Node);
    #[wasm_bindgen(catch, method, js_name = showModal)]
    pub(crate) fn show_modal(this: &Node) -> Result<(), JsValue>;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn body(this: &Node) -> Option<Node>;
    #[wasm_bindgen(method, getter = activeElement)]
    pub(crate) fn active(this: &Node) -> Option<Node>;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn value(this: &Node) -> String;
    #[wasm_bindgen(method, getter)]
    pub(crate) fn checked(this: &Node) -> bool;
    #[wasm_bindgen(method, setter)]
    pub(crate) fn set_checked(this: &Node, checked: bool);
    #[wasm_bindgen(method, setter = textContent)]
    pub(crate) fn set_text(this: &Node, text: &str);

    /// A `NodeList`.
    pub(crate) type List;

    #[wasm_bindgen(method, getter)]
    pub(crate) fn length(this: &List) -> u32;
    #[wasm_bindgen(method)]
    pub(crate) fn item(this: &List, index: u32) -> Option<Node>;

    #[wasm_bindgen(thread_local_v2, js_name = document)]
    static DOCUMENT: Node;
    #[wasm_bindgen(thread_local_v2, js_name = navigator)]
    pub(crate) static NAVIGATOR: JsValue;
}

/// The page's document.
pub(crate) fn document() -> Node {
    DOCUMENT.with(Clone::clone)
}

/// The elements `selector` finds under `node`, in document order.
pub(crate) fn all(node: &Node, selector: &str) -> impl Iterator<Item = Node> {
    let list = node.query_all(selector);
    (0..list.length()).filter_map(move |index| list.item(index))
}
