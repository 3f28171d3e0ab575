//! The consent endpoint (default base `/consent`): state, decisions, withdrawal, the
//! cookie declaration and the banner's files. It sits above the parts and is given the
//! ones it uses when the layer is built.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /consent` | JSON state `{decided, granted[], revision, gpc, id, decidedAt}`; browsers asking for HTML get the settings page |
//! | `POST /consent` | JSON `{"granted":[…], "revision":N}` or `{"action":"accept_all"\|"reject_all"}` → 200 + state; form (`action`, `granted`, `return_to`) → 303 back |
//! | `DELETE /consent` | withdraws every optional category → 200 + state |
//! | `GET /consent/declaration` | the cookie declaration as JSON |
//! | `GET /consent/records` | the visitor's own records `{"id", "records": […]}`, by the signed consent cookie; `404` without one |
//! | `GET /consent/banner.<hash>.css`, `/consent/banner.css` | the banner's stylesheet |
//! | `GET /consent/banner.<hash>.js`, `.wasm` | the WebAssembly banner (feature `banner`) |
//!
//! Bad input: cross-site `POST`/`DELETE` 403, body over 4 KiB 413, malformed body or
//! unknown category 400, unsupported media type 415, stale policy revision 409 (JSON: the
//! current state with `error` and `message`; a form post is sent back with 303 and nothing
//! applied, so the page shows the current policy), other methods 405; a `return_to` that
//! is not a same-site relative path is ignored.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_FRAME_OPTIONS};
use http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;

use crate::BoxError;
use crate::assets;
use crate::clock::Clock;
use crate::consent::{ConsentPart, ConsentState};
use crate::gate::GatePart;
use crate::html::escape;
use crate::ledger::{ClientIp, ConsentLedger, LedgerError, LedgerRecord, Source, truncate_ip};
use crate::origin::{Served, same_origin};
use crate::policy::Granted;
use crate::referral::{ReferralPart, Touchpoint};
use crate::render::Page;

pub(crate) mod parse;
mod reply;

use parse::safe_return_to;
use parse::{Parsed, parse_form, parse_json, read_body};
use reply::{
    Rejection, bad_request, error, immutable, json, not_allowed, not_found, respond, retry_soon,
    see_other,
};

/// A decision the endpoint recorded: the state the consent part seals, and a referral the
/// consent form carried (stored now if its category is granted).
pub(crate) struct Update {
    pub(crate) consent: ConsentState,
    pub(crate) referral: Option<Touchpoint>,
}

/// The endpoint's answer, and the decision it recorded, if any.
pub(crate) struct Reply {
    pub(crate) response: Response<Bytes>,
    pub(crate) update: Option<Update>,
}

impl Reply {
    /// An answer that changes nothing.
    pub(crate) fn plain(response: Response<Bytes>) -> Self {
        Self {
            response,
            update: None,
        }
    }

    /// A `303 See Other` to `location`.
    pub(crate) fn redirect(location: &str) -> Self {
        Self::plain(see_other(location))
    }
}

pub(crate) type EndpointFuture = Pin<Box<dyn Future<Output = Reply> + Send>>;

/// The endpoint and the parts it uses.
pub(crate) struct Endpoint {
    base_path: String,
    record_ip: bool,
    served: Served,
    consent: Arc<ConsentPart>,
    gate: Arc<GatePart>,
    referral: Option<Arc<ReferralPart>>,
    ledger: Arc<dyn ConsentLedger>,
    clock: Arc<dyn Clock>,
}

impl Endpoint {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        base_path: String,
        record_ip: bool,
        served: Served,
        consent: Arc<ConsentPart>,
        gate: Arc<GatePart>,
        referral: Option<Arc<ReferralPart>>,
        ledger: Arc<dyn ConsentLedger>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            base_path,
            record_ip,
            served,
            consent,
            gate,
            referral,
            ledger,
            clock,
        }
    }

    /// The part of the path below the base, when the request is for the endpoint.
    pub(crate) fn route<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.base_path.as_str())?;
        (rest.is_empty() || rest.starts_with('/')).then_some(rest)
    }

    /// Answers a request for `rest` below the base path, rendering with `page`.
    pub(crate) fn handle<B>(
        self: &Arc<Self>,
        page: Page,
        request: Request<B>,
        mut rest: String,
    ) -> EndpointFuture
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let endpoint = Arc::clone(self);
        rest.truncate(rest.trim_end_matches('/').len());
        Box::pin(async move {
            let method = request.method().clone();
            match (rest.as_str(), &method) {
                ("", &Method::GET) => {
                    let frame_csp = !endpoint.gate.csp_enforced();
                    Reply::plain(state_or_page(&page, &request, frame_csp))
                }
                ("", &Method::POST) => endpoint.decide_request(&page, request).await,
                ("", &Method::DELETE) => endpoint.withdraw(&page, request).await,
                ("", _) => Reply::plain(not_allowed("GET, POST, DELETE")),
                ("/declaration", &Method::GET) => Reply::plain(declaration(&page)),
                ("/records", &Method::GET) => Reply::plain(endpoint.own_records(&page).await),
                ("/banner.css", &Method::GET) => Reply::plain(stylesheet()),
                ("/declaration" | "/records" | "/banner.css", _) => {
                    Reply::plain(not_allowed("GET"))
                }
                (path, &Method::GET) => Reply::plain(asset(path).unwrap_or_else(not_found)),
                _ => Reply::plain(not_found()),
            }
        })
    }
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

