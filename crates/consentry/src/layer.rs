//! The tower [`Layer`], its [`Service`] and the unboxed [`ResponseFuture`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, SET_COOKIE};
use http::{HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use crate::body::ConsentryBody;
use crate::cookies::RequestCookies;
use crate::session::{Plan, Session, SessionRuntime};
use crate::store::StoreFuture;

/// What every request of one layer shares.
pub(crate) struct Shared {
    pub(crate) session: Option<Arc<SessionRuntime>>,
}

/// The consentry middleware, built by [`Consentry::builder`](crate::Consentry::builder).
///
/// Cheap to clone; clones share configuration and stores.
#[derive(Clone)]
pub struct ConsentryLayer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for ConsentryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsentryLayer")
            .field("sessions", &self.shared.session.is_some())
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ConsentryService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ConsentryBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let session = {
            let cookies = RequestCookies::parse(request.headers());
            self.shared
                .session
                .as_ref()
                .map(|runtime| runtime.start(&cookies))
        };
        if let Some(session) = &session {
            request.extensions_mut().insert(session.clone());
        }
        ResponseFuture {
            state: State::Inner {
                future: self.inner.call(request),
            },
            session,
            shared: Arc::clone(&self.shared),
        }
    }
}

pin_project! {
    /// The response future of [`ConsentryService`]: the inner future, then (only when the
    /// session changed) the store write. Not boxed.
    pub struct ResponseFuture<F, B> {
        #[pin]
        state: State<F, B>,
        session: Option<Session>,
        shared: Arc<Shared>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner { #[pin] future: F },
        Persist {
            work: StoreFuture<'static, bool>,
            response: Option<Response<B>>,
            best_effort: bool,
            on_success: Option<HeaderValue>,
            on_gone: Option<HeaderValue>,
        },
        Done,
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
            match this.state.as_mut().project() {
                StateProj::Inner { future } => {
                    let response = ready!(future.poll(cx))?;
                    let Some(session) = this.session.as_ref() else {
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(response.map(ConsentryBody::inner)));
                    };
                    if session.failed() {
                        this.state.set(State::Done);
                        return Poll::Ready(Ok(unavailable(this.shared)));
                    }
                    let Plan {
                        work,
                        best_effort,
                        on_success,
                        on_gone,
                    } = session.finish();
                    match work {
                        None => {
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(with_cookie(response, on_success)));
                        }
                        Some(work) => this.state.set(State::Persist {
                            work,
                            response: Some(response),
                            best_effort,
                            on_success,
                            on_gone,
                        }),
                    }
                }
                StateProj::Persist {
                    work,
                    response,
                    best_effort,
                    on_success,
                    on_gone,
                } => {
                    let outcome = ready!(work.as_mut().poll(cx));
                    let response = response.take().expect("polled after completion");
                    let cookie = match outcome {
                        Ok(true) => on_success.take(),
                        Ok(false) => on_gone.take(),
                        Err(error) if *best_effort => {
                            tracing::warn!(%error, "session renewal skipped: store failed");
                            None
                        }
                        Err(error) => {
                            tracing::error!(%error, "session store failed; answering 503");
                            this.state.set(State::Done);
                            return Poll::Ready(Ok(unavailable(this.shared)));
                        }
                    };
                    this.state.set(State::Done);
                    return Poll::Ready(Ok(with_cookie(response, cookie)));
                }
                StateProj::Done => panic!("ResponseFuture polled after completion"),
            }
        }
    }
}

fn with_cookie<B>(
    response: Response<B>,
    cookie: Option<HeaderValue>,
) -> Response<ConsentryBody<B>> {
    let mut response = response.map(ConsentryBody::inner);
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
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
