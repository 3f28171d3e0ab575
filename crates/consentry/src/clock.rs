//! Time as the layer sees it, in whole unix seconds, so tests can move it.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A source of the current time in unix seconds.
///
/// ```
/// use consentry::{Clock, SystemClock};
///
/// assert!(SystemClock.now() > 1_700_000_000);
/// ```
pub trait Clock: Send + Sync + 'static {
    /// Seconds since the unix epoch.
    fn now(&self) -> u64;
}

/// A shared clock is a clock: pass one `Arc` to several layers or stores.
///
/// ```
/// use std::sync::Arc;
/// use consentry::{Clock, ManualClock};
///
/// let shared: Arc<dyn Clock> = Arc::new(ManualClock::new(5));
/// assert_eq!(shared.now(), 5);
/// ```
impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> u64 {
        (**self).now()
    }
}

/// The system's wall clock (the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// On Linux the kernel's coarse wall clock (the time at its last tick, a few
    /// milliseconds behind at most): whole seconds are all the layer reads, and a coarse
    /// reading costs about 2 ns where a precise one costs about 25 (a request reads the
    /// clock up to three times). It is read through the C library, which tools such as
    /// valgrind know how to follow. Elsewhere `SystemTime::now`.
    fn now(&self) -> u64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let now = rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse);
            u64::try_from(now.tv_sec).unwrap_or(0)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs())
    }
}

/// A clock that only moves when told to; clones share one time. For tests of expiry.
///
/// ```
/// use consentry::{Clock, ManualClock};
///
/// let clock = ManualClock::new(1_000);
/// let seen_by_layer = clock.clone();
/// clock.advance(std::time::Duration::from_secs(30));
/// assert_eq!(seen_by_layer.now(), 1_030);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `now` unix seconds.
    pub fn new(now: u64) -> Self {
        Self {
            now: Arc::new(AtomicU64::new(now)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: std::time::Duration) {
        self.now.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    /// Sets the clock to `now` unix seconds.
    pub fn set(&self, now: u64) {
        self.now.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }
}

/// The time of one request: the clock is read at most once, on first use, and every part
/// of the request sees that same second.
pub(crate) struct Moment<'c> {
    clock: &'c dyn Clock,
    now: Cell<Option<u64>>,
}

impl<'c> Moment<'c> {
    /// A moment not yet read from `clock`.
    pub(crate) fn new(clock: &'c dyn Clock) -> Self {
        Self::read(clock, None)
    }

    /// A moment that continues an earlier one of the same request (`read` is what it
    /// read, if anything).
    pub(crate) fn read(clock: &'c dyn Clock, read: Option<u64>) -> Self {
        Self {
            clock,
            now: Cell::new(read),
        }
    }

    /// Seconds since the unix epoch, read from the clock the first time.
    pub(crate) fn now(&self) -> u64 {
        if let Some(now) = self.now.get() {
            return now;
        }
        let now = self.clock.now();
        self.now.set(Some(now));
        now
    }

    /// What was read so far, to continue in [`Moment::read`].
    pub(crate) fn taken(&self) -> Option<u64> {
        self.now.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moment_reads_the_clock_once_and_only_when_asked() {
        let clock = ManualClock::new(10);
        let moment = Moment::new(&clock);
        clock.set(20);
        assert_eq!(moment.taken(), None);
        assert_eq!(moment.now(), 20);
        clock.set(30);
        assert_eq!(moment.now(), 20);
        let continued = Moment::read(&clock, moment.taken());
        assert_eq!(continued.now(), 20);
    }

    #[test]
    fn the_system_clock_tells_the_wall_clocks_second() {
        let precise = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |elapsed| elapsed.as_secs())
        };
        let before = precise();
        let now = SystemClock.now();
        let after = precise();
        // A coarse reading lags by a tick at most, so it may still show the second before.
        assert!(
            (before.saturating_sub(1)..=after).contains(&now),
            "{before} {now} {after}"
        );
    }
}
