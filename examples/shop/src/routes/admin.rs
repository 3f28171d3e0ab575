//! The administrators' reports: orders by partner, and the consent report (charts of
//! decisions and opt-in rates, GPC and reject-all shares, the proof for one consent id,
//! exports). Administrators only: `403` for customers, `303 /login` for visitors.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use consentry::ledger::{
    Day, DayStats, EncodedStream, ExportFormat, LedgerError, LedgerRecord, Period, Tally, utc_time,
};
use futures_core::Stream;
use serde::Deserialize;

use super::{Ctx, PageResult, retry_soon};
use crate::catalog;
use crate::charts;
use crate::html::escape;
use crate::orders::Order;

/// Days the report covers when no range is given.
const DEFAULT_DAYS: u32 = 30;
/// Most days one report or export may span.
const MAX_DAYS: u32 = 3_660;

pub(crate) async fn partner_report(ctx: Ctx) -> PageResult {
    if let Some(refused) = ctx.admin_only().await? {
        return Ok(refused);
    }
    let orders = ctx.shop.orders.all();
    let mut body = String::from("<table><tr><th>Partner</th><th>Orders</th><th>Revenue</th></tr>");
    for (id, name) in &ctx.shop.partners {
        let theirs: Vec<&Order> = orders
            .iter()
            .filter(|o| o.partner.as_ref().is_some_and(|(p, _)| p == id))
            .collect();
        let revenue: u64 = theirs.iter().map(|o| o.total_cents()).sum();
        let _ = write!(
            body,
            r#"<tr data-partner="{id}"><td>{name}</td><td class="orders">{count}</td><td>{revenue}</td></tr>"#,
            id = escape(id),
            name = escape(name),
            count = theirs.len(),
            revenue = catalog::price(revenue),
        );
    }
    let direct = orders.iter().filter(|o| o.partner.is_none()).count();
    let _ = write!(
        body,
        r#"<tr data-partner=""><td>No partner</td><td class="orders">{direct}</td><td></td></tr></table>"#
    );
    ctx.page(StatusCode::OK, "Orders by partner", &body).await
}

#[derive(Deserialize, Default)]
pub(crate) struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    id: Option<String>,
}

/// A range of days from the query, or why it is not one.
fn range(from: Option<&str>, to: Option<&str>, today: Day) -> Result<(Day, Day), String> {
    let parse = |text: &str, name: &str| {
        Day::parse(text).ok_or_else(|| format!("{name} must be a date like 2026-11-30"))
    };
    let last = match to.filter(|t| !t.is_empty()) {
        Some(text) => parse(text, "to")?,
        None => today,
    };
    let first = match from.filter(|f| !f.is_empty()) {
        Some(text) => parse(text, "from")?,
        None => Day::of(
            last.start()
                .saturating_sub(u64::from(DEFAULT_DAYS - 1) * 86_400),
        ),
    };
    if first > last {
        return Err("from must not be after to".to_owned());
    }
    let span = (last.start() - first.start()) / 86_400 + 1;
    if span > u64::from(MAX_DAYS) {
        return Err(format!("a range spans at most {MAX_DAYS} days"));
    }
    Ok((first, last))
}

/// Every day from `first` to `last`, with its figures (empty for a day without any).
fn every_day(first: Day, last: Day, stats: Vec<DayStats>) -> Vec<DayStats> {
    let mut stats = stats.into_iter().peekable();
    let mut day = first;
    let mut out = Vec::new();
    while day <= last {
        match stats.peek() {
            Some(found) if found.day == day => out.extend(stats.next()),
            _ => out.push(DayStats::new(day)),
        }
        day = day.next();
    }
    out
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "–".to_owned();
    }
    #[allow(clippy::cast_precision_loss, reason = "a share for display")]
    let share = part as f64 * 100.0 / whole as f64;
    format!("{share:.1}%")
}

fn rate(tally: Option<&Tally>) -> String {
    tally
        .and_then(Tally::rate)
        .map_or_else(|| "–".to_owned(), |rate| format!("{:.1}%", rate * 100.0))
}

/// The consent report's forms: the period, the lookup, the export.
fn forms(first: Day, last: Day, id: &str) -> String {
    format!(
        r#"<form method="get" action="/admin/consent" class="period"><label class="inline">From <input type="date" name="from" value="{first}"></label> <label class="inline">to <input type="date" name="to" value="{last}"></label> <button type="submit">Show</button></form>
<h2>Proof for one consent id</h2>
<form method="get" action="/admin/consent" role="search"><label class="inline">Consent id or account <input name="id" value="{id}" size="36" pattern="[0-9a-f]{{32}}|account-[0-9]+" title="32 hexadecimal characters, or account-…"></label> <button type="submit">Look up</button></form>
<h2>Export</h2>
<form method="get" action="/admin/consent/export"><label class="inline">From <input type="date" name="from" value="{first}" required></label> <label class="inline">to <input type="date" name="to" value="{last}" required></label> <label class="inline">as <select name="format"><option value="csv">CSV</option><option value="jsonl">JSON lines</option></select></label> <button type="submit">Download</button></form>"#,
        id = escape(id),
    )
}

