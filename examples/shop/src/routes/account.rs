//! Registration, the account page, and consent to offers by email: a purpose decision
//! recorded in the consent ledger, shown and changed on the account page.

use std::fmt::Write as _;

use axum::Form;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect};
use consentry::ledger::{LedgerRecord, utc_time};
use consentry::{PurposeChange, PurposeError};
use serde::Deserialize;

use super::{Ctx, PageResult, retry_soon};
use crate::OFFERS;
use crate::accounts::{self, Account, MIN_PASSWORD_CHARS, RegisterError};
use crate::catalog;
use crate::html::{escape, page};
use crate::orders::Order;

fn register_form(
    error: Option<&str>,
    email: &str,
    offers: bool,
    offers_text: (&str, &str),
) -> String {
    let error = error.map_or_else(String::new, |e| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(e))
    });
    let (label, description) = offers_text;
    let checked = if offers { " checked" } else { "" };
    format!(
        r#"{error}<form method="post" action="/register">
<label>Email <input name="email" type="email" autocomplete="email" required value="{email}"></label>
<label>Password <input name="password" type="password" autocomplete="new-password" required minlength="{MIN_PASSWORD_CHARS}" aria-describedby="password-rule"></label>
<p id="password-rule">At least {MIN_PASSWORD_CHARS} characters.</p>
<label class="check"><input type="checkbox" name="offers" value="yes"{checked} aria-describedby="offers-about"> {label}</label>
<p id="offers-about">{description}</p>
<button type="submit">Create account</button></form>
<p>Have an account? <a href="/login">Log in</a>.</p>"#,
        email = escape(email),
        label = escape(label),
        description = escape(description),
    )
}

/// The offers purpose's label and description, from the policy.
fn offers_text(ctx: &Ctx) -> (String, String) {
    ctx.shop
        .purposes
        .declared()
        .iter()
        .find(|def| def.id() == OFFERS)
        .map(|def| (def.text().label.clone(), def.text().description.clone()))
        .unwrap_or_default()
}

pub(crate) async fn register_page(ctx: Ctx) -> PageResult {
    let (label, description) = offers_text(&ctx);
    let body = register_form(None, "", false, (&label, &description));
    ctx.page(StatusCode::OK, "Create an account", &body).await
}

#[derive(Deserialize)]
pub(crate) struct Registration {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// Present (`yes`) only when the box was ticked.
    offers: Option<String>,
}

/// Creates the account, records the offers choice (ticked or not) as a purpose decision,
/// and signs the person in. If the choice cannot be recorded, no account is kept.
pub(crate) async fn register(ctx: Ctx, Form(form): Form<Registration>) -> PageResult {
    let offers = form.offers.as_deref() == Some("yes");
    let again = |error: RegisterError| {
        let (label, description) = offers_text(&ctx);
        let status = match error {
            RegisterError::Taken => StatusCode::CONFLICT,
            RegisterError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            RegisterError::MalformedEmail | RegisterError::WeakPassword => StatusCode::BAD_REQUEST,
        };
        let body = register_form(
            Some(&error.message()),
            &form.email,
            offers,
            (&label, &description),
        );
        (status, body)
    };
    let account = match ctx
        .shop
        .accounts
        .register(&form.email, &form.password)
        .await
    {
        Ok(account) => account,
        Err(error) => {
            let (status, body) = again(error);
            return ctx.page(status, "Create an account", &body).await;
        }
    };
    let change = PurposeChange::new(account.subject(), OFFERS, offers).browser(ctx.page.consent());
    if let Err(error) = ctx.shop.purposes.decide(change).await {
        tracing::error!(%error, "could not record the offers choice; the registration is undone");
        if let Err(error) = ctx.shop.accounts.remove(account.id).await {
            tracing::error!(%error, "could not undo a registration whose choice was not recorded");
        }
        let (status, body) = again(RegisterError::Unavailable);
        return ctx
            .page(status, "Create an account", &body)
            .await
            .map(retry_soon);
    }
    ctx.sign_in(&account).await?;
    Ok(Redirect::to("/account").into_response())
}

