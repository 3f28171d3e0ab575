//! The least any session layer does for a handler: hand it per-request values through the
//! request's extensions (as consentry and tower-sessions both do), and, for a page with a
//! nonce'd Content-Security-Policy, send a header with a fresh nonce. Nothing is parsed,
//! verified, stored or decided. The benchmarks run it beside the real layers, so a target
//! can be read against what the handoff alone costs in the same run.

use std::sync::Arc;

use consentry::internals::{CSP_NONCE_LEN, CspFill};
use http::{HeaderValue, Request, Response, header::CONTENT_SECURITY_POLICY};
use tower::{Service, ServiceExt as _};

/// One value handed to the handler: a reference-counted pointer, the size of consentry's
/// `Session`; `KIND` makes each of up to four values its own type, as `Session`, `Consent`,
/// `Page` and `Referral` are.
#[derive(Clone, Debug)]
pub struct Handle<const KIND: u8>(pub Arc<u64>);

/// A CSP header's text around its nonces, for [`handoff`] to fill in per response as the
/// layer fills its own (`consentry::internals::CspFill`).
#[derive(Clone)]
pub struct CspTemplate {
    fill: Arc<CspFill>,
}

impl CspTemplate {
    /// The template of a real header: every `'nonce-…'` value in `header` becomes a place
    /// for a fresh nonce of the same length.
    ///
    /// ```
    /// use consentry_benches::handoff::CspTemplate;
    ///
    /// let template = CspTemplate::from_header("script-src 'nonce-AAAAAAAAAAAAAAAAAAAAAA'");
    /// let filled = template.fill();
    /// assert!(filled.starts_with(b"script-src 'nonce-"));
    /// assert_eq!(filled.len(), 41);
    /// assert_ne!(filled, template.fill(), "every fill has a fresh nonce");
    /// ```
    ///
    /// # Panics
    /// When a nonce in `header` is shorter than consentry's.
    #[must_use]
    pub fn from_header(header: &str) -> Self {
        let mut pieces = Vec::new();
        let mut rest = header;
        while let Some(at) = rest.find("'nonce-") {
            let start = at + "'nonce-".len();
            pieces.push(rest[..start].to_owned());
            assert!(
                rest.len() >= start + CSP_NONCE_LEN,
                "a nonce of {CSP_NONCE_LEN} characters"
            );
            rest = &rest[start + CSP_NONCE_LEN..];
        }
        pieces.push(rest.to_owned());
        Self {
            fill: Arc::new(CspFill::new(pieces)),
        }
    }

    /// The header's bytes with a fresh nonce in each place.
    #[must_use]
    pub fn fill(&self) -> Vec<u8> {
        self.fill.fill()
    }
}

/// `inner` behind the handoff alone: `values` (1 to 4) handles of distinct types put into
/// each request's extensions and, with `csp`, a `Content-Security-Policy` filled with a fresh
/// nonce on each response.
///
/// ```
/// use consentry_benches::handoff::{Handle, handoff};
/// use tower::ServiceExt as _;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let app = tower::service_fn(|request: http::Request<()>| async move {
///     let handed = request.extensions().get::<Handle<0>>().is_some();
///     Ok::<_, std::convert::Infallible>(http::Response::new(handed))
/// });
/// let response = handoff(app, 1, None).oneshot(http::Request::new(())).await.unwrap();
/// assert!(*response.body());
/// # });
/// ```
///
/// # Panics
/// When `values` is not 1 to 4.
pub fn handoff<S, B, R>(
    inner: S,
    values: u8,
    csp: Option<CspTemplate>,
) -> impl Service<Request<B>, Response = Response<R>, Error = S::Error> + Clone
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
{
    assert!((1..=4).contains(&values), "one to four values");
    let handle = Arc::new(0u64);
    inner
        .map_request(move |mut request: Request<B>| {
            let extensions = request.extensions_mut();
            extensions.insert(Handle::<0>(Arc::clone(&handle)));
            if values > 1 {
                extensions.insert(Handle::<1>(Arc::clone(&handle)));
            }
            if values > 2 {
                extensions.insert(Handle::<2>(Arc::clone(&handle)));
            }
            if values > 3 {
                extensions.insert(Handle::<3>(Arc::clone(&handle)));
            }
            request
        })
        .map_response(move |mut response: Response<R>| {
            if let Some(csp) = &csp {
                let value = HeaderValue::try_from(csp.fill()).expect("a valid header");
                response
                    .headers_mut()
                    .insert(CONTENT_SECURITY_POLICY, value);
            }
            response
        })
}