/// Every record of one consent id (or account), oldest first, as a table.
fn proof_table(id: &str, records: &[LedgerRecord]) -> String {
    if records.is_empty() {
        return format!(
            r#"<p id="proof">No records for <code>{}</code>.</p>"#,
            escape(id)
        );
    }
    let mut out = format!(
        r#"<table id="proof"><caption>Every record of <code>{}</code>, oldest first</caption><tr><th scope="col">When</th><th scope="col">Source</th><th scope="col">Revision</th><th scope="col">GPC</th><th scope="col">Granted</th><th scope="col">Denied</th><th scope="col">Purpose</th><th scope="col">Account</th></tr>"#,
        escape(id)
    );
    for record in records {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            utc_time(record.time),
            record.source.as_str(),
            record.revision,
            if record.gpc { "yes" } else { "no" },
            escape(&record.granted.join(", ")),
            escape(&record.denied.join(", ")),
            escape(record.purpose.as_deref().unwrap_or("")),
            escape(record.subject.as_deref().unwrap_or("")),
        );
    }
    out.push_str("</table>");
    out
}

fn is_consent_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_account(id: &str) -> bool {
    id.strip_prefix("account-")
        .is_some_and(|n| !n.is_empty() && n.len() <= 20 && n.bytes().all(|b| b.is_ascii_digit()))
}

