//! What the integration tests share.

use http::{HeaderMap, Response, StatusCode};
use http_body::Body;
use http_body_util::BodyExt as _;

/// A response read whole: status, headers, body text.
pub(crate) async fn read<B>(response: Response<B>) -> (StatusCode, HeaderMap, String)
where
    B: Body,
    B::Error: std::fmt::Debug,
{
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}
