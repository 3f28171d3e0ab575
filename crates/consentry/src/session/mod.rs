//! Sessions: a signed `__Host-sid` cookie holding a random id and two timestamps, and a
//! server-side record reached through the [`Session`] handle.
//!
//! Sessions are lazy: a visitor gets no cookie until a handler stores something.

use std::cell::RefCell;
use std::fmt;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::HeaderValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

use bytes::Bytes;
use consentry_store::{
    Changes, ImmediateStore, Record, SessionKey, SessionStore, StoreError, StoreFuture,
};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::clock::{Clock, Moment};
use crate::codec::Codec;
use crate::cookies::{CookieSettings, RequestCookies};
use crate::error::SessionError;
use crate::keys::{Keyring, Purpose};
use crate::policy::{Category, DeclaredCookie};
use crate::random;

mod config;
pub use config::SessionConfig;

const ID_LEN: usize = 16;
/// An ordinary session's ticket: id and two times.
const BODY_LEN_V1: usize = ID_LEN + 8 + 8;
/// A remembered session's: with its lifetime in seconds.
const BODY_LEN: usize = BODY_LEN_V1 + 4;

/// How many ids' store keys a thread remembers ([`KEYS`]).
const KEY_SLOTS: usize = 64;

/// One of [`KEYS`]' slots: an id and its store key.
type KeySlot = Option<([u8; ID_LEN], SessionKey)>;

thread_local! {
    /// The store keys of the session ids this thread used lately, so a returning visitor's
    /// id is hashed once rather than on every request. Slots are picked by the id's first
    /// byte (ids are random); a slot holds an id and its key, a pure function of it, so
    /// another id in the same slot only means hashing again. Ids get here only from
    /// verified cookies or from this layer.
    static KEYS: RefCell<[KeySlot; KEY_SLOTS]> =
        const { RefCell::new([None; KEY_SLOTS]) };
}

/// What the session cookie says, once verified: nothing but an id, two times and, for a
/// remembered session, its lifetime.
#[derive(Clone, Copy)]
struct Ticket {
    id: [u8; ID_LEN],
    created: u64,
    last_seen: u64,
    /// Seconds this session lasts without a visit ("remember me"); 0: the configured limits.
    lifetime: u32,
}

impl Ticket {
    fn new(id: [u8; ID_LEN], created: u64, last_seen: u64, lifetime: u32) -> Self {
        Self {
            id,
            created,
            last_seen,
            lifetime,
        }
    }

    /// The store key: a hash of the id (computed when the store is used, not on every
    /// request that carries a cookie, and remembered per thread: [`KEYS`]).
    fn key(&self) -> SessionKey {
        let slot = usize::from(self.id[0]) % KEY_SLOTS;
        KEYS.with(|keys| {
            let mut keys = keys.borrow_mut();
            match &keys[slot] {
                Some((id, key)) if bool::from(id.ct_eq(&self.id)) => *key,
                _ => {
                    let key = SessionKey::from_digest(Sha256::digest(self.id).into());
                    keys[slot] = Some((self.id, key));
                    key
                }
            }
        })
    }

    fn random(now: u64) -> Self {
        Self::new(random::bytes::<ID_LEN>(), now, now, 0)
    }

    /// The cookie body: id and two times, and the lifetime only for a remembered session
    /// (so an ordinary session cookie stays as short as before).
    fn encode(&self) -> ([u8; BODY_LEN], usize) {
        let mut body = [0u8; BODY_LEN];
        body[..ID_LEN].copy_from_slice(&self.id);
        body[ID_LEN..ID_LEN + 8].copy_from_slice(&self.created.to_be_bytes());
        body[ID_LEN + 8..BODY_LEN_V1].copy_from_slice(&self.last_seen.to_be_bytes());
        if self.lifetime == 0 {
            return (body, BODY_LEN_V1);
        }
        body[BODY_LEN_V1..].copy_from_slice(&self.lifetime.to_be_bytes());
        (body, BODY_LEN)
    }