/// The state as JSON, or the settings page for browsers; `frame_csp` adds a CSP of
/// `frame-ancestors 'self'` alone (when the layer sends no enforced CSP of its own).
fn state_or_page<B>(page: &Page, request: &Request<B>, frame_csp: bool) -> Response<Bytes> {
    let return_to = safe_return_to(query_param(request, "return_to").as_deref());
    let consent = page.consent();
    if !wants_html(request) {
        return json(StatusCode::OK, &consent.state().to_json(consent.policy()));
    }
    let html = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n</head>\n<body>\n<main>\n{form}{records}</main>\n</body>\n</html>\n",
        lang = escape(page.language()),
        title = escape(page.settings_title()),
        form = page.settings_html(&return_to),
        records = page.records_html(),
    );
    let mut response = respond(StatusCode::OK, "text/html; charset=utf-8", html);
    // The settings page changes consent with one click: never inside another site's frame,
    // whether or not the app sends a CSP of its own.
    let headers = response.headers_mut();
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
    if frame_csp {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'self'"),
        );
    }
    response
}

fn declaration(page: &Page) -> Response<Bytes> {
    let mut response = json(StatusCode::OK, &page.declaration_json());
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}

/// A banner file under its content-hashed name, cached for good.
fn asset(path: &str) -> Option<Response<Bytes>> {
    let (bytes, content_type) = assets::get(path.strip_prefix('/')?)?;
    Some(immutable(respond(
        StatusCode::OK,
        content_type,
        Bytes::from_static(bytes),
    )))
}

/// The stylesheet under its plain name, for pages written before the hashed name.
fn stylesheet() -> Response<Bytes> {
    let mut response = respond(StatusCode::OK, "text/css; charset=utf-8", assets::CSS);
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    response
}

/// Fetch metadata: what the response is for (`empty` for a script's `fetch`).
const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// Where a decision came from, as the request shows it (never as the client claims): a
/// form post is the no-JavaScript form; a request with the fetch metadata browsers add to
/// a page script's `fetch` (`Sec-Fetch-Dest: empty`, which scripts cannot set) is the
/// banner or another script on the site's pages; anything else is an API call.
fn source_of<B>(request: &Request<B>, form: bool) -> Source {
    if form {
        Source::Form
    } else if request
        .headers()
        .get(SEC_FETCH_DEST)
        .is_some_and(|dest| dest.as_bytes() == b"empty")
    {
        Source::Banner
    } else {
        Source::Api
    }
}

impl Endpoint {
    fn cross_site<B>(&self, request: &Request<B>) -> Option<Response<Bytes>> {
        (!same_origin(request.headers(), request.uri(), self.served)).then(|| {
            error(
                StatusCode::FORBIDDEN,
                "cross_site",
                "consent can only be changed from this site",
            )
        })
    }

