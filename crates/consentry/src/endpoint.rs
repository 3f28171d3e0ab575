//! The consent endpoint (default base `/consent`): state, decisions, withdrawal, the
//! cookie declaration and the banner stylesheet.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /consent` | JSON state `{decided, granted[], revision, gpc, id}`; browsers asking for HTML get the settings page |
//! | `POST /consent` | JSON `{"granted":[…], "revision":N}` or `{"action":"accept_all"\|"reject_all"}` → 200 + state; form (`action`, `granted`, `return_to`) → 303 back |
//! | `DELETE /consent` | withdraws every optional category → 200 + state |
//! | `GET /consent/declaration` | the cookie declaration as JSON |
//! | `GET /consent/banner.<hash>.css`, `/consent/banner.css` | the banner's stylesheet |
//! | `GET /consent/banner.<hash>.js`, `.wasm` | the WebAssembly banner (feature `banner`) |
//!
//! Bad input: cross-site `POST`/`DELETE` 403, body over 4 KiB 413, malformed body or
//! unknown category 400, unsupported media type 415, stale policy revision 409, other
//! methods 405; a `return_to` that is not a same-site relative path is ignored.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, RETRY_AFTER,
};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use serde::Deserialize;

use crate::consent::{Consent, ConsentRuntime, ConsentState, banner};
use crate::error::BoxError;
use crate::html::escape;
use crate::ledger::{ClientIp, LedgerRecord, Source, truncate_ip};
use crate::referral::Touchpoint;

/// Largest accepted request body.
pub(crate) const MAX_BODY: usize = 4 * 1024;

/// A decision the endpoint applied: the new state, and whether GPC was on when made.
pub(crate) struct Update {
    pub(crate) state: ConsentState,
    pub(crate) gpc: bool,
    /// A referral the consent form carried, stored now if its category is granted.
    pub(crate) referral: Option<Touchpoint>,
}

pub(crate) struct Reply {
    pub(crate) response: Response<Bytes>,
    pub(crate) update: Option<Update>,
}

pub(crate) type EndpointFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// The part of the path below the base, when the request is for the endpoint.
pub(crate) fn route<'p>(base: &str, path: &'p str) -> Option<&'p str> {
    let rest = path.strip_prefix(base)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

pub(crate) fn handle<B>(consent: Consent, request: Request<B>, rest: String) -> EndpointFuture
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Box::pin(async move {
        let method = request.method().clone();
        match (rest.trim_end_matches('/'), &method) {
            ("", &Method::GET) => plain(state_or_page(&consent, &request)),
            ("", &Method::POST) => decide_request(consent, request).await,
            ("", &Method::DELETE) => withdraw(consent, request).await,
            ("", _) => plain(not_allowed("GET, POST, DELETE")),
            ("/declaration", &Method::GET) => plain(declaration(&consent)),
            ("/banner.css", &Method::GET) => plain(stylesheet()),
            ("/declaration" | "/banner.css", _) => plain(not_allowed("GET")),
            (path, &Method::GET) if path.strip_prefix('/') == Some(banner::stylesheet_name()) => {
                plain(immutable(stylesheet()))
            }
            (path, &Method::GET) => plain(asset(path).unwrap_or_else(not_found)),
            _ => plain(not_found()),
        }
    })
}

fn not_found() -> Response<Bytes> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such consent resource",
    )
}

fn plain(response: Response<Bytes>) -> Reply {
    Reply {
        response,
        update: None,
    }
}

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Bytes> {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    respond(status, "application/json", value.to_string())
}

fn error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

fn not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = error(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed here",
    );
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

fn state_json(consent: &Consent, state: &ConsentState) -> serde_json::Value {
    state.to_json(consent.policy())
}

fn wants_html<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

fn query_param<B>(request: &Request<B>, name: &str) -> Option<String> {
    let query = request.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.into_owned())
}

