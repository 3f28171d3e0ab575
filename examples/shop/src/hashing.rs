//! The threads password hashes run on: one per CPU, with a bounded queue in front.
//!
//! Each Argon2 hash takes 19 MiB while it runs, and the C allocator keeps what a thread
//! used for that thread's next allocation. On tokio's blocking pool a burst of logins ran
//! as many hashes at once as the pool has threads (up to 512): a 5-second burst of 64
//! connections took the shop to 1.65–2.3 GB resident, at 10–16 logins a second. On threads
//! of their own, each hashing and checking in Argon2 memory it keeps (`accounts::hash`,
//! `accounts::verify`), the same burst peaks at 66 MB, at 148 logins a second.

use std::num::NonZeroUsize;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::oneshot;

/// Hashes that may wait for a thread; past that, a login or registration answers `503` at
/// once rather than queue without bound.
const QUEUE: usize = 256;

type Job = Box<dyn FnOnce() + Send>;

/// A few threads that run jobs from one bounded queue. The threads end when it is dropped.
struct Hashers {
    jobs: SyncSender<Job>,
}

impl Hashers {
    fn start(threads: usize, queue: usize) -> Self {
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for index in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("shop-hash-{index}"))
                .spawn(move || work_through(&receiver))
                .expect("a password hashing thread starts");
        }
        Self { jobs }
    }

    /// Queues `work`; its answer comes on the receiver. `None` when the queue is full.
    fn submit<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<oneshot::Receiver<T>> {
        let (done, answer) = oneshot::channel();
        self.jobs
            .try_send(Box::new(move || {
                // The asker may be gone (the client hung up); the answer is then dropped.
                let _ = done.send(work());
            }))
            .ok()?;
        Some(answer)
    }
}

/// One thread's loop: the next job, until the queue is gone.
fn work_through(jobs: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job.
        let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else { return };
        // A job that panics drops its answer (the asker gets `None`); the thread stays.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
    }
}

/// Runs `work`, a password hash, on the shop's hashing threads and waits for it. `None`
/// when [`QUEUE`] hashes are waiting already, or the work panicked.
pub(crate) async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    static SHOP: OnceLock<Hashers> = OnceLock::new();
    let hashers = SHOP.get_or_init(|| {
        Hashers::start(
            std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            QUEUE,
        )
    });
    hashers.submit(work)?.await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_wait_for_a_thread_and_a_full_queue_is_refused() {
        let hashers = Hashers::start(1, 2);
        let (started, has_started) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let first = hashers
            .submit(move || {
                started.send(()).unwrap();
                released.recv().unwrap();
                1
            })
            .expect("the first job is taken");
        has_started.recv().unwrap();
        // The one thread is busy: two jobs wait, the third finds the queue full.
        let second = hashers.submit(|| 2).expect("room in the queue");
        let third = hashers.submit(|| 3).expect("room in the queue");
        assert!(hashers.submit(|| 4).is_none(), "a full queue refuses");
        release.send(()).unwrap();
        assert_eq!(
            (first.await, second.await, third.await),
            (Ok(1), Ok(2), Ok(3))
        );
    }

    #[tokio::test]
    async fn a_job_that_panics_answers_nothing_and_the_thread_goes_on() {
        let hashers = Hashers::start(1, 2);
        let panicked = hashers
            .submit(|| -> u8 { panic!("a failing hash") })
            .unwrap();
        assert!(panicked.await.is_err());
        let next = hashers.submit(|| 5).unwrap();
        let answer = tokio::time::timeout(std::time::Duration::from_secs(5), next).await;
        assert_eq!(answer, Ok(Ok(5)), "the thread survived the panic");
    }
}
