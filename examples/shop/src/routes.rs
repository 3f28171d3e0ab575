//! The shop's pages, per the HTTP contract in the README.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::Form;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use consentry::{Category, MissingLayer, Page, Referral, Session, SessionError};
use serde::Deserialize;

mod account;
mod admin;

pub(crate) use account::{account, register, register_page, set_offers};
pub(crate) use admin::{consent_export, consent_report, partner_report};

use crate::Shop;
use crate::accounts;
use crate::catalog::{self, PRODUCTS, Units};
use crate::html::{self, Chrome, Viewer, escape, page};
use crate::orders::{self, Line, Order};

/// Session key of the logged-in account id.
pub(crate) const USER: &str = "user";
/// Session key of the cart: SKU to quantity.
pub(crate) const CART: &str = "cart";
/// Session key of the display units, when preferences are not granted.
pub(crate) const UNITS: &str = "units";
/// The preferences cookie (declared under `preferences`): `mm` or `in`.
pub const UNITS_COOKIE: &str = "shop_units";
/// Most units of one SKU in a cart.
const MAX_QTY: u32 = 1_000;

type Cart = BTreeMap<String, u32>;
type PageResult = Result<Response, PageError>;

/// Why a page could not be answered: the session store or the account store failed. Both
/// are `503` with `Retry-After`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PageError {
    #[error(transparent)]
    Session(#[from] SessionError),
    #[error(transparent)]
    Accounts(#[from] accounts::Unavailable),
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            Self::Session(error) => error.into_response(),
            Self::Accounts(error) => {
                tracing::error!(%error, "account store failed");
                retry_soon(
                    Html("<h1>Try again</h1><p>The shop cannot reach its accounts just now. Please try again shortly.</p>")
                        .into_response(),
                )
            }
        }
    }
}

/// `response` as a `503 Service Unavailable` worth retrying in a few seconds: what the shop
/// answers when a store it needs cannot be reached.
pub(crate) fn retry_soon(mut response: Response) -> Response {
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from_static("5"));
    response
}

/// What every page handler needs: the shop, the session, the page (consent and rendering),
/// referral and the path.
pub(crate) struct Ctx {
    shop: Shop,
    session: Session,
    page: Page,
    referral: Option<Referral>,
    path: String,
    /// The preferences cookie's value, if the request carried one.
    units_cookie: Option<String>,
}

impl FromRequestParts<Shop> for Ctx {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, shop: &Shop) -> Result<Self, Self::Rejection> {
        Ok(Self {
            shop: shop.clone(),
            session: Session::from_request_parts(parts, shop).await?,
            page: Page::from_request_parts(parts, shop).await?,
            referral: parts.extensions.get::<Referral>().cloned(),
            path: parts.uri.path().to_owned(),
            units_cookie: parts
                .headers
                .get_all(header::COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(';'))
                .find_map(|pair| {
                    let (name, value) = pair.trim().split_once('=')?;
                    (name == UNITS_COOKIE).then(|| value.to_owned())
                }),
        })
    }
}

impl Ctx {
    async fn chrome(&self) -> Result<Chrome, PageError> {
        let email = self.account().await?.map(|account| account.email);
        let cart = self.cart().await?;
        Ok(Chrome {
            viewer: Viewer {
                email,
                cart_items: cart.values().sum(),
            },
            page: self.page.clone(),
            analytics_origin: self.shop.analytics_origin.clone(),
            referral: self.referral.clone(),
        })
    }

    /// `None` for an administrator; otherwise the answer: `303 /login` for a visitor,
    /// `403` for a customer.
    async fn admin_only(&self) -> Result<Option<Response>, PageError> {
        Ok(match self.account().await? {
            Some(account) if account.role == accounts::Role::Admin => None,
            Some(_) => Some(
                self.page(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "<p>This page is for the shop's administrators.</p>",
                )
                .await?,
            ),
            None => Some(Redirect::to("/login").into_response()),
        })
    }

    /// The display units: the preferences cookie when preferences are granted, else the
    /// session's choice, else millimetres.
    async fn units(&self) -> Result<Units, SessionError> {
        let from_cookie = self
            .units_cookie
            .as_deref()
            .filter(|_| self.page.consent().allows(&Category::PREFERENCES))
            .and_then(Units::parse);
        if let Some(units) = from_cookie {
            return Ok(units);
        }
        let from_session: Option<String> = self.session.get(UNITS).await?;
        Ok(from_session
            .as_deref()
            .and_then(Units::parse)
            .unwrap_or_default())
    }

