//! Shared helpers for the workspace's integration tests and benchmarks.
//!
//! The integration tests in `tests/` exercise the crates together and, as the
//! node grows, real `ferrodis-node` processes on 127.0.0.1 ports. Helpers they
//! share live here so every test starts nodes, picks ports and waits for
//! states the same way.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The workspace's root directory (where the top-level `Cargo.toml` is).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, skipping build output.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A TCP port on 127.0.0.1 that was free a moment ago (and, for cluster
/// nodes, whose bus port `port + 10000` was free too).
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
        let port = listener.local_addr().expect("local address").port();
        if port < 55535 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// A server process listening on 127.0.0.1, killed when dropped.
pub struct Server {
    child: Child,
    /// The client port.
    pub port: u16,
}

impl Server {
    /// Starts Debian's `redis-server` (the reference peer) on a free port,
    /// with persistence off, and waits until it accepts connections.
    ///
    /// Panics with an install hint when `redis-server` is missing: the
    /// comparison tests need the real thing (`.ci/run` installs it).
    pub fn redis(extra: &[&str]) -> Server {
        let port = free_port();
        let mut args = vec![
            "--port".to_owned(),
            port.to_string(),
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
            "--save".to_owned(),
            String::new(),
            "--appendonly".to_owned(),
            "no".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}); install it: apt-get install redis-server")
            });
        let server = Server { child, port };
        server.wait_ready(Duration::from_secs(10));
        server
    }

    /// Blocks until the port accepts connections.
    pub fn wait_ready(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "server on port {} did not start",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new client connection with a read timeout.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("set read timeout");
        stream
    }

    /// Sends `bytes` on a new connection, then reads until the server closes
    /// it or has been quiet for `quiet`.
    pub fn exchange(&self, bytes: &[u8], quiet: Duration) -> Vec<u8> {
        let mut stream = self.connect();
        stream
            .set_read_timeout(Some(quiet))
            .expect("set read timeout");
        stream.write_all(bytes).expect("write");
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return out,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