    fn decode(body: &[u8]) -> Option<Self> {
        if body.len() != BODY_LEN && body.len() != BODY_LEN_V1 {
            return None;
        }
        let id: [u8; ID_LEN] = body[..ID_LEN].try_into().ok()?;
        let created = u64::from_be_bytes(body[ID_LEN..ID_LEN + 8].try_into().ok()?);
        let last_seen = u64::from_be_bytes(body[ID_LEN + 8..BODY_LEN_V1].try_into().ok()?);
        let lifetime = match body.get(BODY_LEN_V1..) {
            Some(bytes) if bytes.len() == 4 => u32::from_be_bytes(bytes.try_into().ok()?),
            _ => 0,
        };
        Some(Self::new(id, created, last_seen, lifetime))
    }

    /// A non-secret identifier for logs: 16 hex digits of a hash of the store key (itself a
    /// hash of the secret id), which cannot be turned back into the cookie.
    fn log_id(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"consentry/v1/log-id")
            .chain_update(self.key().as_bytes())
            .finalize();
        digest[..8]
            .iter()
            .fold(String::with_capacity(16), |mut out, byte| {
                let _ = write!(out, "{byte:02x}");
                out
            })
    }
}

/// The session part of the layer: config, codec and cookie name. Its request side is
/// [`SessionPart::read`]; its response side is [`Session::respond`], a [`Plan`] the response
/// future carries out.
pub(crate) struct SessionPart {
    config: SessionConfig,
    codec: Codec,
    cookie_name: String,
    cookies: CookieSettings,
    clock: Arc<dyn Clock>,
}

