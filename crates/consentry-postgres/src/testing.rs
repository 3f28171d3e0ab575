//! A throwaway PostgreSQL cluster for tests (feature `testing`): `initdb` into a fresh
//! folder, started with `pg_ctl` on a free loopback port, stopped and removed on drop.
//! When run as root, the cluster runs as the `postgres` user (PostgreSQL refuses root).
//!
//! ```no_run
//! use consentry_postgres::testing::PgServer;
//!
//! let server = PgServer::start();
//! let url = server.url(); // postgres://postgres@127.0.0.1:<port>/postgres
//! # let _ = url;
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `postgresql` package installs the server programs, one folder per
/// major version.
pub const INSTALL_ROOT: &str = "/usr/lib/postgresql";

/// A PostgreSQL cluster on `127.0.0.1`, trusting local connections.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    running: bool,
}

impl PgServer {
    /// Creates a cluster and starts it on a free port.
    ///
    /// # Panics
    /// When PostgreSQL is not installed or does not start within 30 s: in a test, a failure
    /// that says what to install.
    pub fn start() -> Self {
        let bin = server_bin().unwrap_or_else(|| {
            panic!("PostgreSQL is missing under {INSTALL_ROOT}: run scripts/test, which installs the postgresql package")
        });
        // Tests run servers in parallel: neither the port nor the folder may be shared.
        let port = consentry_store::servers::free_port();
        let dir = consentry_store::servers::scratch_dir("consentry-pg");
        let server = Self {
            bin,
            dir,
            port,
            running: false,
        };
        server.hand_to_postgres();
        let initdb = server.run(
            "initdb",
            &[
                "-D",
                &server.data().to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        assert!(
            initdb.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr)
        );
        let mut server = server;
        server.restart();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// As root, the cluster's folder must belong to `postgres`.
    fn hand_to_postgres(&self) {
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&self.dir)
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of the cluster folder failed");
        }
    }

    /// Runs one of the server's programs, as `postgres` when this process is root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&path);
            command
        } else {
            Command::new(&path)
        };
        command
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("{program} cannot run: {error}"))
    }

    /// The URL to connect with: `postgres://postgres@127.0.0.1:<port>/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server at once, like a crash (`pg_ctl stop -m immediate`). Its data stays
    /// for [`restart`](Self::restart).
    pub fn stop(&mut self) {
        if self.running {
            let _ = self.run(
                "pg_ctl",
                &[
                    "stop",
                    "-D",
                    &self.data().to_string_lossy(),
                    "-m",
                    "immediate",
                    "-w",
                ],
            );
            self.running = false;
        }
    }

    /// Starts the server (again) on the same port and data, and waits until it accepts
    /// connections.
    ///
    /// # Panics
    /// When it does not start within 30 s.
    pub fn restart(&mut self) {
        self.stop();
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories='{}' -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        let started = self.run(
            "pg_ctl",
            &[
                "start",
                "-D",
                &self.data().to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "30",
            ],
        );
        assert!(
            started.status.success(),
            "PostgreSQL did not start: {}\n{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        self.running = true;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "PostgreSQL does not accept connections"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The `bin` folder of the newest installed major version.
fn server_bin() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(INSTALL_ROOT)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            Path::new(&bin)
                .join("initdb")
                .exists()
                .then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}
