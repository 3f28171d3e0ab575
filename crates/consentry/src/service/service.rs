//! [`ConsentryService`]: the request side of the middleware.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::ACCEPT_LANGUAGE;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::future::{ResponseFuture, State};
use super::{ConsentSide, ConsentryBody, Reads, Shared};
use crate::BoxError;
use crate::clock::Moment;
use crate::cookies::RequestCookies;
use crate::endpoint::Reply;
use crate::referral::{ReferralPart, ReferralRead};
use crate::render::Page;

/// The service [`ConsentryLayer`](crate::ConsentryLayer) wraps around an app.
#[derive(Clone)]
pub struct ConsentryService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> ConsentryService<S> {
    pub(super) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The wrapped app.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped app, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped app, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: std::fmt::Debug> std::fmt::Debug for ConsentryService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentryService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
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

    /// Each part reads the request (cookies parsed once), then the consent endpoint, a
    /// clean-URL redirect or the app answers it.
    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let reads = {
            let (method, uri, headers) = (request.method(), request.uri(), request.headers());
            let cookies = RequestCookies::parse(headers);
            let moment = Moment::new(&*shared.clock);
            let consent = (shared.consent.as_ref()).map(|side| {
                (
                    side.consent.read(headers, &cookies, &moment),
                    side.gate.read(&cookies),
                )
            });
            // Referral is configured only beside consent; a stored referral counts only
            // while its category is granted.
            let referral = (shared.referral.as_ref())
                .zip(shared.consent.as_ref().zip(consent.as_ref()))
                .map(|(part, (side, (consent, _)))| {
                    let granted = consent.state.granted_in(side.consent.policy());
                    part.read(method, uri, headers, &cookies, granted, &moment)
                });
            let session = (shared.session.as_ref()).map(|part| part.read(&cookies, &moment));
            Reads {
                now: moment.taken(),
                session,
                consent,
                referral,
            }
        };
        let extensions = request.extensions_mut();
        if let Some(session) = &reads.session {
            extensions.insert(session.clone());
        }
        if let Some(current) = reads
            .referral
            .as_ref()
            .and_then(|read| read.current.clone())
        {
            extensions.insert(current);
        }
        let state = match (&shared.consent, &reads.consent) {
            (Some(side), Some((consent, gate))) => {
                let granted = consent.state.granted_in(side.consent.policy());
                let referral = shared.referral.as_deref().zip(reads.referral.as_ref());
                let pending = referral.and_then(|(part, read)| part.pending_token(read, granted));
                let language = request.headers().get(ACCEPT_LANGUAGE);
                let page = Page::new(
                    Arc::clone(&side.renderer),
                    side.consent.handle(consent.state.clone()),
                    gate.nonce,
                    side.renderer
                        .negotiate(language.and_then(|v| v.to_str().ok())),
                    pending,
                    request.uri(),
                );
                consent_route(&mut self.inner, side, referral, page, request)
            }
            _ => State::inner(self.inner.call(request)),
        };
        ResponseFuture::new(state, reads, shared)
    }
}

/// The consent endpoint, a clean-URL redirect, or the app with [`Consent`](crate::Consent)
/// and [`Page`] in its request extensions.
fn consent_route<S, ReqBody, ResBody>(
    inner: &mut S,
    side: &ConsentSide,
    referral: Option<(&ReferralPart, &ReferralRead)>,
    page: Page,
    mut request: Request<ReqBody>,
) -> State<S::Future, ResBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ReqBody: Body + Send + 'static,
    ReqBody::Data: Send,
    ReqBody::Error: Into<BoxError>,
{
    if let Some(rest) = side.endpoint.route(request.uri().path()).map(str::to_owned) {
        return State::endpoint(side.endpoint.handle(page, request, rest));
    }
    let granted = page.consent().granted_view();
    let clean = referral
        .and_then(|(part, read)| part.clean_url(read, granted, request.method(), request.uri()));
    if let Some(location) = clean {
        return State::endpoint(Box::pin(std::future::ready(Reply::redirect(&location))));
    }
    request.extensions_mut().insert(page.consent().clone());
    request.extensions_mut().insert(page);
    State::inner(inner.call(request))
}
