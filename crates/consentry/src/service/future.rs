//! [`ResponseFuture`]: the response side of the middleware.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::SET_COOKIE;
use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use super::{ConsentryBody, Reads, Shared, caching};
use crate::clock::Moment;
use crate::endpoint::{EndpointFuture, Update};
use crate::session::Work;

pin_project! {
    /// The response future of [`ConsentryService`](crate::ConsentryService): the inner
    /// future (or the consent endpoint), then, only when the session changed, the store
    /// write, then each part's response side. Not boxed on the app's path.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        reads: Reads,
        shared: Arc<Shared>,
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(super) fn new(state: State<F, B>, reads: Reads, shared: Arc<Shared>) -> Self {
        Self {
            state,
            reads,
            shared,
        }
    }
}

pin_project! {
    #[project = StateProj]
    pub(super) enum State<F, B> {
        Inner { #[pin] future: F },
        Endpoint { future: EndpointFuture },
        Persist {
            // `None` when the session needs no store work.
            work: Option<Work>,
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
    pub(super) fn inner(future: F) -> Self {
        Self::Inner { future }
    }

    pub(super) fn endpoint(future: EndpointFuture) -> Self {
        Self::Endpoint { future }
    }

    /// After the app (or the endpoint) answered: the session's response side, as store work
    /// and the cookie for each outcome.
    fn persist(
        response: Response<ConsentryBody<B>>,
        update: Option<Update>,
        reads: &Reads,
        moment: &Moment<'_>,
    ) -> Self {
        let Some(session) = &reads.session else {
            return Self::Persist {
                work: None,
                response: Some(response),
                update,
                best_effort: false,
                on_success: None,
                on_gone: None,
            };
        };
        let Some(plan) = session.respond(moment) else {
            return Self::Persist {
                work: None,
                response: Some(session.unavailable().map(ConsentryBody::full)),
                update,
                best_effort: false,
                on_success: None,
                on_gone: None,
            };
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
                    let moment = Moment::read(&*this.shared.clock, this.reads.now);
                    let next = State::persist(
                        response.map(ConsentryBody::inner),
                        None,
                        this.reads,
                        &moment,
                    );
                    this.reads.now = moment.taken();
                    next
                }
                StateProj::Endpoint { future } => {
                    let reply = ready!(future.as_mut().poll(cx));
                    let moment = Moment::read(&*this.shared.clock, this.reads.now);
                    let next = State::persist(
                        reply.response.map(ConsentryBody::full),
                        reply.update,
                        this.reads,
                        &moment,
                    );
                    this.reads.now = moment.taken();
                    next
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
                        Some(work) => Some(ready!(work.poll(cx))),
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
                            if let Some(session) = &this.reads.session {
                                response = session.unavailable().map(ConsentryBody::full);
                            }
                            None
                        }
                    };
                    let update = update.take();
                    let renewal = *best_effort;
                    this.state.set(State::Done);
                    respond(
                        this.shared,
                        this.reads,
                        update.as_ref(),
                        SessionCookie { cookie, renewal },
                        &mut response,
                    );
                    if let Some(session) = this.reads.session.take() {
                        session.recycle();
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            };
            this.state.set(next);
        }
    }
}

/// The session's `Set-Cookie`, if any, and whether it only renews a session nothing changed.
struct SessionCookie {
    cookie: Option<HeaderValue>,
    renewal: bool,
}

/// The parts' response sides, in a fixed order: the gate (filter, withdrawn cookies,
/// CSP), the consent cookie, the referral cookie, the session cookie; then the caching
/// rule for cookies.
fn respond<B>(
    shared: &Shared,
    reads: &Reads,
    update: Option<&Update>,
    session: SessionCookie,
    response: &mut Response<B>,
) {
    let headers = response.headers_mut();
    if let (Some(side), Some((consent, gate))) = (&shared.consent, &reads.consent) {
        let state = update.map_or(&consent.state, |u| &u.consent);
        let granted = state.granted_in(side.consent.policy());
        side.gate.respond(gate, granted, headers);
        side.consent
            .respond(consent, update.map(|u| &u.consent), headers);
        if let (Some(part), Some(read)) = (&shared.referral, &reads.referral) {
            let moment = Moment::read(&*shared.clock, reads.now);
            part.respond(
                read,
                update.and_then(|u| u.referral),
                granted,
                &moment,
                headers,
            );
        }
    }
    if let Some(cookie) = session.cookie {
        // A renewal waits for a response no shared cache keeps (a later page), so that a
        // public asset stays public.
        if !(session.renewal && caching::shared(headers)) {
            headers.append(SET_COOKIE, cookie);
        }
    }
    if headers.contains_key(SET_COOKIE) {
        caching::keep_private(headers);
    }
}
