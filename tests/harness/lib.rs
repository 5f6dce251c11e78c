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
///
/// Ports come from a sequence private to this process, below Linux's
/// ephemeral range (32768+), so parallel tests never receive the same port
/// twice and the kernel does not hand it out for outgoing connections.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Spread concurrent test processes over the range by their pid.
    let base = (std::process::id() % 700) * 10;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 15000 + (base + n) % 7000;
        let Ok(port) = u16::try_from(port) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok()
        {
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
        let mut server = Server { child, port };
        server.wait_ready(Duration::from_secs(10));
        server.assert_alive("redis-server");
        server
    }

    /// Panics if the process has exited: then whatever answered on the
    /// port was another process, and the test would talk to the wrong
    /// server.
    fn assert_alive(&mut self, what: &str) {
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{what} on port {} exited at start ({status})", self.port);
        }
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
    /// it or, once it has answered, has been quiet for `quiet`. The first
    /// bytes may take up to 10 s (loaded CI machines).
    pub fn exchange(&self, bytes: &[u8], quiet: Duration) -> Vec<u8> {
        let mut stream = self.connect();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set read timeout");
        stream.write_all(bytes).expect("write");
        let mut out = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return out,
                Ok(n) => {
                    out.extend_from_slice(&chunk[..n]);
                    stream
                        .set_read_timeout(Some(quiet))
                        .expect("set read timeout");
                }
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

/// The `ferrodis-node` binary of this workspace, built on first use so the
/// tests always run the current code.
pub fn node_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "ferrodis-node",
                    "--bin",
                    "ferrodis-node",
                ])
                .current_dir(workspace_root())
                .status()
                .expect("run cargo build for ferrodis-node");
            assert!(status.success(), "building ferrodis-node failed");
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> → target/<profile>/ferrodis-node
            let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
            let debug = profile_dir.join("ferrodis-node");
            if debug.exists() {
                debug
            } else {
                workspace_root().join("target/debug/ferrodis-node")
            }
        })
        .clone()
}

impl Server {
    /// Starts a `ferrodis-node` on a free port with `extra` options, in a
    /// fresh temporary directory, and waits until it accepts connections.
    pub fn ferrodis(extra: &[&str]) -> Server {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ferrodis-test-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        let mut args = vec![
            "--port".to_owned(),
            port.to_string(),
            "--bind".to_owned(),
            "127.0.0.1".to_owned(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let child = Command::new(node_binary())
            .args(&args)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start ferrodis-node");
        let mut server = Server { child, port };
        server.wait_ready(Duration::from_secs(20));
        server.assert_alive("ferrodis-node");
        server
    }

    /// A RESP client connected to this server.
    pub fn client(&self) -> Client {
        Client::new(self.connect())
    }
}

/// A minimal blocking RESP client for tests: sends commands, decodes one
/// reply per command.
pub struct Client {
    stream: TcpStream,
    buf: bytes::BytesMut,
    decoder: ferrodis_resp::FrameDecoder,
}

impl Client {
    /// Wraps a connected stream.
    pub fn new(stream: TcpStream) -> Client {
        Client {
            stream,
            buf: bytes::BytesMut::new(),
            decoder: ferrodis_resp::FrameDecoder::default(),
        }
    }

    /// Sends a command, returns its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> ferrodis_resp::Frame {
        self.send(args);
        self.read()
    }

    /// Sends a command without waiting for the reply.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) {
        let frame = ferrodis_resp::Frame::command(
            args.iter()
                .map(|a| bytes::Bytes::copy_from_slice(a.as_ref())),
        );
        self.stream
            .write_all(&frame.to_bytes())
            .expect("send command");
    }

    /// Sends raw bytes.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send bytes");
    }

    /// Reads one reply (panics after the read timeout).
    pub fn read(&mut self) -> ferrodis_resp::Frame {
        loop {
            if let Some(f) = self.decoder.decode(&mut self.buf).expect("valid reply") {
                return f;
            }
            let mut chunk = [0u8; 16384];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The local (client side) port of the connection.
    pub fn local_port(&self) -> u16 {
        self.stream.local_addr().map_or(0, |a| a.port())
    }

    /// Reads raw bytes (0 when the server closed the connection).
    pub fn read_raw(&mut self, buf: &mut [u8]) -> usize {
        self.stream.read(buf).unwrap_or(0)
    }

    /// Calls a command given as one space-separated string (no quoting).
    pub fn cmd(&mut self, line: &str) -> ferrodis_resp::Frame {
        let args: Vec<&str> = line.split_whitespace().collect();
        self.call(&args)
    }
}

/// Short constructors for expected replies.
pub mod reply {
    use ferrodis_resp::Frame;

    /// `+text`
    pub fn simple(s: &str) -> Frame {
        Frame::Simple(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }
    /// `-text`
    pub fn error(s: &str) -> Frame {
        Frame::Error(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }
    /// `$text`
    pub fn bulk(s: &str) -> Frame {
        Frame::Bulk(bytes::Bytes::copy_from_slice(s.as_bytes()))
    }
    /// `:n`
    pub fn int(n: i64) -> Frame {
        Frame::Integer(n)
    }
    /// `+OK`
    pub fn ok() -> Frame {
        simple("OK")
    }
    /// An array of bulks.
    pub fn bulks(items: &[&str]) -> Frame {
        Frame::Array(items.iter().map(|s| bulk(s)).collect())
    }
}

/// The bulk strings of an array or set reply, sorted (for replies whose
/// order Redis does not define).
pub fn sorted_bulks(f: ferrodis_resp::Frame) -> Vec<String> {
    use ferrodis_resp::Frame;
    let items = match f {
        Frame::Array(items) | Frame::Set(items) => items,
        other => panic!("expected an array, got {other:?}"),
    };
    let mut out: Vec<String> = items
        .into_iter()
        .map(|i| match i {
            Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            other => panic!("expected a bulk, got {other:?}"),
        })
        .collect();
    out.sort();
    out
}