    async fn user(&self) -> Result<Option<u64>, SessionError> {
        self.session.get::<u64>(USER).await
    }

    /// The signed-in account.
    async fn account(&self) -> Result<Option<accounts::Account>, PageError> {
        match self.user().await? {
            Some(id) => Ok(self.shop.accounts.by_id(id).await?),
            None => Ok(None),
        }
    }

    /// Signs `account` in under a new session id: an id planted before is worthless after.
    async fn sign_in(&self, account: &accounts::Account) -> Result<(), SessionError> {
        self.session.cycle_id().await?;
        self.session.insert(USER, &account.id).await
    }

    async fn cart(&self) -> Result<Cart, SessionError> {
        Ok(self.session.get(CART).await?.unwrap_or_default())
    }

    async fn page(&self, status: StatusCode, title: &str, body: &str) -> PageResult {
        let chrome = self.chrome().await?;
        Ok((status, Html(page(title, &chrome, body))).into_response())
    }
}

/// The unit price for this visitor: portal pricing through a partner portal.
fn unit_price(chrome: &Chrome, cents: u32) -> u64 {
    if chrome.portal() {
        orders::portal_price(u64::from(cents))
    } else {
        u64::from(cents)
    }
}

/// The answer to a state-changing request another site sent (from the CSRF layer).
pub(crate) fn cross_site_refused(_: tower_http::csrf::ProtectionError) -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<h1>Forbidden</h1><p>Cross-site request refused.</p>".to_owned()),
    )
        .into_response()
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