fn report_body(first: Day, last: Day, days: &[DayStats]) -> String {
    let categories: BTreeSet<&str> = days
        .iter()
        .flat_map(|d| d.categories.keys().map(String::as_str))
        .filter(|c| *c != "necessary")
        .collect();
    let purposes: BTreeSet<&str> = days
        .iter()
        .flat_map(|d| d.purposes.keys().map(String::as_str))
        .collect();
    let decisions: u64 = days.iter().map(|d| d.decisions).sum();
    let gpc: u64 = days.iter().map(|d| d.gpc).sum();
    let reject_all: u64 = days.iter().map(|d| d.reject_all).sum();
    let accept_all: u64 = days.iter().map(|d| d.accept_all).sum();
    let labels: Vec<String> = days.iter().map(|d| d.day.to_string()).collect();

    let mut body = format!(
        r#"<p>From {first} to {last} (UTC).</p>
<dl class="shares">
<dt>Decisions</dt><dd id="decisions">{decisions}</dd>
<dt>Sent Global Privacy Control</dt><dd id="gpc-share">{gpc_share}</dd>
<dt>Rejected all</dt><dd id="reject-all-share">{reject_share}</dd>
<dt>Accepted all</dt><dd id="accept-all-share">{accept_share}</dd>
</dl>
<h2>Decisions per day</h2>
"#,
        gpc_share = percent(gpc, decisions),
        reject_share = percent(reject_all, decisions),
        accept_share = percent(accept_all, decisions),
    );
    let counts: Vec<(String, u64)> = days
        .iter()
        .map(|d| (d.day.to_string(), d.decisions))
        .collect();
    body.push_str(&charts::bars(
        "decisions-chart",
        "Decisions per day",
        &counts,
    ));
    body.push_str("<h2>Opt-in rate per category per day</h2>\n");
    let series: Vec<(String, Vec<Option<f64>>)> = categories
        .iter()
        .map(|c| {
            let rates = days
                .iter()
                .map(|d| d.categories.get(*c).and_then(Tally::rate))
                .collect();
            ((*c).to_owned(), rates)
        })
        .collect();
    body.push_str(&charts::lines(
        "optin-chart",
        "Opt-in rate per category per day",
        &labels,
        &series,
    ));

    let _ = write!(
        body,
        r#"<table id="daily"><caption>The figures behind the charts</caption><tr><th scope="col">Day</th><th scope="col">Decisions</th><th scope="col">Accept all</th><th scope="col">Reject all</th><th scope="col">GPC</th>"#
    );
    for name in categories.iter().chain(&purposes) {
        let _ = write!(body, r#"<th scope="col">{} opt-in</th>"#, escape(name));
    }
    body.push_str("</tr>");
    for day in days
        .iter()
        .filter(|d| d.decisions > 0 || !d.purposes.is_empty())
    {
        let _ = write!(
            body,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
            day.day, day.decisions, day.accept_all, day.reject_all, day.gpc
        );
        for name in &categories {
            let _ = write!(body, "<td>{}</td>", rate(day.categories.get(*name)));
        }
        for name in &purposes {
            let _ = write!(body, "<td>{}</td>", rate(day.purposes.get(*name)));
        }
        body.push_str("</tr>");
    }
    body.push_str("</table>");
    body
}

/// `GET /admin/consent[?from=&to=][&id=]`: the consent report, or the proof for one id.
pub(crate) async fn consent_report(ctx: Ctx, Query(query): Query<ReportQuery>) -> PageResult {
    if let Some(refused) = ctx.admin_only().await? {
        return Ok(refused);
    }
    let today = Day::of(ctx.shop.clock.now());
    let (first, last) = match range(query.from.as_deref(), query.to.as_deref(), today) {
        Ok(range) => range,
        Err(message) => {
            let body = format!(
                r#"<p class="error" role="alert">{}</p>{}"#,
                escape(&message),
                forms(
                    Day::of(today.start() - u64::from(DEFAULT_DAYS - 1) * 86_400),
                    today,
                    ""
                )
            );
            return ctx
                .page(StatusCode::BAD_REQUEST, "Consent report", &body)
                .await;
        }
    };
    let id = query.id.as_deref().map(str::trim).unwrap_or_default();
    let mut body = forms(first, last, id);
    let mut status = StatusCode::OK;
    if !id.is_empty() {
        let found = if is_consent_id(id) {
            Some(ctx.shop.ledger.history(id).await)
        } else if is_account(id) {
            Some(ctx.shop.ledger.subject_history(id).await)
        } else {
            None
        };
        let section = match found {
            Some(Ok(records)) => proof_table(id, &records),
            Some(Err(error)) => {
                status = StatusCode::SERVICE_UNAVAILABLE;
                unavailable(&error)
            }
            None => {
                status = StatusCode::BAD_REQUEST;
                r#"<p class="error" role="alert">A consent id is 32 hexadecimal characters (a visitor finds theirs on the cookie settings page); an account looks like account-1234.</p>"#.to_owned()
            }
        };
        // The proof goes right under the lookup form.
        let at = body.find("<h2>Export</h2>").unwrap_or(body.len());
        body.insert_str(at, &section);
    }
    match ctx.shop.ledger.daily_stats(Period::days(first, last)).await {
        Ok(figures) => body.insert_str(
            0,
            &report_body(first, last, &every_day(first, last, figures)),
        ),
        Err(error) => {
            status = StatusCode::SERVICE_UNAVAILABLE;
            body.insert_str(0, &unavailable(&error));
        }
    }
    ctx.page(status, "Consent report", &body).await
}

fn unavailable(error: &LedgerError) -> String {
    tracing::error!(%error, "the consent records cannot be read");
    r#"<p class="error" role="alert">The consent records cannot be read just now. Try again shortly.</p>"#.to_owned()
}

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

/// `GET /admin/consent/export?from=&to=&format=csv|jsonl`: the records of those days as a
/// download, streamed from the ledger.
pub(crate) async fn consent_export(ctx: Ctx, Query(query): Query<ExportQuery>) -> PageResult {
    if let Some(refused) = ctx.admin_only().await? {
        return Ok(refused);
    }
    let bad = |message: String| {
        Ok((
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response())
    };
    let (Some(from), Some(to)) = (query.from.as_deref(), query.to.as_deref()) else {
        return bad("give from=YYYY-MM-DD and to=YYYY-MM-DD".to_owned());
    };
    let today = Day::of(ctx.shop.clock.now());
    let (first, last) = match range(Some(from), Some(to), today) {
        Ok(range) if !from.is_empty() && !to.is_empty() => range,
        Ok(_) => return bad("give from=YYYY-MM-DD and to=YYYY-MM-DD".to_owned()),
        Err(message) => return bad(message),
    };
    let Some(format) = query.format.as_deref().and_then(ExportFormat::parse) else {
        return bad("format must be csv or jsonl".to_owned());
    };
    let mut stream = format.encode_stream(ctx.shop.ledger.export(Period::days(first, last)));
    // The first chunk decides the status: a ledger that cannot be read is a 503, not a
    // download that breaks off.
    let first_chunk = match std::future::poll_fn(|cx| Pin::new(&mut stream).poll_next(cx)).await {
        Some(Err(error)) => {
            tracing::error!(%error, "consent export failed");
            return Ok(retry_soon(
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    "The consent records cannot be read just now. Try again shortly.",
                )
                    .into_response(),
            ));
        }
        Some(Ok(chunk)) => Some(chunk),
        None => None,
    };
    let filename = format!(
        "attachment; filename=\"consent-records-{first}-to-{last}.{}\"",
        format.extension()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (header::CONTENT_DISPOSITION, filename),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(Resumed {
            first: first_chunk,
            rest: stream,
        }),
    )
        .into_response())
}

/// An encoded export whose first chunk was already read.
struct Resumed {
    first: Option<Bytes>,
    rest: EncodedStream,
}

impl Stream for Resumed {
    type Item = Result<Bytes, LedgerError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(first) = self.first.take() {
            return Poll::Ready(Some(Ok(first)));
        }
        Pin::new(&mut self.rest).poll_next(cx)
    }
}
