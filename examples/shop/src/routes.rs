//! The shop's pages, per the HTTP contract in the README.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Form;
use axum::extract::Request;
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use consentry::{Session, SessionError};
use serde::Deserialize;

use crate::accounts;
use crate::catalog::{self, PRODUCTS};
use crate::html::{self, Viewer, escape, page};

/// Session key of the logged-in account id.
pub(crate) const USER: &str = "user";
/// Session key of the cart: SKU to quantity.
pub(crate) const CART: &str = "cart";
/// Most units of one SKU in a cart.
const MAX_QTY: u32 = 1_000;

type Cart = BTreeMap<String, u32>;
type PageResult = Result<Response, SessionError>;

async fn viewer(session: &Session) -> Result<Viewer, SessionError> {
    let email = session
        .get::<u64>(USER)
        .await?
        .and_then(accounts::by_id)
        .map(|account| account.email.to_owned());
    let cart: Cart = session.get(CART).await?.unwrap_or_default();
    Ok(Viewer {
        email,
        cart_items: cart.values().sum(),
    })
}

/// Refuses state-changing requests sent by other sites.
pub(crate) async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !consentry::origin::is_same_origin(request.headers(), request.uri()) {
        return (
            StatusCode::FORBIDDEN,
            Html("<h1>Forbidden</h1><p>Cross-site request refused.</p>".to_owned()),
        )
            .into_response();
    }
    next.run(request).await
}

pub(crate) async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        html::CSS,
    )
}

pub(crate) async fn catalogue(session: Session) -> PageResult {
    let viewer = viewer(&session).await?;
    let mut body = String::from("<table><tr><th>Product</th><th>Price</th><th></th></tr>");
    for product in PRODUCTS {
        let _ = write!(
            body,
            r#"<tr><td>{name}</td><td>{price}</td><td><form method="post" action="/cart"><input type="hidden" name="sku" value="{sku}"><label class="inline">Qty <input name="qty" type="number" min="1" max="{MAX_QTY}" value="1" size="4"></label> <button type="submit">Add to cart</button></form></td></tr>"#,
            name = escape(product.name),
            price = catalog::price(u64::from(product.price_cents)),
            sku = escape(product.sku),
        );
    }
    body.push_str("</table>");
    Ok(Html(page("Catalogue", &viewer, &body)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AddToCart {
    sku: String,
    qty: u32,
}

pub(crate) async fn add_to_cart(session: Session, Form(form): Form<AddToCart>) -> PageResult {
    if catalog::product(&form.sku).is_none() || !(1..=MAX_QTY).contains(&form.qty) {
        let viewer = viewer(&session).await?;
        let body = format!(
            r#"<p class="error">Unknown product or quantity out of range (1–{MAX_QTY}).</p><p><a href="/">Back to the catalogue</a></p>"#
        );
        return Ok((
            StatusCode::BAD_REQUEST,
            Html(page("Not added", &viewer, &body)),
        )
            .into_response());
    }
    let mut cart: Cart = session.get(CART).await?.unwrap_or_default();
    let line = cart.entry(form.sku).or_default();
    *line = (*line + form.qty).min(MAX_QTY);
    session.insert(CART, &cart).await?;
    Ok(Redirect::to("/cart").into_response())
}

pub(crate) async fn cart(session: Session) -> PageResult {
    let viewer = viewer(&session).await?;
    let cart: Cart = session.get(CART).await?.unwrap_or_default();
    let lines: Vec<_> = cart
        .iter()
        .filter_map(|(sku, qty)| catalog::product(sku).map(|product| (product, *qty)))
        .collect();
    let body = if lines.is_empty() {
        r#"<p>Your cart is empty. <a href="/">Browse the catalogue</a>.</p>"#.to_owned()
    } else {
        let mut body =
            String::from("<table><tr><th>Product</th><th>Qty</th><th>Subtotal</th></tr>");
        let mut total = 0u64;
        for (product, qty) in lines {
            let subtotal = u64::from(product.price_cents) * u64::from(qty);
            total += subtotal;
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{qty}</td><td>{}</td></tr>",
                escape(product.name),
                catalog::price(subtotal)
            );
        }
        let _ = write!(
            body,
            "<tr><th>Total</th><td></td><th>{}</th></tr></table>",
            catalog::price(total)
        );
        body
    };
    Ok(Html(page("Cart", &viewer, &body)).into_response())
}

fn login_form(error: Option<&str>) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))
    });
    format!(
        r#"{error}<form method="post" action="/login">
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>
<p>Demo account: <code>demo@example.com</code> / <code>demo</code>.</p>"#
    )
}

pub(crate) async fn login_page(session: Session) -> PageResult {
    let viewer = viewer(&session).await?;
    Ok(Html(page("Log in", &viewer, &login_form(None))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

pub(crate) async fn login(session: Session, Form(credentials): Form<Credentials>) -> PageResult {
    let Some(account) = accounts::authenticate(&credentials.email, &credentials.password) else {
        let viewer = viewer(&session).await?;
        let body = login_form(Some("Email or password is wrong."));
        return Ok((
            StatusCode::UNAUTHORIZED,
            Html(page("Log in", &viewer, &body)),
        )
            .into_response());
    };
    // A new id at the privilege change: an id planted before login is worthless after it.
    session.cycle_id().await?;
    session.insert(USER, &account.id).await?;
    Ok(Redirect::to("/account").into_response())
}

pub(crate) async fn account(session: Session) -> PageResult {
    let viewer = viewer(&session).await?;
    let Some(email) = viewer.email.clone() else {
        return Ok(Redirect::to("/login").into_response());
    };
    let body = format!(
        "<p>Logged in as <strong>{}</strong>.</p><p>Your orders and invoices appear here.</p>",
        escape(&email)
    );
    Ok(Html(page("Your account", &viewer, &body)).into_response())
}

pub(crate) async fn logout(session: Session) -> Response {
    session.destroy();
    Redirect::to("/").into_response()
}

pub(crate) async fn not_found(session: Session, uri: Uri) -> PageResult {
    let viewer = viewer(&session).await?;
    let body = format!("<p>Nothing at <code>{}</code>.</p>", escape(uri.path()));
    Ok((
        StatusCode::NOT_FOUND,
        Html(page("Not found", &viewer, &body)),
    )
        .into_response())
}
