//! The tower [`Layer`], its [`Service`] and the unboxed [`ResponseFuture`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{ACCEPT_LANGUAGE, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::body::ConsentryBody;
use crate::consent::{CHOICE_COOKIE, Consent, ConsentRuntime};
use crate::cookies::RequestCookies;
use crate::endpoint::{self, EndpointFuture, Update};
use crate::error::BoxError;
use crate::gate::Gate;
use crate::referral::ReferralContext;
use crate::session::{Plan, Session, SessionRuntime};
use crate::store::StoreFuture;

/// What every request of one layer shares.
pub(crate) struct Shared {
    pub(crate) session: Option<Arc<SessionRuntime>>,
    pub(crate) consent: Option<Arc<ConsentRuntime>>,
}

/// The consentry middleware, built by [`Consentry::builder`](crate::Consentry::builder).
///
/// Cheap to clone; clones share configuration, stores and the ledger.
#[derive(Clone)]
pub struct ConsentryLayer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for ConsentryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentryLayer")
            .field("sessions", &self.shared.session.is_some())
            .field("consent", &self.shared.consent.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ConsentryLayer {
    type Service = ConsentryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConsentryService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service [`ConsentryLayer`] wraps around an app.
#[derive(Clone)]
pub struct ConsentryService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for ConsentryService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentryService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Consent facts of one request that the response needs.
struct ConsentContext {
    consent: Consent,
    /// Declared non-necessary cookies the request carried.
    present: Vec<(String, usize)>,
    choice_cookie: bool,
    referral: Option<ReferralContext>,
}

fn random_nonce() -> Arc<str> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system random generator failed");
    URL_SAFE_NO_PAD.encode(bytes).into()
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConsentryService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    type Response = Response<ConsentryBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let (session, consent) = {
            let headers = request.headers();
            let cookies = RequestCookies::parse(headers);
            let session = self
                .shared
                .session
                .as_ref()
                .map(|runtime| runtime.start(&cookies));
            let consent = self.shared.consent.as_ref().map(|runtime| {
                let evaluation = runtime.evaluate(&cookies, headers);
                let language = runtime
                    .config
                    .negotiate(headers.get(ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()));
                let referral = runtime.referral.as_ref().map(|referral| {
                    referral.evaluate(request.method(), request.uri(), headers, &cookies)
                });
                let pending_referral = match (&runtime.referral, &referral) {
                    (Some(referrals), Some(context)) => {
                        let allows = |category: &crate::Category| {
                            evaluation.state.allows_in(runtime.policy(), category)
                        };
                        referrals
                            .waiting(context, &allows)
                            .map(|touch| Arc::from(referrals.pending_token(&touch)))
                    }
                    _ => None,
                };
                ConsentContext {
                    referral,
                    consent: Consent {
                        pending_referral,
                        runtime: Arc::clone(runtime),
                        state: evaluation.state,
                        nonce: runtime.config.csp.is_some().then(random_nonce),
                        language: language.into(),
                    },
                    present: runtime.config.registry.present(&cookies),
                    choice_cookie: evaluation.choice_cookie,
                }
            });
            (session, consent)
        };
        if let Some(session) = &session {
            request.extensions_mut().insert(session.clone());
        }
        if let Some(referral) = consent
            .as_ref()
            .and_then(|context| context.referral.as_ref())
            .and_then(|referral| referral.current.clone())
        {
            request.extensions_mut().insert(referral);
        }
        let endpoint_path = consent.as_ref().and_then(|context| {
            endpoint::route(
                &context.consent.runtime.config.base_path,
                request.uri().path(),
            )
            .map(str::to_owned)
        });
        let state = if let (Some(context), Some(rest)) = (&consent, endpoint_path) {
            State::Endpoint {
                future: endpoint::handle(context.consent.clone(), request, rest),
            }
        } else if let Some(location) = consent
            .as_ref()
            .and_then(|context| clean_url(context, &request))
        {
            State::Endpoint {
                future: Box::pin(std::future::ready(endpoint::Reply {
                    response: endpoint::see_other(&location),
                    update: None,
                })),
            }
        } else {
            if let Some(context) = &consent {
                request.extensions_mut().insert(context.consent.clone());
            }
            State::Inner {
                future: self.inner.call(request),
            }
        };
        ResponseFuture {
            state,
            session,
            consent,
            shared: Arc::clone(&self.shared),
        }
    }
}

pin_project! {
    /// The response future of [`ConsentryService`]: the inner future (or the consent
    /// endpoint), then, only when the session changed, the store write. Not boxed on the
    /// app's path.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        session: Option<Session>,
        consent: Option<ConsentContext>,
        shared: Arc<Shared>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner { #[pin] future: F },
        Endpoint { future: EndpointFuture },
        Persist {
            // `None` when the session needs no store work.
            work: Option<StoreFuture<'static, bool>>,
            response: Option<Response<ConsentryBody<B>>>,
            update: Option<Update>,
            best_effort: bool,
            on_success: Option<HeaderValue>,
            on_gone: Option<HeaderValue>,
        },
        Done,
    }
}