    async fn decide_request<B>(&self, page: &Page, request: Request<B>) -> Reply
    where
        B: Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        if let Some(forbidden) = self.cross_site(&request) {
            return Reply::plain(forbidden);
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
        let ip = self.client_ip(&request);
        let form = content_type.as_deref() == Some("application/x-www-form-urlencoded");
        let source = source_of(&request, form);
        let parse: fn(&[u8]) -> Result<Parsed, Rejection> = match content_type.as_deref() {
            Some("application/json") => parse_json,
            _ if form => parse_form,
            _ => {
                return Reply::plain(error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send application/json or application/x-www-form-urlencoded",
                ));
            }
        };
        let parsed = match read_body(request).await.and_then(|body| parse(&body)) {
            Ok(parsed) => parsed,
            Err(rejection) => return Reply::plain(rejection.into_response()),
        };
        let consent = page.consent();
        let policy = consent.policy();
        if parsed
            .revision
            .is_some_and(|revision| revision != policy.revision())
        {
            // The visitor saw another revision of the policy: nothing is applied.
            if let Some(back) = parsed.return_to {
                return Reply::redirect(&back);
            }
            let mut body = consent.state().to_json(policy);
            body["error"] = "stale_revision".into();
            body["message"] =
                "the policy changed since it was shown; nothing was applied, show it again".into();
            return Reply::plain(json(StatusCode::CONFLICT, &body));
        }
        let mask = match self.consent.requested(consent.state(), &parsed.choice) {
            Ok(mask) => mask,
            Err(unknown) => {
                return Reply::plain(
                    bad_request(&format!("unknown category {unknown:?}")).into_response(),
                );
            }
        };
        // A pending referral that does not verify is ignored, like an unknown `ref`.
        let referral = parsed.referral.as_deref().and_then(|token| {
            self.referral
                .as_ref()
                .and_then(|referral| referral.open_pending(token))
        });
        let decision = Decision {
            mask,
            source,
            return_to: parsed.return_to,
            ip,
            referral,
        };
        self.decide(consent.state(), decision).await
    }

    async fn withdraw<B>(&self, page: &Page, request: Request<B>) -> Reply {
        if let Some(forbidden) = self.cross_site(&request) {
            return Reply::plain(forbidden);
        }
        let source = source_of(&request, false);
        let mask = self.consent.policy().necessary_mask();
        let ip = self.client_ip(&request);
        drop(request);
        let decision = Decision {
            mask,
            source,
            return_to: None,
            ip,
            referral: None,
        };
        self.decide(page.consent().state(), decision).await
    }

    /// The visitor's own records (GDPR Art. 15), found by the consent id in their signed
    /// cookie and by nothing the request could claim.
    async fn own_records(&self, page: &Page) -> Response<Bytes> {
        let Some(id) = page.consent().state().id() else {
            return error(
                StatusCode::NOT_FOUND,
                "no_consent_id",
                "this browser holds no signed consent decision, so it has no records",
            );
        };
        match self.ledger.history(&id).await {
            Ok(records) => json(
                StatusCode::OK,
                &serde_json::json!({ "id": id, "records": records }),
            ),
            Err(LedgerError::Unsupported(_)) => error(
                StatusCode::NOT_IMPLEMENTED,
                "not_supported",
                "this site's consent ledger cannot look records up",
            ),
            Err(failure) => {
                tracing::error!(error = %failure, "consent records could not be read");
                retry_soon(error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "ledger_unavailable",
                    "the consent records cannot be read just now",
                ))
            }
        }
    }

    fn client_ip<B>(&self, request: &Request<B>) -> Option<String> {
        if !self.record_ip {
            return None;
        }
        request
            .extensions()
            .get::<ClientIp>()
            .map(|ip| truncate_ip(ip.0))
    }

    /// Records a decision in the ledger, then applies it. If the ledger fails, grants are not
    /// applied (503) but denials are.
    async fn decide(&self, current: &ConsentState, decision: Decision) -> Reply {
        let Decision {
            mask,
            source,
            return_to,
            ip,
            referral,
        } = decision;
        let policy = self.consent.policy();
        if current.decided && mask == current.granted {
            // The same decision again from the same consent id: nothing new to prove, so
            // nothing is recorded (a repeated post cannot grow the ledger) and the signed
            // cookie stays as it is.
            let response = self.decision_response(current, None, true, return_to, 0);
            return Reply::plain(response);
        }
        let now = self.clock.now();
        let from = current.deciding();
        let decided = |granted: u64| self.consent.decided(&from, granted, now);
        let record = LedgerRecord {
            consent_id: from.id().unwrap_or_default(),
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
            purpose: None,
            subject: None,
        };
        let written = self.ledger.append(&record).await;
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
        let response =
            self.decision_response(current, applied.as_ref(), ok, return_to, newly_granted);
        Reply {
            response,
            update: applied.map(|consent| Update { consent, referral }),
        }
    }

    /// The answer to a decision: 303 back for forms, the state as JSON otherwise; 503 when a
    /// grant could not be recorded.
    fn decision_response(
        &self,
        current: &ConsentState,
        applied: Option<&ConsentState>,
        ok: bool,
        return_to: Option<String>,
        newly_granted: u64,
    ) -> Response<Bytes> {
        let policy = self.consent.policy();
        let shown = applied.unwrap_or(current);
        match (ok, return_to) {
            (true, Some(back)) => see_other(&back),
            (true, None) => {
                let reload = self.gate.csp_enabled()
                    && Granted::new(policy, newly_granted)
                        .definitions()
                        .any(|def| !def.origins().is_empty());
                let mut body = shown.to_json(policy);
                body["reload"] = reload.into();
                json(StatusCode::OK, &body)
            }
            (false, Some(_)) => retry_soon(respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "text/html; charset=utf-8",
                "<!doctype html><title>Try again</title><p>Your choice could not be recorded. \
                 Nothing was switched on. Please go back and try again.</p>",
            )),
            (false, None) => {
                let mut body = shown.to_json(policy);
                body["error"] = "ledger_unavailable".into();
                body["message"] =
                    "the decision could not be recorded; grants were not applied".into();
                retry_soon(json(StatusCode::SERVICE_UNAVAILABLE, &body))
            }
        }
    }
}

/// A decision to record and apply.
struct Decision {
    mask: u64,
    source: Source,
    return_to: Option<String>,
    ip: Option<String>,
    referral: Option<Touchpoint>,
}