/// A path on this site to return to, or `/` for anything else (no open redirect).
pub(crate) fn safe_return_to(candidate: Option<&str>) -> String {
    match candidate {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 2048
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn state_or_page<B>(consent: &Consent, request: &Request<B>) -> Response<Bytes> {
    let return_to = safe_return_to(query_param(request, "return_to").as_deref());
    if !wants_html(request) {
        return json(StatusCode::OK, &state_json(consent, &consent.state));
    }
    let texts = consent.runtime.config.texts_for(consent.language());
    let page = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<main>\n{form}</main>\n</body>\n</html>\n",
        lang = escape(consent.language()),
        title = escape(&texts.settings_title),
        form = consent.settings_html(&return_to),
    );
    respond(StatusCode::OK, "text/html; charset=utf-8", page)
}

fn declaration(consent: &Consent) -> Response<Bytes> {
    let value = consent
        .runtime
        .config
        .registry
        .declaration_json(consent.policy(), consent.language());
    let mut response = json(StatusCode::OK, &value);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// A response under a content-hashed name: cached for good.
fn immutable(mut response: Response<Bytes>) -> Response<Bytes> {
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

/// A banner file under its content-hashed name.
#[cfg(feature = "banner")]
fn asset(path: &str) -> Option<Response<Bytes>> {
    let (bytes, content_type) = crate::assets::get(path.strip_prefix('/')?)?;
    Some(immutable(respond(
        StatusCode::OK,
        content_type,
        Bytes::from_static(bytes),
    )))
}

#[cfg(not(feature = "banner"))]
fn asset(_: &str) -> Option<Response<Bytes>> {
    None
}

fn stylesheet() -> Response<Bytes> {
    let mut response = respond(StatusCode::OK, "text/css; charset=utf-8", banner::CSS);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

/// What the visitor asked for.
enum Choice {
    AcceptAll,
    RejectAll,
    Granted(Vec<String>),
}

#[derive(Deserialize)]
struct JsonDecision {
    granted: Option<Vec<String>>,
    action: Option<String>,
    revision: Option<u32>,
    source: Option<Source>,
    referral: Option<String>,
}

struct Parsed {
    choice: Choice,
    revision: Option<u32>,
    source: Source,
    /// Form posts come back here with 303.
    return_to: Option<String>,
    /// A pending referral token from the banner.
    referral: Option<String>,
}

/// A request the endpoint refuses, with its status and JSON error code.
struct Rejection {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Rejection {
    fn into_response(self) -> Response<Bytes> {
        error(self.status, self.code, &self.message)
    }
}

fn bad_request(message: &str) -> Rejection {
    Rejection {
        status: StatusCode::BAD_REQUEST,
        code: "bad_request",
        message: message.to_owned(),
    }
}

fn parse_action(action: &str, granted: Vec<String>) -> Result<Choice, Rejection> {
    match action {
        "accept_all" => Ok(Choice::AcceptAll),
        "reject_all" => Ok(Choice::RejectAll),
        "save" => Ok(Choice::Granted(granted)),
        _ => Err(bad_request("action must be accept_all, reject_all or save")),
    }
}

fn parse_json(body: &[u8]) -> Result<Parsed, Rejection> {
    let decision: JsonDecision =
        serde_json::from_slice(body).map_err(|e| bad_request(&format!("malformed JSON: {e}")))?;
    let choice = match (decision.action, decision.granted) {
        (Some(action), granted) => parse_action(&action, granted.unwrap_or_default())?,
        (None, Some(granted)) => Choice::Granted(granted),
        (None, None) => {
            return Err(bad_request(
                "give `granted` (a list of categories) or `action`",
            ));
        }
    };
    Ok(Parsed {
        choice,
        revision: decision.revision,
        source: match decision.source {
            Some(Source::Banner) => Source::Banner,
            _ => Source::Api,
        },
        return_to: None,
        referral: decision.referral,
    })
}

fn parse_form(body: &[u8]) -> Result<Parsed, Rejection> {
    let mut action = None;
    let mut granted = Vec::new();
    let mut return_to = None;
    let mut revision = None;
    let mut referral = None;
    for (key, value) in form_urlencoded::parse(body) {
        match &*key {
            "action" => action = Some(value.into_owned()),
            "granted" => granted.push(value.into_owned()),
            "return_to" => return_to = Some(value.into_owned()),
            "referral" => referral = Some(value.into_owned()),
            "revision" => {
                revision = Some(
                    value
                        .parse::<u32>()
                        .map_err(|_| bad_request("revision must be a number"))?,
                );
            }
            _ => {}
        }
    }
    let choice = match action {
        Some(action) => parse_action(&action, granted)?,
        None => Choice::Granted(granted),
    };
    Ok(Parsed {
        choice,
        revision,
        source: Source::Form,
        return_to: Some(safe_return_to(return_to.as_deref())),
        referral,
    })
}

async fn read_body<B>(request: Request<B>) -> Result<Bytes, Rejection>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let too_large = || Rejection {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        code: "too_large",
        message: "the body is limited to 4 KiB".to_owned(),
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > MAX_BODY as u64) {
        return Err(too_large());
    }
    match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(_) => Err(bad_request("the body could not be read")),
    }
}

fn cross_site<B>(request: &Request<B>) -> Option<Response<Bytes>> {
    (!crate::origin::is_same_origin(request.headers(), request.uri())).then(|| {
        error(
            StatusCode::FORBIDDEN,
            "cross_site",
            "consent can only be changed from this site",
        )
    })
}

async fn decide_request<B>(consent: Consent, request: Request<B>) -> Reply
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    if let Some(forbidden) = cross_site(&request) {
        return plain(forbidden);
    }
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    let ip = client_ip(&consent, &request);
    let parse: fn(&[u8]) -> Result<Parsed, Rejection> = match content_type.as_deref() {
        Some("application/json") => parse_json,
        Some("application/x-www-form-urlencoded") => parse_form,
        _ => {
            return plain(error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send application/json or application/x-www-form-urlencoded",
            ));
        }
    };
    let parsed = match read_body(request).await.and_then(|body| parse(&body)) {
        Ok(parsed) => parsed,
        Err(rejection) => return plain(rejection.into_response()),
    };
    let policy = consent.policy();
    if parsed
        .revision
        .is_some_and(|revision| revision != policy.revision())
    {
        // The visitor saw another revision of the policy: nothing is applied.
        if let Some(back) = parsed.return_to {
            return plain(see_other(&back));
        }
        let mut body = state_json(&consent, &consent.state);
        body["error"] = "stale_revision".into();
        return plain(json(StatusCode::CONFLICT, &body));
    }
    let mask = match requested_mask(&consent, &parsed.choice) {
        Ok(mask) => mask,
        Err(unknown) => {
            return plain(bad_request(&format!("unknown category {unknown:?}")).into_response());
        }
    };
    // A pending referral that does not verify is ignored, like an unknown `ref`.
    let referral = parsed.referral.as_deref().and_then(|token| {
        consent
            .runtime
            .referral
            .as_ref()
            .and_then(|runtime| runtime.open_pending(token))
    });
    let decision = Decision {
        mask,
        source: parsed.source,
        return_to: parsed.return_to,
        ip,
        referral,
    };
    decide(consent, decision).await
}

/// A decision to record and apply.
struct Decision {
    mask: u64,
    source: Source,
    return_to: Option<String>,
    ip: Option<String>,
    referral: Option<Touchpoint>,
}

async fn withdraw<B>(consent: Consent, request: Request<B>) -> Reply {
    if let Some(forbidden) = cross_site(&request) {
        return plain(forbidden);
    }
    let source = match query_param(&request, "source").as_deref() {
        Some("banner") => Source::Banner,
        _ => Source::Api,
    };
    let mask = consent.policy().necessary_mask();
    let ip = client_ip(&consent, &request);
    drop(request);
    let decision = Decision {
        mask,
        source,
        return_to: None,
        ip,
        referral: None,
    };
    decide(consent, decision).await
}

fn client_ip<B>(consent: &Consent, request: &Request<B>) -> Option<String> {
    if !consent.runtime.config.record_ip {
        return None;
    }
    request
        .extensions()
        .get::<ClientIp>()
        .map(|ip| truncate_ip(ip.0))
}

fn requested_mask(consent: &Consent, choice: &Choice) -> Result<u64, String> {
    let policy = consent.policy();
    let necessary = policy.necessary_mask();
    Ok(match choice {
        Choice::RejectAll => necessary,
        Choice::AcceptAll => {
            let gpc = if consent.state.gpc {
                policy.gpc_mask()
            } else {
                0
            };
            policy.all_mask() & !gpc
        }
        Choice::Granted(ids) => {
            let mut mask = necessary;
            for id in ids {
                mask |= policy.bit_of(id).ok_or_else(|| id.clone())?;
            }
            mask
        }
    })
}

pub(crate) fn see_other(location: &str) -> Response<Bytes> {
    let mut response = respond(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        Bytes::new(),
    );
    if let Ok(value) = HeaderValue::try_from(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// Records a decision in the ledger, then applies it. If the ledger fails, grants are not
/// applied (503) but denials are.
async fn decide(consent: Consent, decision: Decision) -> Reply {
    let Decision {
        mask,
        source,
        return_to,
        ip,
        referral,
    } = decision;
    let runtime: &Arc<ConsentRuntime> = &consent.runtime;
    let policy = runtime.policy();
    let now = runtime.clock.now();
    let current = &consent.state;
    let id = current.id.unwrap_or_else(|| {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).expect("the operating system random generator failed");
        id
    });
    let decided = |granted: u64| ConsentState {
        id: Some(id),
        decided: true,
        granted,
        revision: policy.revision(),
        decided_at: Some(now),
        gpc: current.gpc,
    };
    let record = LedgerRecord {
        consent_id: crate::consent::hex(&id),
        time: now,
        granted: policy.names(mask).map(|c| c.as_str().to_owned()).collect(),
        denied: policy
            .names(policy.all_mask() & !mask)
            .map(|c| c.as_str().to_owned())
            .collect(),
        revision: policy.revision(),
        source,
        gpc: current.gpc,
        ip,
    };
    let ledger = runtime
        .config
        .ledger
        .as_ref()
        .expect("validated at build time");
    let written = ledger.append(&record).await;
    let only_denies = mask & !current.granted == 0;
    let (applied, ok) = match written {
        Ok(()) => (Some(decided(mask)), true),
        Err(error) => {
            tracing::error!(%error, "consent ledger write failed; grants are not applied");
            let reduced = mask & current.granted;
            if only_denies {
                (Some(decided(mask)), true)
            } else if current.decided && reduced != current.granted {
                (Some(decided(reduced)), false)
            } else {
                (None, false)
            }
        }
    };
    let newly_granted = mask & !current.granted;
    let response = decision_response(&consent, applied.as_ref(), ok, return_to, newly_granted);
    Reply {
        response,
        update: applied.map(|state| Update {
            state,
            gpc: consent.state.gpc,
            referral,
        }),
    }
}

/// The answer to a decision: 303 back for forms, the state as JSON otherwise; 503 when a
/// grant could not be recorded.
fn decision_response(
    consent: &Consent,
    applied: Option<&ConsentState>,
    ok: bool,
    return_to: Option<String>,
    newly_granted: u64,
) -> Response<Bytes> {
    let runtime = &consent.runtime;
    let policy = runtime.policy();
    let shown = applied.unwrap_or(&consent.state);
    match (ok, return_to) {
        (true, Some(back)) => see_other(&back),
        (true, None) => {
            let reload = runtime.config.csp.is_some()
                && policy
                    .names(newly_granted)
                    .any(|c| policy.get(c).is_some_and(|def| !def.origins().is_empty()));
            let mut body = state_json(consent, shown);
            body["reload"] = reload.into();
            json(StatusCode::OK, &body)
        }
        (false, Some(_)) => {
            let mut response = respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/html; charset=utf-8",
                "<!doctype html><title>Try again</title><p>Your choice could not be recorded. \
                 Nothing was switched on. Please go back and try again.</p>",
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
        (false, None) => {
            let mut body = state_json(consent, shown);
            body["error"] = "ledger_unavailable".into();
            body["message"] = "the decision could not be recorded; grants were not applied".into();
            let mut response = json(StatusCode::SERVICE_UNAVAILABLE, &body);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from_static("5"));
            response
        }
    }
}