impl SessionPart {
    pub(crate) fn new(
        config: SessionConfig,
        keyring: &Keyring,
        cookies: CookieSettings,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            cookie_name: cookies.scoped_name(&config.cookie_name, &config.scope),
            config,
            codec: Codec::new(keyring, Purpose::Session),
            cookies,
            clock,
        }
    }

    /// The session cookie, for the declaration.
    pub(crate) fn declares(&self) -> DeclaredCookie {
        DeclaredCookie::exact(self.cookie_name.clone(), Category::NECESSARY)
            .purpose(
                "Keeps your session (cart, login) on this site; holds only a random id and timestamps",
            )
            .duration("until the session ends (idle or absolute timeout)")
    }

    /// The answer to a request whose session store failed: 503 with the configured
    /// `Retry-After`.
    pub(crate) fn unavailable(&self) -> Response<Bytes> {
        let mut response = Response::new(Bytes::from_static(
            br#"{"error":"session_store_unavailable","message":"The session store is unavailable; retry shortly."}"#,
        ));
        *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let headers = response.headers_mut();
        headers.insert(RETRY_AFTER, self.config.retry_after.as_secs().into());
        headers.insert(
            CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(CACHE_CONTROL, http::HeaderValue::from_static("no-store"));
        response
    }

    fn store_error(&self, source: StoreError) -> SessionError {
        SessionError::Store {
            source,
            retry_after: self.config.retry_after,
        }
    }

    /// The deadline of a session: idle and absolute limits, whichever comes first. A
    /// remembered session's idle limit is its own lifetime, and its absolute limit
    /// [`SessionConfig::max_remember`].
    fn deadline(&self, ticket: &Ticket) -> u64 {
        let (idle, absolute) = if ticket.lifetime > 0 {
            (
                u64::from(ticket.lifetime),
                self.config.max_remember.as_secs(),
            )
        } else {
            (
                self.config.idle_timeout.as_secs(),
                self.config.absolute_lifetime.as_secs(),
            )
        };
        let idle = ticket.last_seen.saturating_add(idle);
        let absolute = ticket.created.saturating_add(absolute);
        idle.min(absolute)
    }

    /// The first cookie value that verifies and is within both limits, whether it was
    /// signed by a previous key, and whether any session cookie came at all.
    fn verify(
        &self,
        cookies: &RequestCookies<'_>,
        moment: &Moment<'_>,
    ) -> (Option<(Ticket, bool)>, bool) {
        let mut seen = false;
        for value in cookies.values(&self.cookie_name) {
            seen = true;
            let now = moment.now();
            let Ok(opened) = self.codec.open(&self.cookie_name, value, now) else {
                continue;
            };
            let Some(ticket) = Ticket::decode(&opened.body) else {
                continue;
            };
            if ticket.created <= ticket.last_seen
                && ticket.last_seen <= now
                && now < self.deadline(&ticket)
            {
                return (Some((ticket, !opened.by_primary)), true);
            }
        }
        (None, seen)
    }

    /// The request side: a session handle for a request carrying `cookies`.
    pub(crate) fn read(
        self: &Arc<Self>,
        cookies: &RequestCookies<'_>,
        moment: &Moment<'_>,
    ) -> Session {
        let (verified, seen) = self.verify(cookies, moment);
        let ticket = verified.map(|(ticket, _)| ticket);
        let cookie = match verified {
            Some((_, true)) => CookieSeen::ByPreviousKey,
            None if seen => CookieSeen::Stale,
            _ => CookieSeen::Fine,
        };
        let reused = SPARE
            .with(|spare| spare.borrow_mut().pop())
            .and_then(|mut inner| {
                // Only handles nothing else holds are kept, so this always succeeds.
                let slot = Arc::get_mut(&mut inner)?;
                // `recycle` left the state empty: only what this request brings is set.
                let state = slot.state.get_mut().unwrap_or_else(PoisonError::into_inner);
                state.ticket = ticket;
                state.cookie = cookie;
                slot.runtime = Some(Arc::clone(self));
                Some(inner)
            });
        let inner = reused.unwrap_or_else(|| {
            Arc::new(Inner {
                runtime: Some(Arc::clone(self)),
                state: Mutex::new(State {
                    ticket,
                    cookie,
                    ..State::default()
                }),
            })
        });
        Session { inner }
    }

    fn set_cookie(&self, ticket: &Ticket, now: u64) -> HeaderValue {
        let deadline = self.deadline(ticket);
        let (body, len) = ticket.encode();
        let value = self.codec.sealed(&self.cookie_name, deadline, &body[..len]);
        let lasting = !self.config.browser_session || ticket.lifetime > 0;
        self.cookies.set_scoped(
            &self.cookie_name,
            &value,
            lasting.then(|| Duration::from_secs(deadline.saturating_sub(now))),
            &self.config.scope,
        )
    }

    fn expire_cookie(&self) -> HeaderValue {
        self.cookies
            .expire_scoped(&self.cookie_name, &self.config.scope)
    }
}

/// A session begun in this request (lazily, or by [`Session::cycle_id`]).
struct Fresh {
    ticket: Ticket,
    base: Record,
}

/// The session cookie a request carried, as far as the response is concerned.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum CookieSeen {
    /// None, or a good one.
    #[default]
    Fine,
    /// One that is no longer good (forged, expired, logged out): deleted in the response.
    Stale,
    /// A good one signed by a previous key: renewed under the primary key.
    ByPreviousKey,
}

#[derive(Default)]
struct State {
    /// The live session the request's cookie names, if any.
    ticket: Option<Ticket>,
    /// Its record, once loaded.
    record: Option<Record>,
    /// A session created during this request.
    fresh: Option<Fresh>,
    changes: Changes,
    /// Records to delete (after `destroy` or `cycle_id`).
    doomed: Vec<SessionKey>,
    /// What to do about the session cookie the request carried.
    cookie: CookieSeen,
    /// The live session's lifetime changed ([`Session::remember_for`]): its cookie and
    /// deadline are written again.
    retimed: bool,
    /// A store operation failed during the request.
    failed: bool,
    /// `finish` ran; later changes cannot be saved.
    finished: bool,
}

struct Inner {
    /// Always set while a request uses it; `None` only while it waits in [`SPARE`].
    runtime: Option<Arc<SessionPart>>,
    state: Mutex<State>,
}

