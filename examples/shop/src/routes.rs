//! The shop's pages, per the HTTP contract in the README.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Form;
use axum::extract::Request;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use consentry::{Consent, Session, SessionError};
use serde::Deserialize;

use crate::Shop;
use crate::accounts;
use crate::catalog::{self, PRODUCTS};
use crate::html::{self, Chrome, Viewer, escape, page};

/// Session key of the logged-in account id.
pub(crate) const USER: &str = "user";
/// Session key of the cart: SKU to quantity.
pub(crate) const CART: &str = "cart";
/// Most units of one SKU in a cart.
const MAX_QTY: u32 = 1_000;

type Cart = BTreeMap<String, u32>;
type PageResult = Result<Response, SessionError>;

/// What every page handler extracts.
type Ctx = (State<Shop>, Session, Consent, Uri);

async fn chrome((State(shop), session, consent, uri): &Ctx) -> Result<Chrome, SessionError> {
    Ok(Chrome {
        viewer: viewer(session).await?,
        consent: consent.clone(),
        path: uri.path().to_owned(),
        analytics_origin: shop.analytics_origin.clone(),
    })
}

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

pub(crate) async fn catalogue(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
) -> PageResult {
    let chrome = chrome(&(shop, session, consent, uri)).await?;
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
    Ok(Html(page("Catalogue", &chrome, &body)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct AddToCart {
    sku: String,
    qty: u32,
}

pub(crate) async fn add_to_cart(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
    Form(form): Form<AddToCart>,
) -> PageResult {
    if catalog::product(&form.sku).is_none() || !(1..=MAX_QTY).contains(&form.qty) {
        let chrome = chrome(&(shop, session, consent, uri)).await?;
        let body = format!(
            r#"<p class="error">Unknown product or quantity out of range (1–{MAX_QTY}).</p><p><a href="/">Back to the catalogue</a></p>"#
        );
        return Ok((
            StatusCode::BAD_REQUEST,
            Html(page("Not added", &chrome, &body)),
        )
            .into_response());
    }
    let mut cart: Cart = session.get(CART).await?.unwrap_or_default();
    let line = cart.entry(form.sku).or_default();
    *line = (*line + form.qty).min(MAX_QTY);
    session.insert(CART, &cart).await?;
    Ok(Redirect::to("/cart").into_response())
}

pub(crate) async fn cart(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
) -> PageResult {
    let cart: Cart = session.get(CART).await?.unwrap_or_default();
    let chrome = chrome(&(shop, session, consent, uri)).await?;
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
    Ok(Html(page("Cart", &chrome, &body)).into_response())
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

pub(crate) async fn login_page(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
) -> PageResult {
    let chrome = chrome(&(shop, session, consent, uri)).await?;
    Ok(Html(page("Log in", &chrome, &login_form(None))).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

pub(crate) async fn login(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
    Form(credentials): Form<Credentials>,
) -> PageResult {
    let Some(account) = accounts::authenticate(&credentials.email, &credentials.password) else {
        let chrome = chrome(&(shop, session, consent, uri)).await?;
        let body = login_form(Some("Email or password is wrong."));
        return Ok((
            StatusCode::UNAUTHORIZED,
            Html(page("Log in", &chrome, &body)),
        )
            .into_response());
    };
    // A new id at the privilege change: an id planted before login is worthless after it.
    session.cycle_id().await?;
    session.insert(USER, &account.id).await?;
    Ok(Redirect::to("/account").into_response())
}

pub(crate) async fn account(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
) -> PageResult {
    let chrome = chrome(&(shop, session, consent, uri)).await?;
    let Some(email) = chrome.viewer.email.clone() else {
        return Ok(Redirect::to("/login").into_response());
    };
    let body = format!(
        "<p>Logged in as <strong>{}</strong>.</p><p>Your orders and invoices appear here.</p>",
        escape(&email)
    );
    Ok(Html(page("Your account", &chrome, &body)).into_response())
}

pub(crate) async fn logout(session: Session) -> Response {
    session.destroy();
    Redirect::to("/").into_response()
}

pub(crate) async fn not_found(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
) -> PageResult {
    let body = format!("<p>Nothing at <code>{}</code>.</p>", escape(uri.path()));
    let chrome = chrome(&(shop, session, consent, uri)).await?;
    Ok((
        StatusCode::NOT_FOUND,
        Html(page("Not found", &chrome, &body)),
    )
        .into_response())
}

pub(crate) async fn privacy(
    shop: State<Shop>,
    session: Session,
    consent: Consent,
    uri: Uri,
) -> PageResult {
    let declaration = consent.declaration_html();
    let settings = consent.settings_link();
    let chrome = chrome(&(shop, session, consent, uri)).await?;
    let body = format!(
        r"<p>Inkwell Print Shop keeps what it needs to run your orders on its own servers.
Cookies hold no personal information: the session cookie holds a random id and two
timestamps, and your cart and login live on our side.</p>
<h2>Consent</h2>
<p>Strictly necessary cookies run the site. Everything else (preferences, analytics and
marketing, which includes partner referrals) is set only after you agree, and you can change
or withdraw your choice at any time: {settings}. Your browser's Global Privacy Control
signal is honoured. When this policy changes we ask you again.</p>
<h2>Analytics</h2>
<p>With your consent, a first-party analytics cookie counts visits in aggregate; the data is
passed to our analytics provider. Without consent, the analytics script is not even loaded.</p>
<h2>Cookies we use</h2>
{declaration}"
    );
    Ok(Html(page("Privacy policy", &chrome, &body)).into_response())
}
