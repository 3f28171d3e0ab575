//! Extractors and error responses for axum (feature `axum`).

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::{StatusCode, header};

use crate::consent::Consent;
use crate::error::SessionError;
use crate::referral::Referral;
use crate::render::Page;
use crate::session::Session;

/// The rejection when a handler asks for a [`Session`], [`Consent`] or [`Page`] but no
/// [`ConsentryLayer`] with that part enabled is installed: a 500 that says so.
///
/// [`ConsentryLayer`]: crate::ConsentryLayer
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("no consentry layer with this part enabled is installed in front of this handler")]
pub struct MissingLayer;

impl IntoResponse for MissingLayer {
    fn into_response(self) -> Response {
        (StatusCode::INTERNAL_SERVER_ERROR, self.to_string()).into_response()
    }
}

/// ```
/// use axum::{Router, routing::get};
/// use consentry::{Session, SessionError};
///
/// async fn visits(session: Session) -> Result<String, SessionError> {
///     let n: u64 = session.get("visits").await?.unwrap_or(0) + 1;
///     session.insert("visits", &n).await?;
///     Ok(format!("visit {n}"))
/// }
/// let app: Router = Router::new().route("/", get(visits));
/// # let _ = app;
/// ```
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingLayer)
    }
}

/// ```
/// use consentry::{Category, Consent};
///
/// async fn page(consent: Consent) -> String {
///     format!("analytics allowed: {}", consent.allows(&Category::ANALYTICS))
/// }
/// ```
impl<S: Send + Sync> FromRequestParts<S> for Consent {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Consent>()
            .cloned()
            .ok_or(MissingLayer)
    }
}

/// ```
/// use consentry::Page;
///
/// async fn home(page: Page) -> String {
///     format!("<main>Hello</main>{}", page.banner_html())
/// }
/// ```
impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = MissingLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Page>().cloned().ok_or(MissingLayer)
    }
}

/// `Option<Referral>`: the partner the visitor came through, if any.
///
/// ```
/// use consentry::Referral;
///
/// async fn checkout(referral: Option<Referral>) -> String {
///     referral.map_or_else(|| "direct".to_owned(), |r| r.partner_name().to_owned())
/// }
/// ```
impl<S: Send + Sync> OptionalFromRequestParts<S> for Referral {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<Referral>().cloned())
    }
}

/// Store failures become 503 with the configured `Retry-After` (the layer would answer so
/// anyway); value errors become 500.
impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        match self {
            SessionError::Store { retry_after, .. } => (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, retry_after.as_secs().to_string())],
                "session store unavailable",
            )
                .into_response(),
            other => {
                tracing::error!(error = %other, "session value error");
                (StatusCode::INTERNAL_SERVER_ERROR, "session data error").into_response()
            }
        }
    }
}