impl<F, B> State<F, B> {
    /// After the app (or the endpoint) answered: the session's store work, if any.
    fn persist(
        response: Response<ConsentryBody<B>>,
        update: Option<Update>,
        session: Option<&Session>,
        shared: &Shared,
    ) -> Self {
        let plan = match session {
            Some(session) if session.failed() => {
                return Self::Persist {
                    work: None,
                    response: Some(unavailable(shared)),
                    update,
                    best_effort: false,
                    on_success: None,
                    on_gone: None,
                };
            }
            Some(session) => session.finish(),
            None => Plan::default(),
        };
        Self::Persist {
            work: plan.work,
            response: Some(response),
            update,
            best_effort: plan.best_effort,
            on_success: plan.on_success,
            on_gone: plan.on_gone,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ConsentryBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.state.as_mut().project() {
                StateProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    State::persist(
                        response.map(ConsentryBody::inner),
                        None,
                        this.session.as_ref(),
                        this.shared,
                    )
                }
                StateProj::Endpoint { future } => {
                    let reply = ready!(future.as_mut().poll(cx));
                    State::persist(
                        reply.response.map(ConsentryBody::full),
                        reply.update,
                        this.session.as_ref(),
                        this.shared,
                    )
                }
                StateProj::Persist {
                    work,
                    response,
                    update,
                    best_effort,
                    on_success,
                    on_gone,
                } => {
                    let outcome = match work {
                        Some(work) => Some(ready!(work.as_mut().poll(cx))),
                        None => None,
                    };
                    let mut response = response.take().expect("polled after completion");
                    let cookie = match outcome {
                        None | Some(Ok(true)) => on_success.take(),
                        Some(Ok(false)) => on_gone.take(),
                        Some(Err(error)) if *best_effort => {
                            tracing::warn!(%error, "session renewal skipped: store failed");
                            None
                        }
                        Some(Err(error)) => {
                            tracing::error!(%error, "session store failed; answering 503");
                            response = unavailable(this.shared);
                            None
                        }
                    };
                    let update = update.take();
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(finish(
                        response,
                        this.consent.as_ref(),
                        update.as_ref(),
                        cookie,
                    )));
                }
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            };
            this.state.set(next);
        }
    }
}

/// Applies the cookie gate, the layer's own cookies and the CSP.
fn finish<B>(
    mut response: Response<ConsentryBody<B>>,
    consent: Option<&ConsentContext>,
    update: Option<&Update>,
    session_cookie: Option<HeaderValue>,
) -> Response<ConsentryBody<B>> {
    let headers = response.headers_mut();
    if let Some(context) = consent {
        let runtime = &context.consent.runtime;
        let policy = runtime.policy();
        let state = update.map_or(&context.consent.state, |u| &u.state);
        let allows = |category: &crate::Category| {
            policy
                .bit(category)
                .is_some_and(|bit| state.granted & bit != 0)
        };
        let gate = Gate {
            registry: &runtime.config.registry,
            strict: runtime.config.strict,
            secure: !runtime.cookies.dev,
            allows: &allows,
        };
        gate.filter(headers);
        gate.delete_withdrawn(headers, &context.present);
        if let Some(update) = update {
            headers.append(SET_COOKIE, runtime.seal(&update.state, update.gpc));
            if context.choice_cookie {
                headers.append(
                    SET_COOKIE,
                    runtime.cookies.expire_script_cookie(CHOICE_COOKIE),
                );
            }
        }
        if let (Some(referrals), Some(referral)) = (&runtime.referral, &context.referral) {
            let pending = update.and_then(|u| u.referral);
            if let Some(cookie) = referrals.response_cookie(referral, pending, &allows) {
                headers.append(SET_COOKIE, cookie);
            }
        }
        if let (Some(csp), Some(nonce)) = (&runtime.config.csp, context.consent.nonce.as_deref()) {
            let name = csp.header_name();
            if !headers.contains_key(&name) {
                let origins: Vec<&str> = policy
                    .categories()
                    .iter()
                    .filter(|def| allows(def.category()))
                    .flat_map(|def| def.origins().iter().map(String::as_str))
                    .collect();
                if let Ok(value) = HeaderValue::try_from(csp.render(nonce, &origins)) {
                    headers.insert(name, value);
                }
            }
        }
    }
    if let Some(cookie) = session_cookie {
        headers.append(SET_COOKIE, cookie);
    }
    // A response that sets cookies must not be served from a shared cache to someone else.
    if headers.contains_key(SET_COOKIE) && !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
    response
}

/// The answer to a request whose session store failed.
fn unavailable<B>(shared: &Shared) -> Response<ConsentryBody<B>> {
    let retry_after = shared
        .session
        .as_ref()
        .map_or(Duration::from_secs(5), |runtime| runtime.retry_after());
    let mut response = Response::new(ConsentryBody::full(Bytes::from_static(
        br#"{"error":"session_store_unavailable","message":"The session store is unavailable; retry shortly."}"#,
    )));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// With clean URLs on, a `GET` that tagged a partner through a link and can store the
/// referral now is redirected to the same URL without the parameter.
fn clean_url<B>(context: &ConsentContext, request: &Request<B>) -> Option<String> {
    let referrals = context.consent.runtime.referral.as_ref()?;
    let referral = context.referral.as_ref()?;
    if !referrals.config.clean_urls || !referral.via_link || request.method() != http::Method::GET {
        return None;
    }
    let touch = referral.touched?;
    let category = &referrals.partner(touch.partner).category;
    if !context.consent.allows(category) {
        return None;
    }
    let param = referrals.config.param.as_str();
    let query = request.uri().query().unwrap_or_default();
    let kept: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key != param)
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let mut location = request.uri().path().to_owned();
    if !kept.is_empty() {
        location.push('?');
        location.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(kept)
                .finish(),
        );
    }
    Some(location)
}