/// Most session states spare per thread ([`SPARE`]).
const SPARE_MAX: usize = 32;

thread_local! {
    /// Session states of finished requests that nothing else held, emptied, for the next
    /// requests on this thread: a request's session costs no allocation of its own. An
    /// entry holds no request data and no part ([`Session::recycle`]).
    static SPARE: RefCell<Vec<Arc<Inner>>> = const { RefCell::new(Vec::new()) };
}

/// The visitor's session, found in the request extensions (or extracted with the `axum`
/// feature).
///
/// Values are stored server-side as JSON; the cookie holds only a random id and
/// timestamps. Nothing is written until a handler inserts a value. Changes are saved when
/// the response passes back through the layer; if the store fails at any point, the
/// response becomes `503 Service Unavailable` with `Retry-After`.
///
/// ```
/// use consentry::{Session, SessionError};
///
/// async fn add_to_cart(session: Session, sku: String) -> Result<usize, SessionError> {
///     let mut cart: Vec<String> = session.get("cart").await?.unwrap_or_default();
///     cart.push(sku);
///     session.insert("cart", &cart).await?;
///     Ok(cart.len())
/// }
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Session")
            .field("active", &(state.ticket.is_some() || state.fresh.is_some()))
            .field("changed", &!state.changes.is_empty())
            .finish_non_exhaustive()
    }
}

impl Session {
    fn runtime(&self) -> &SessionPart {
        // Set by `SessionPart::read` before the handle is handed out; cleared only in
        // `recycle`, on the last handle.
        self.inner
            .runtime
            .as_deref()
            .expect("a session in use has its part")
    }

