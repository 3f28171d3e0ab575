//! The endpoint's answers: JSON errors, redirects, cache headers.

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};

pub(super) fn not_found() -> Response<Bytes> {
    error(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such consent resource",
    )
}

pub(super) fn respond(
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

pub(super) fn json(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    respond(status, "application/json", value.to_string())
}

pub(super) fn error(status: StatusCode, code: &str, message: &str) -> Response<Bytes> {
    json(
        status,
        &serde_json::json!({ "error": code, "message": message }),
    )
}

/// `response` as a `503 Service Unavailable` worth retrying in a few seconds.
pub(super) fn retry_soon(mut response: Response<Bytes>) -> Response<Bytes> {
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

pub(super) fn not_allowed(allow: &'static str) -> Response<Bytes> {
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

/// A response under a content-hashed name: cached for good.
pub(super) fn immutable(mut response: Response<Bytes>) -> Response<Bytes> {
    response.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}

pub(super) fn see_other(location: &str) -> Response<Bytes> {
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

/// A request the endpoint refuses, with its status and JSON error code.
pub(super) struct Rejection {
    pub(super) status: StatusCode,
    pub(super) code: &'static str,
    pub(super) message: String,
}

impl Rejection {
    pub(super) fn into_response(self) -> Response<Bytes> {
        error(self.status, self.code, &self.message)
    }
}

pub(super) fn bad_request(message: &str) -> Rejection {
    Rejection {
        status: StatusCode::BAD_REQUEST,
        code: "bad_request",
        message: message.to_owned(),
    }
}
