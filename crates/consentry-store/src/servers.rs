//! What a test needs to run a real server beside it: a loopback port and a scratch folder
//! that no other server of the same process was given.
//!
//! Tests of one binary run in parallel threads of one process. A port found by binding port
//! 0 and closing the listener is free at that moment only, and the system may hand the same
//! port to the next such bind: two servers started at once would then share a port (and a
//! folder named after it), and one would remove the other's files. These helpers remember
//! what they handed out.
//!
//! ```
//! use consentry_store::servers::{free_port, scratch_dir};
//!
//! let (a, b) = (free_port(), free_port());
//! assert_ne!(a, b);
//! let dir = scratch_dir("example-server");
//! assert!(dir.is_dir());
//! # std::fs::remove_dir_all(dir).unwrap();
//! ```

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// Binds tried before [`free_port`] gives up: far more than a test process needs.
const ATTEMPTS: usize = 1_000;

/// A loopback port that is free now and that this process has not handed out before.
///
/// # Panics
/// When no loopback port can be bound, or every port offered was handed out already.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..ATTEMPTS {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free loopback port")
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(port)
        {
            return port;
        }
    }
    panic!("no loopback port left that this process has not handed out ({ATTEMPTS} tried)");
}

/// A new, empty folder under the system's temporary folder, named
/// `<prefix>-<process id>-<n>` with `n` counting this process's calls, so no two servers
/// of a process share one. A folder of that name left by an earlier process with the same
/// id is removed first.
///
/// # Panics
/// When the folder cannot be created.
pub fn scratch_dir(prefix: &str) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|error| panic!("cannot create {}: {error}", dir.display()));
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_folders_are_never_handed_out_twice() {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..50)
                        .map(|_| (free_port(), scratch_dir("consentry-store-test")))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let handed: Vec<(u16, PathBuf)> = threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .collect();
        let ports: BTreeSet<u16> = handed.iter().map(|(port, _)| *port).collect();
        let dirs: BTreeSet<&PathBuf> = handed.iter().map(|(_, dir)| dir).collect();
        assert_eq!(ports.len(), handed.len());
        assert_eq!(dirs.len(), handed.len());
        for (_, dir) in &handed {
            assert!(dir.is_dir());
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