    /// Called by the layer once the response is out: when no other handle is left (the
    /// handler kept none), the state is emptied and kept for this thread's next request.
    pub(crate) fn recycle(mut self) {
        let Some(inner) = Arc::get_mut(&mut self.inner) else {
            return;
        };
        inner.runtime = None;
        *inner
            .state
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = State::default();
        SPARE.with(|spare| {
            let mut spare = spare.borrow_mut();
            if spare.len() < SPARE_MAX {
                spare.push(self.inner);
            }
        });
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn store(&self) -> &dyn SessionStore {
        &*self.runtime().config.store
    }

    /// Loads the record the cookie names, once per request. A record that is gone (logged
    /// out, expired) turns the request into one without a session.
    async fn load(&self) -> Result<(), SessionError> {
        let (id, key) = {
            let state = self.state();
            match (&state.ticket, &state.record) {
                (Some(ticket), None) => (ticket.id, ticket.key()),
                _ => return Ok(()),
            }
        };
        let store = self.store();
        let loaded = match store.immediate() {
            Some(at_once) => at_once.load_now(&key),
            None => store.load(&key).await,
        };
        let mut state = self.state();
        match loaded {
            Err(error) => {
                state.failed = true;
                tracing::warn!(%error, "session store failed to load a session");
                return Err(self.runtime().store_error(error));
            }
            Ok(record) => {
                if state.ticket.is_some_and(|ticket| ticket.id == id) && state.record.is_none() {
                    if let Some(record) = record {
                        state.record = Some(record);
                    } else {
                        state.ticket = None;
                        state.cookie = CookieSeen::Stale;
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether the visitor has a session: a valid cookie with a live record, or one begun
    /// in this request.
    pub async fn exists(&self) -> Result<bool, SessionError> {
        self.load().await?;
        let state = self.state();
        Ok(state.ticket.is_some() || state.fresh.is_some())
    }

    /// The value under `key`, or `None` when absent.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails; [`SessionError::Deserialize`] when the
    /// stored value is not a `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        self.load().await?;
        let state = self.state();
        let base = state
            .record
            .as_ref()
            .or(state.fresh.as_ref().map(|fresh| &fresh.base));
        let json = state.changes.resolve(key, base);
        json.map(|json| {
            serde_json::from_str(json).map_err(|source| SessionError::Deserialize {
                key: key.to_owned(),
                source,
            })
        })
        .transpose()
    }

    /// Stores `value` under `key`, beginning a session if the visitor has none.
    ///
    /// # Errors
    /// [`SessionError::Serialize`] when `value` does not serialize (nothing changes);
    /// [`SessionError::Store`] when the store fails.
    pub async fn insert<T: Serialize + ?Sized>(
        &self,
        key: &str,
        value: &T,
    ) -> Result<(), SessionError> {
        let json = serde_json::to_string(value).map_err(|source| SessionError::Serialize {
            key: key.to_owned(),
            source,
        })?;
        self.load().await?;
        let mut state = self.state();
        if state.ticket.is_none() && state.fresh.is_none() {
            let now = self.runtime().clock.now();
            state.fresh = Some(Fresh {
                ticket: Ticket::random(now),
                base: Record::new(),
            });
        }
        warn_if_finished(&state);
        state.changes.insert(key, json);
        Ok(())
    }

    /// Removes `key`. Does nothing when the visitor has no session.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn remove(&self, key: &str) -> Result<(), SessionError> {
        self.load().await?;
        let mut state = self.state();
        warn_if_finished(&state);
        if state.ticket.is_some() || state.fresh.is_some() {
            state.changes.remove(key);
        }
        Ok(())
    }

    /// Gives the session a new id, keeping its data, and retires the old id. Call it when
    /// privileges change (login), so an id planted before login is worthless after it.
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn cycle_id(&self) -> Result<(), SessionError> {
        self.load().await?;
        let now = self.runtime().clock.now();
        let mut state = self.state();
        if let Some(fresh) = state.fresh.as_mut() {
            fresh.ticket = Ticket {
                lifetime: fresh.ticket.lifetime,
                ..Ticket::random(now)
            };
        } else if let Some(ticket) = state.ticket.take() {
            let base = state.record.take().unwrap_or_default();
            state.doomed.push(ticket.key());
            state.fresh = Some(Fresh {
                ticket: Ticket {
                    lifetime: ticket.lifetime,
                    ..Ticket::random(now)
                },
                base,
            });
        }
        Ok(())
    }

    /// "Remember me": this session lasts `duration` without a visit (at most
    /// [`SessionConfig::max_remember`] in all, and `duration` is cut to that), with a lasting
    /// cookie even when the configuration asks for browser-session cookies. Begins a
    /// session if the visitor has none. Call it at login when the visitor ticks the box;
    /// [`Session::cycle_id`] keeps it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use consentry::{Session, SessionError};
    ///
    /// async fn log_in(session: Session, user: u64, remember: bool) -> Result<(), SessionError> {
    ///     session.cycle_id().await?;
    ///     session.insert("user", &user).await?;
    ///     if remember {
    ///         session.remember_for(Duration::from_secs(14 * 24 * 3600)).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    ///
    /// # Errors
    /// [`SessionError::Store`] when the store fails.
    pub async fn remember_for(&self, duration: Duration) -> Result<(), SessionError> {
        self.load().await?;
        let runtime = self.runtime();
        let longest = runtime.config.max_remember.min(duration).as_secs().max(1);
        let lifetime = u32::try_from(longest).unwrap_or(u32::MAX);
        let now = runtime.clock.now();
        let mut state = self.state();
        warn_if_finished(&state);
        if let Some(fresh) = state.fresh.as_mut() {
            fresh.ticket.lifetime = lifetime;
        } else if let Some(ticket) = state.ticket.as_mut() {
            ticket.lifetime = lifetime;
            state.retimed = true;
        } else {
            let mut ticket = Ticket::random(now);
            ticket.lifetime = lifetime;
            state.fresh = Some(Fresh {
                ticket,
                base: Record::new(),
            });
        }
        Ok(())
    }

    /// A non-secret identifier of the session for logs and support (16 hex digits), or
    /// `None` when the visitor has no session. It is derived from the session by a one-way
    /// hash: it names the session in a log line without letting anyone who reads the log
    /// use it. It changes with [`Session::cycle_id`].
    ///
    /// ```
    /// use consentry::Session;
    ///
    /// fn trace(session: &Session) {
    ///     tracing::info!(session = session.log_id().as_deref().unwrap_or("-"), "checkout");
    /// }
    /// ```
    pub fn log_id(&self) -> Option<String> {
        let state = self.state();
        state
            .fresh
            .as_ref()
            .map(|fresh| fresh.ticket)
            .or(state.ticket)
            .map(|ticket| ticket.log_id())
    }

    /// Ends the session: its record is deleted and the cookie expired, so a replay of the
    /// old cookie finds nothing. Values inserted afterwards begin a new session.
    pub fn destroy(&self) {
        let mut state = self.state();
        if let Some(ticket) = state.ticket.take() {
            state.doomed.push(ticket.key());
        }
        state.record = None;
        state.fresh = None;
        state.changes = Changes::default();
        state.cookie = CookieSeen::Stale;
    }

    /// The answer to a request whose session store failed.
    pub(crate) fn unavailable(&self) -> Response<Bytes> {
        self.runtime().unavailable()
    }

    /// The response side: turns the request's session activity into the store work and
    /// the cookie to send for each outcome; `None` when a store operation of this request
    /// failed (the response is then [`Session::unavailable`]). One lock for both answers.
    pub(crate) fn respond(&self, moment: &Moment<'_>) -> Option<Plan> {
        let runtime = self.runtime();
        let mut state = self.state();
        if state.failed {
            return None;
        }
        state.finished = true;
        if state.ticket.is_none() && state.fresh.is_none() && state.doomed.is_empty() {
            // No session, none begun, none ended: at most a bad cookie to delete.
            return Some(Plan {
                on_success: (state.cookie == CookieSeen::Stale).then(|| runtime.expire_cookie()),
                ..Plan::default()
            });
        }
        let doomed = std::mem::take(&mut state.doomed);
        let changes = std::mem::take(&mut state.changes);

        let store = &runtime.config.store;
        if let Some(Fresh { ticket, mut base }) = state.fresh.take() {
            // A session begun in this request is dated by its ticket: no second clock read.
            let now = ticket.created;
            changes.merge_into(&mut base);
            let deadline = runtime.deadline(&ticket);
            return Some(Plan {
                work: Some(
                    Job::Create {
                        key: ticket.key(),
                        record: base,
                        deadline,
                        doomed,
                    }
                    .start(store),
                ),
                best_effort: false,
                on_success: Some(runtime.set_cookie(&ticket, now)),
                on_gone: None,
            });
        }

        if let Some(ticket) = state.ticket {
            let now = moment.now();
            let due = state.cookie == CookieSeen::ByPreviousKey
                || state.retimed
                || now.saturating_sub(ticket.last_seen) >= runtime.config.refresh_interval();
            if changes.is_empty() && !due {
                return Some(Plan::default());
            }
            // The cookie (and the record's deadline with it) is renewed only once it is due,
            // so a busy session does not re-sign its cookie on every change.
            let kept = if due {
                Ticket {
                    last_seen: now,
                    ..ticket
                }
            } else {
                ticket
            };
            let best_effort = changes.is_empty() && !state.retimed;
            return Some(Plan {
                work: Some(
                    Job::Update {
                        key: kept.key(),
                        changes,
                        deadline: runtime.deadline(&kept),
                    }
                    .start(store),
                ),
                best_effort,
                on_success: due.then(|| runtime.set_cookie(&kept, now)),
                on_gone: Some(runtime.expire_cookie()),
            });
        }

        let expire = (state.cookie == CookieSeen::Stale).then(|| runtime.expire_cookie());
        Some(Plan {
            work: (!doomed.is_empty()).then(|| Job::Delete { doomed }.start(store)),
            best_effort: false,
            on_success: expire,
            on_gone: None,
        })
    }
}

fn warn_if_finished(state: &State) {
    if state.finished {
        tracing::warn!("session changed after its response was sent; the change is not saved");
    }
}

/// The store work one response leaves.
enum Job {
    /// A session begun in this request, and the ids it retired.
    Create {
        key: SessionKey,
        record: Record,
        deadline: u64,
        doomed: Vec<SessionKey>,
    },
    /// The live session's changes (or only its new deadline).
    Update {
        key: SessionKey,
        changes: Changes,
        deadline: u64,
    },
    /// Retired ids only (logout, an id cycled away).
    Delete { doomed: Vec<SessionKey> },
}

impl Job {
    /// Done at once on a store that never waits ([`SessionStore::immediate`]); otherwise
    /// a future for the response to await.
    fn start(self, store: &Arc<dyn SessionStore>) -> Work {
        if let Some(at_once) = store.immediate() {
            return Work::Done(self.run_now(at_once));
        }
        let store = Arc::clone(store);
        Work::Pending(Box::pin(async move { self.run(&*store).await }))
    }

    /// Whether the session still exists afterwards.
    fn run_now(&self, store: &dyn ImmediateStore) -> Result<bool, StoreError> {
        match self {
            Self::Create {
                key,
                record,
                deadline,
                doomed,
            } => {
                store.create_now(key, record, *deadline)?;
                doomed.iter().try_for_each(|key| store.delete_now(key))?;
                Ok(true)
            }
            Self::Update {
                key,
                changes,
                deadline,
            } => store.update_now(key, changes, *deadline),
            Self::Delete { doomed } => {
                doomed.iter().try_for_each(|key| store.delete_now(key))?;
                Ok(true)
            }
        }
    }

    /// [`Job::run_now`], through the store's futures.
    async fn run(&self, store: &dyn SessionStore) -> Result<bool, StoreError> {
        match self {
            Self::Create {
                key,
                record,
                deadline,
                doomed,
            } => {
                store.create(key, record, *deadline).await?;
                for key in doomed {
                    store.delete(key).await?;
                }
                Ok(true)
            }
            Self::Update {
                key,
                changes,
                deadline,
            } => store.update(key, changes, *deadline).await,
            Self::Delete { doomed } => {
                for key in doomed {
                    store.delete(key).await?;
                }
                Ok(true)
            }
        }
    }
}

/// A response's store work: already done, or a future to await. Either way it comes to
/// whether the session still exists.
pub(crate) enum Work {
    Done(Result<bool, StoreError>),
    Pending(StoreFuture<'static, bool>),
}

impl Work {
    /// The outcome; `Done` gives its result once (then `Ok(false)`).
    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Result<bool, StoreError>> {
        match self {
            Self::Done(result) => Poll::Ready(std::mem::replace(result, Ok(false))),
            Self::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// The store work a request left, and the `Set-Cookie` to send for each outcome.
#[derive(Default)]
pub(crate) struct Plan {
    /// Comes to whether the session still exists.
    pub(crate) work: Option<Work>,
    /// A failure of `work` is logged, not answered with 503 (a renewal nobody asked for).
    pub(crate) best_effort: bool,
    pub(crate) on_success: Option<HeaderValue>,
    pub(crate) on_gone: Option<HeaderValue>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_keys_are_each_ids_own() {
        let ticket = |first: u8, second: u8| {
            let mut id = [7u8; ID_LEN];
            id[0] = first;
            id[1] = second;
            Ticket::new(id, 1, 1, 0)
        };
        let hashed = |t: &Ticket| SessionKey::from_digest(Sha256::digest(t.id).into());
        // Two ids in one slot (same first byte), and one in another, asked in turns.
        let (a, b, c) = (ticket(5, 1), ticket(5, 2), ticket(6, 1));
        for t in [&a, &b, &a, &c, &a, &a, &b] {
            assert_eq!(t.key(), hashed(t));
        }
        assert_ne!(a.key(), b.key());
    }
}
