//! Testing an app behind the layer without a network (feature `testing`): a [`Client`]
//! with a cookie jar, and the store [`conformance`](crate::store::conformance) suite.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use http::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt as _, Full};
use tower_service::Service;

/// An in-process HTTP client for an app (any `tower` service), like a browser with one
/// cookie jar on one site: it sends the jar's cookies, stores what `Set-Cookie` sets and
/// deletes what it expires, and marks state-changing requests as same-origin (`Origin`
/// and `Sec-Fetch-Site: same-origin`), as a browser page of the site would.
///
/// The jar keys cookies by name only (one host, every path); attributes other than
/// `Max-Age` and `Expires` are not interpreted.
///
/// ```
/// use consentry::testing::Client;
/// use consentry::{Consentry, Key, Keyring, Session, SessionConfig, SessionError};
/// use consentry::store::MemoryStore;
/// use http::{Request, Response};
/// use http_body_util::Full;
/// use bytes::Bytes;
/// use tower::{Layer as _, service_fn};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let layer = Consentry::builder(Keyring::new(1, Key::generate()))
///     .session(SessionConfig::new(MemoryStore::new()))
///     .build()
///     .unwrap();
/// let app = layer.layer(service_fn(|request: Request<Full<Bytes>>| async move {
///     let session = request.extensions().get::<Session>().cloned().unwrap();
///     let visits: u64 = session.get("visits").await?.unwrap_or(0) + 1;
///     session.insert("visits", &visits).await?;
///     Ok::<_, SessionError>(Response::new(visits.to_string()))
/// }));
///
/// let client = Client::new(app);
/// assert_eq!(client.get("/").await.text(), "1");
/// assert!(client.cookie("__Host-sid").is_some());
/// assert_eq!(client.get("/").await.text(), "2", "the jar sends the session cookie back");
/// # });
/// ```
#[derive(Debug)]
pub struct Client<S> {
    service: S,
    host: String,
    jar: Mutex<Vec<(String, String)>>,
}

/// A response read whole, with helpers for what tests check.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl<S> Client<S> {
    /// A client for `service`, on host `example.test` (`https://example.test` is its
    /// origin).
    pub fn new(service: S) -> Self {
        Self {
            service,
            host: "example.test".to_owned(),
            jar: Mutex::new(Vec::new()),
        }
    }

    /// Sends requests to `host` (the `Host` header; the origin is `https://<host>`).
    #[must_use]
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The jar's value of cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.jar()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Every cookie in the jar, as `(name, value)`.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.jar().clone()
    }

    /// Puts a cookie in the jar (or replaces it), as if a page script had set it.
    pub fn set_cookie(&self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let mut jar = self.jar();
        jar.retain(|(n, _)| *n != name);
        jar.push((name, value.into()));
    }

    /// Removes a cookie from the jar.
    pub fn remove_cookie(&self, name: &str) {
        self.jar().retain(|(n, _)| n != name);
    }

    /// Empties the jar, like a new browser profile.
    pub fn clear_cookies(&self) {
        self.jar().clear();
    }

    fn jar(&self) -> std::sync::MutexGuard<'_, Vec<(String, String)>> {
        self.jar.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request builder for `method` and `path` with this client's `Host`, plus `Origin`
    /// and `Sec-Fetch-Site: same-origin` for methods that change state.
    pub fn request(&self, method: &Method, path: &str) -> http::request::Builder {
        let mut builder = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(HOST, self.host.as_str());
        if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            builder = builder
                .header(ORIGIN, format!("https://{}", self.host))
                .header("sec-fetch-site", "same-origin");
        }
        builder
    }

    fn store(&self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let Some(cookie) = value
                .to_str()
                .ok()
                .and_then(|text| cookie::Cookie::parse(text.to_owned()).ok())
            else {
                continue;
            };
            let expired = cookie
                .max_age()
                .map(|age| age <= cookie::time::Duration::ZERO)
                .or_else(|| {
                    cookie
                        .expires_datetime()
                        .map(|at| at <= cookie::time::OffsetDateTime::now_utc())
                })
                .unwrap_or(false);
            if expired {
                self.remove_cookie(cookie.name());
            } else {
                self.set_cookie(cookie.name(), cookie.value());
            }
        }
    }
}

impl<S, B> Client<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone,
    S::Error: std::fmt::Debug,
    B: Body,
    B::Error: std::fmt::Debug,
{
    /// Sends `request`. Unless it carries its own `Cookie` header (a test forging one), the
    /// jar's cookies go with it; the response's `Set-Cookie` headers update the jar.
    ///
    /// # Panics
    /// When the service fails or its body cannot be read: in a test, a failure.
    pub async fn send(&self, mut request: Request<Full<Bytes>>) -> TestResponse {
        if !request.headers().contains_key(COOKIE) {
            let pairs: Vec<String> = self
                .jar()
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            if let (false, Ok(value)) = (pairs.is_empty(), HeaderValue::try_from(pairs.join("; ")))
            {
                request.headers_mut().insert(COOKIE, value);
            }
        }
        let mut service = self.service.clone();
        std::future::poll_fn(|cx| service.poll_ready(cx))
            .await
            .expect("the service is ready");
        let response = service.call(request).await.expect("the service answers");
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .expect("the body is readable")
            .to_bytes();
        self.store(&parts.headers);
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Self::body(self.request(&Method::GET, path), Bytes::new()))
            .await
    }

    /// `POST path` with a form body (`application/x-www-form-urlencoded`).
    pub async fn post_form(&self, path: &str, form: &str) -> TestResponse {
        let request = self
            .request(&Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded");
        self.send(Self::body(request, Bytes::copy_from_slice(form.as_bytes())))
            .await
    }

    /// `POST path` with a JSON body.
    pub async fn post_json(&self, path: &str, json: &str) -> TestResponse {
        let request = self
            .request(&Method::POST, path)
            .header("content-type", "application/json");
        self.send(Self::body(request, Bytes::copy_from_slice(json.as_bytes())))
            .await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.send(Self::body(
            self.request(&Method::DELETE, path),
            Bytes::new(),
        ))
        .await
    }

    fn body(builder: http::request::Builder, body: Bytes) -> Request<Full<Bytes>> {
        builder
            .body(Full::new(body))
            .expect("the client's own requests are well formed")
    }
}

impl TestResponse {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    ///
    /// # Panics
    /// When the body is not JSON, with the body in the message.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|error| panic!("{error}: {}", self.text()))
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every `Set-Cookie` header.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The `Set-Cookie` header for `name`, whole.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.split_once('=').is_some_and(|(n, _)| n.trim() == name))
    }

    /// The value this response stores for cookie `name` (`None` when it sets none, or only
    /// expires it).
    pub fn new_cookie(&self, name: &str) -> Option<String> {
        let header = self.set_cookie(name)?;
        let cookie = cookie::Cookie::parse(header).ok()?;
        let expired = cookie
            .max_age()
            .is_some_and(|age| age <= cookie::time::Duration::ZERO);
        (!expired && !cookie.value().is_empty()).then(|| cookie.value().to_owned())
    }

    /// Whether this response expires cookie `name`.
    pub fn expires_cookie(&self, name: &str) -> bool {
        self.set_cookie(name)
            .and_then(|header| cookie::Cookie::parse(header).ok())
            .is_some_and(|cookie| {
                cookie
                    .max_age()
                    .is_some_and(|age| age <= cookie::time::Duration::ZERO)
            })
    }

    /// The `Location` header.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }
}