pub(crate) async fn catalogue(ctx: Ctx) -> PageResult {
    let chrome = ctx.chrome().await?;
    let units = ctx.units().await?;
    let mut body =
        String::from("<table><tr><th>Product</th><th>Size</th><th>Price</th><th>Order</th></tr>");
    for product in PRODUCTS {
        let _ = write!(
            body,
            r#"<tr><td>{name}</td><td class="size">{size}</td><td>{price}</td><td><form method="post" action="/cart"><input type="hidden" name="sku" value="{sku}"><label class="inline">Qty <input name="qty" type="number" min="1" max="{MAX_QTY}" value="1" size="4"></label> <button type="submit">Add to cart</button></form></td></tr>"#,
            name = escape(product.name),
            size = units.size(product.size_mm),
            price = catalog::price(unit_price(&chrome, product.price_cents)),
            sku = escape(product.sku),
        );
    }
    body.push_str("</table>");
    let option = |option: Units, label: &str| {
        let selected = if option == units { " selected" } else { "" };
        format!(
            r#"<option value="{}"{selected}>{label}</option>"#,
            option.as_str()
        )
    };
    let _ = write!(
        body,
        r#"<form method="post" action="/preferences" class="units"><input type="hidden" name="return_to" value="/"><label class="inline">Show sizes in <select name="units">{}{}</select></label> <button type="submit">Show</button></form>"#,
        option(Units::Millimetres, "millimetres"),
        option(Units::Inches, "inches"),
    );
    Ok(Html(page("Catalogue", &chrome, &body)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Preferences {
    units: String,
    return_to: Option<String>,
}

/// Remembers the display units: in the preferences cookie when preferences are granted,
/// otherwise on the server for this session only.
pub(crate) async fn set_preferences(ctx: Ctx, Form(form): Form<Preferences>) -> PageResult {
    let Some(units) = Units::parse(&form.units) else {
        let body = r#"<p class="error">Choose millimetres or inches.</p><p><a href="/">Back to the catalogue</a></p>"#;
        return ctx.page(StatusCode::BAD_REQUEST, "Not saved", body).await;
    };
    let back = form
        .return_to
        .filter(|path| {
            path.starts_with('/') && !path.starts_with("//") && !path.contains(['\\', '\r', '\n'])
        })
        .unwrap_or_else(|| "/".to_owned());
    let mut response = Redirect::to(&back).into_response();
    if ctx.page.consent().allows(&Category::PREFERENCES) {
        ctx.session.remove(UNITS).await?;
        let cookie = format!(
            "{UNITS_COOKIE}={}; Path=/; Max-Age=31536000; HttpOnly; Secure; SameSite=Lax",
            units.as_str()
        );
        if let Ok(value) = header::HeaderValue::try_from(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    } else {
        ctx.session.insert(UNITS, units.as_str()).await?;
    }
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct AddToCart {
    sku: String,
    qty: u32,
}

pub(crate) async fn add_to_cart(ctx: Ctx, Form(form): Form<AddToCart>) -> PageResult {
    if catalog::product(&form.sku).is_none() || !(1..=MAX_QTY).contains(&form.qty) {
        let body = format!(
            r#"<p class="error">Unknown product or quantity out of range (1–{MAX_QTY}).</p><p><a href="/">Back to the catalogue</a></p>"#
        );
        return ctx.page(StatusCode::BAD_REQUEST, "Not added", &body).await;
    }
    let mut cart = ctx.cart().await?;
    let line = cart.entry(form.sku).or_default();
    *line = (*line + form.qty).min(MAX_QTY);
    ctx.session.insert(CART, &cart).await?;
    Ok(Redirect::to("/cart").into_response())
}

/// The cart as order lines, priced for this visitor.
fn lines(chrome: &Chrome, cart: &Cart) -> Vec<Line> {
    cart.iter()
        .filter_map(|(sku, qty)| {
            catalog::product(sku).map(|product| Line {
                sku: product.sku.to_owned(),
                name: product.name.to_owned(),
                qty: *qty,
                unit_cents: unit_price(chrome, product.price_cents),
            })
        })
        .collect()
}

fn lines_table(lines: &[Line]) -> String {
    let mut body = String::from("<table><tr><th>Product</th><th>Qty</th><th>Subtotal</th></tr>");
    let mut total = 0u64;
    for line in lines {
        let subtotal = line.unit_cents * u64::from(line.qty);
        total += subtotal;
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&line.name),
            line.qty,
            catalog::price(subtotal)
        );
    }
    let _ = write!(
        body,
        "<tr><th>Total</th><td></td><th>{}</th></tr></table>",
        catalog::price(total)
    );
    body
}

pub(crate) async fn cart(ctx: Ctx) -> PageResult {
    let chrome = ctx.chrome().await?;
    let lines = lines(&chrome, &ctx.cart().await?);
    let body = if lines.is_empty() {
        r#"<p>Your cart is empty. <a href="/">Browse the catalogue</a>.</p>"#.to_owned()
    } else if chrome.viewer.email.is_some() {
        format!(
            r#"{}<form method="post" action="/checkout"><button type="submit">Place order</button></form>"#,
            lines_table(&lines)
        )
    } else {
        format!(
            r#"{}<p><a href="/login">Log in</a> to place your order.</p>"#,
            lines_table(&lines)
        )
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
<p>No account yet? <a href="/register">Create one</a>.</p>
<p>Demo accounts: <code>demo@example.com</code> / <code>demo</code> (a customer),
<code>admin@example.com</code> / <code>admin</code> (sees the partner report).</p>"#
    )
}

pub(crate) async fn login_page(ctx: Ctx) -> PageResult {
    ctx.page(StatusCode::OK, "Log in", &login_form(None)).await
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

pub(crate) async fn login(ctx: Ctx, Form(credentials): Form<Credentials>) -> PageResult {
    let account = ctx
        .shop
        .accounts
        .authenticate(&credentials.email, &credentials.password)
        .await?;
    let Some(account) = account else {
        let body = login_form(Some("Email or password is wrong."));
        return ctx.page(StatusCode::UNAUTHORIZED, "Log in", &body).await;
    };
    ctx.sign_in(&account).await?;
    Ok(Redirect::to("/account").into_response())
}

pub(crate) async fn logout(session: Session) -> Response {
    session.destroy();
    Redirect::to("/").into_response()
}

pub(crate) async fn checkout(ctx: Ctx) -> PageResult {
    let Some(user) = ctx.user().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let chrome = ctx.chrome().await?;
    let lines = lines(&chrome, &ctx.cart().await?);
    if lines.is_empty() {
        let body = r#"<p class="error">Your cart is empty.</p><p><a href="/">Browse the catalogue</a></p>"#;
        return ctx
            .page(StatusCode::BAD_REQUEST, "Nothing to order", body)
            .await;
    }
    let order = Order {
        id: 0,
        user,
        lines,
        partner: ctx
            .referral
            .as_ref()
            .map(|r| (r.partner_id().to_owned(), r.partner_name().to_owned())),
        via_portal: chrome.portal(),
    };
    let id = ctx.shop.orders.place(order);
    ctx.session.remove(CART).await?;
    Ok(Redirect::to(&format!("/orders/{id}")).into_response())
}

pub(crate) async fn order(ctx: Ctx, Path(id): Path<String>) -> PageResult {
    let Some(user) = ctx.user().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let order = id
        .parse::<u64>()
        .ok()
        .and_then(|id| ctx.shop.orders.get(id))
        .filter(|o| o.user == user);
    let Some(order) = order else {
        return ctx
            .page(
                StatusCode::NOT_FOUND,
                "No such order",
                "<p>There is no such order in your account.</p>",
            )
            .await;
    };
    let mut body = lines_table(&order.lines);
    match &order.partner {
        Some((_, name)) => {
            let _ = write!(
                body,
                r#"<p class="attribution">Referred by {}.</p>"#,
                escape(name)
            );
        }
        None => body.push_str(r#"<p class="attribution">No partner referral.</p>"#),
    }
    if order.via_portal {
        body.push_str("<p>Portal pricing applied.</p>");
    }
    ctx.page(StatusCode::OK, &format!("Order {}", order.id), &body)
        .await
}

pub(crate) async fn not_found(ctx: Ctx) -> PageResult {
    let body = format!("<p>Nothing at <code>{}</code>.</p>", escape(&ctx.path));
    ctx.page(StatusCode::NOT_FOUND, "Not found", &body).await
}

pub(crate) async fn privacy(ctx: Ctx) -> PageResult {
    let declaration = ctx.page.declaration_html();
    let history = ctx.page.revision_history_html();
    let settings = ctx.page.settings_link();
    let units = UNITS_COOKIE;
    let records = ctx.page.records_html();
    let body = format!(
        r#"<p>Inkwell Print Shop keeps what it needs to run your orders on its own servers.
Cookies hold no personal information: the session cookie holds a random id and two
timestamps, and your cart and login live on our side.</p>
<h2>Consent</h2>
<p>Strictly necessary cookies run the site. Everything else (preferences, analytics and
marketing, which includes partner referrals) is set only after you agree, and you can change
or withdraw your choice at any time: {settings}. Your browser's Global Privacy Control
signal is honoured. When this policy changes we ask you again.</p>
<h2>Partners</h2>
<p>If a partner referred you, or you use a partner portal, a cookie recognises the partner so
orders can be attributed to it. It holds only the partner's id and two dates, and is set
only with your consent to marketing.</p>
<h2>Analytics</h2>
<p>With your consent, a first-party analytics cookie counts visits in aggregate; the data is
passed to our analytics provider. Without consent, the analytics script is not even loaded.</p>
<h2>Our promises, and how to check them</h2>
<table class="promises">
<tr><th scope="col">We promise</th><th scope="col">How you can check</th></tr>
<tr><td>Cookies hold no personal information. The session cookie only lets us recognise your
visit; your cart and your login are kept on our servers.</td><td>Open your browser's cookie
storage for this site: the session cookie is a random id and two timestamps, signed. Nothing in
any cookie is your name, email or order.</td></tr>
<tr><td>Nothing but what the site needs runs before you agree.</td><td>On your first visit your
browser holds no cookie from us at all, and the analytics script is not loaded. Each cookie in
the table below is set only under its category.</td></tr>
<tr><td>We remember your preferences (sizes in millimetres or inches) in a cookie only if you
agree to preferences.</td><td>Without that consent, the <code>{units}</code> cookie is never set
and your choice lasts for this visit only, on our side.</td></tr>
<tr><td>If you register, you are asked whether you want offers by email; the box starts
unticked, and you can stop the emails at any time.</td><td>Your account page shows
“Offers by email: yes” or “no”, a button to change it, and every choice you made, as our consent
records hold them.</td></tr>
<tr><td>Withdrawing consent is as easy as giving it.</td><td>“Cookie settings” is at the bottom
of every page; when you withdraw a category, its cookies are deleted from your browser.</td></tr>
<tr><td>We tell you when this policy changes in a way that matters.</td><td>The next time you
visit, the cookie banner asks you again and says what changed; the history is at the end of
this page.</td></tr>
</table>
<h2>Cookies we use</h2>
{declaration}
<h2>Your consent</h2>
<p>Every choice you make about cookies is recorded with the time and the version of this
policy, as proof that you made it. The record holds a random id, not your name.</p>
{records}
<h2>Changes to this policy</h2>
<p>When we change how we treat your information we say so here, and the next time you
visit, the cookie banner asks you again and tells you what changed.</p>
{history}"#
    );
    ctx.page(StatusCode::OK, "Privacy policy", &body).await
}