/// The account's offers choice and its history, from the ledger.
async fn offers_section(ctx: &Ctx, account: &Account) -> String {
    let history = match ctx.shop.purposes.history(&account.subject()).await {
        Ok(history) => history,
        Err(error) => {
            tracing::error!(%error, "could not read the account's consent records");
            return r#"<h2>Offers by email</h2><p class="error" role="alert">Your choice about offers by email cannot be shown just now. Please try again shortly.</p>"#.to_owned();
        }
    };
    let offers: Vec<&LedgerRecord> = history
        .iter()
        .filter(|record| record.purpose.as_deref() == Some(OFFERS))
        .collect();
    let yes = offers.last().is_some_and(|record| record.grants(OFFERS));
    let (now, button, value) = if yes {
        ("yes", "Stop offers by email", "no")
    } else {
        ("no", "Send me offers by email", "yes")
    };
    let mut section = format!(
        r#"<h2>Offers by email</h2>
<p id="offers">Offers by email: {now}</p>
<form method="post" action="/account/offers"><input type="hidden" name="offers" value="{value}"><button type="submit">{button}</button></form>"#
    );
    if !offers.is_empty() {
        section.push_str(
            r#"<table id="offers-history"><caption>Your choices, as our consent records hold them</caption><tr><th>When</th><th>Choice</th><th>Policy revision</th></tr>"#,
        );
        for record in offers.iter().rev() {
            let choice = if record.grants(OFFERS) { "yes" } else { "no" };
            let _ = write!(
                section,
                "<tr><td>{}</td><td>{choice}</td><td>{}</td></tr>",
                utc_time(record.time),
                record.revision
            );
        }
        section.push_str("</table>");
    }
    section
}

pub(crate) async fn account(ctx: Ctx) -> PageResult {
    let chrome = ctx.chrome().await?;
    let Some(account) = ctx.account().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let mut body = format!(
        "<p>Logged in as <strong>{}</strong>.</p>",
        escape(&account.email)
    );
    body.push_str(&offers_section(&ctx, &account).await);
    let mine: Vec<Order> = ctx
        .shop
        .orders
        .all()
        .into_iter()
        .filter(|o| o.user == account.id)
        .collect();
    if mine.is_empty() {
        body.push_str("<h2>Your orders</h2><p>No orders yet.</p>");
    } else {
        body.push_str("<h2>Your orders</h2><ul>");
        for order in mine {
            let _ = write!(
                body,
                r#"<li><a href="/orders/{id}">Order {id}</a>: {total}</li>"#,
                id = order.id,
                total = catalog::price(order.total_cents())
            );
        }
        body.push_str("</ul>");
    }
    Ok(Html(page("Your account", &chrome, &body)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct Offers {
    #[serde(default)]
    offers: String,
}

/// Gives or withdraws consent to offers by email: one purpose decision in the ledger.
pub(crate) async fn set_offers(ctx: Ctx, Form(form): Form<Offers>) -> PageResult {
    let Some(account) = ctx.account().await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let granted = match form.offers.as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            let body = r#"<p class="error" role="alert">Choose yes or no.</p><p><a href="/account">Back to your account</a></p>"#;
            return ctx.page(StatusCode::BAD_REQUEST, "Not saved", body).await;
        }
    };
    let change = PurposeChange::new(accounts::subject(account.id), OFFERS, granted)
        .browser(ctx.page.consent());
    match ctx.shop.purposes.decide(change).await {
        Ok(_) => Ok(Redirect::to("/account").into_response()),
        Err(PurposeError::Ledger(error)) => {
            tracing::error!(%error, "could not record the offers choice");
            let body = r#"<p class="error" role="alert">Your choice could not be saved just now, so nothing changed. Please try again shortly.</p><p><a href="/account">Back to your account</a></p>"#;
            ctx.page(StatusCode::SERVICE_UNAVAILABLE, "Not saved", body)
                .await
                .map(retry_soon)
        }
        Err(error) => {
            tracing::error!(%error, "the shop's offers purpose is misconfigured");
            let body = r#"<p class="error" role="alert">Your choice could not be saved.</p>"#;
            ctx.page(StatusCode::INTERNAL_SERVER_ERROR, "Not saved", body)
                .await
        }
    }
}
