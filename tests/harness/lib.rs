//! Shared helpers for the workspace's integration tests and benchmarks.
//!
//! The integration tests in `tests/` exercise the crates together and, as the
//! node grows, real `ferrodis-node` processes on 127.0.0.1 ports. Helpers they
//! share live here so every test starts nodes, picks ports and waits for
//! states the same way.
#![forbid(unsafe_code)]

pub mod cluster;
pub mod dataset;
pub mod writer;

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

/// A fresh directory under the system's temporary directory, removed with
/// its contents when dropped (kept, and its path printed, when the test is
/// failing, so that the files can be looked at).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `ferrodis-<tag>-<pid>-<n>`.
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "ferrodis-{tag}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temporary dir");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    // Test output: where to look.
    #[allow(clippy::print_stderr)]
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for inspection", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Polls `done` every few milliseconds until it returns true; panics
/// naming `what` after `timeout`.
pub fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// How to start a server process: which program, with which options, on
/// which port, in which working directory. Kept by the [`Server`] it
/// starts, so that the same server can be restarted on the same port and
/// directory (a crash test kills a node and starts it again on its files).
#[derive(Debug, Clone)]
pub struct Launch {
    program: PathBuf,
    /// `redis-server` or `ferrodis-node`, for messages.
    what: &'static str,
    args: Vec<String>,
    /// The client port.
    pub port: u16,
    /// The working directory (where `dir` points unless an option says
    /// otherwise); `None`: the test's own.
    dir: Option<PathBuf>,
    /// Whether the output goes to [`SERVER_LOG`] in `dir` (else nowhere).
    keep_log: bool,
}

/// A start that failed: the process exited before it answered.
#[derive(Debug)]
pub struct StartFailure {
    /// How the process exited.
    pub status: std::process::ExitStatus,
    /// What it wrote on standard output and standard error (its log).
    pub output: String,
}

/// The name of the file, in the server's directory, that receives its
/// standard output and standard error.
pub const SERVER_LOG: &str = "server.log";

impl Launch {
    /// Debian's `redis-server` on a free port with persistence off
    /// (`--save ""`, `--appendonly no`; later options override them).
    pub fn redis() -> Launch {
        let port = free_port();
        Launch {
            program: PathBuf::from("redis-server"),
            what: "redis-server",
            args: [
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
            port,
            dir: None,
            keep_log: false,
        }
    }

    /// This workspace's `ferrodis-node` on a free port.
    pub fn ferrodis() -> Launch {
        let port = free_port();
        Launch {
            program: node_binary(),
            what: "ferrodis-node",
            args: ["--port", &port.to_string(), "--bind", "127.0.0.1"]
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            port,
            dir: None,
            keep_log: false,
        }
    }

    /// Runs the server in `dir` (its `dir`, where it reads and writes its
    /// files); its output goes to [`SERVER_LOG`] there.
    pub fn dir(mut self, dir: &Path) -> Launch {
        self.dir = Some(dir.to_path_buf());
        self.keep_log = true;
        self
    }

    /// Starts the server from a `redis.conf`-style file, as
    /// `redis-server /path/to/redis.conf --port ...` does: the file comes
    /// first, the options after it override it.
    pub fn config_file(mut self, path: &Path) -> Launch {
        self.args.insert(0, path.display().to_string());
        self
    }

    /// Appends options (`--name value ...`).
    pub fn args(mut self, extra: &[&str]) -> Launch {
        self.args.extend(extra.iter().map(|s| (*s).to_owned()));
        self
    }

    /// Starts the server and waits until it answers; panics if it does not.
    pub fn start(self) -> Server {
        let what = self.what;
        match self.try_start() {
            Ok(s) => s,
            Err(f) => panic!("{what} exited at start ({}):\n{}", f.status, f.output),
        }
    }

    /// Starts the server and waits until it answers a command (any reply
    /// but `-LOADING`), or until it exits: then the failure, with its
    /// output.
    pub fn try_start(self) -> Result<Server, StartFailure> {
        let child = self.spawn();
        let mut server = Server {
            child,
            port: self.port,
            launch: self,
            temp: None,
        };
        server.wait_answering(Duration::from_secs(30))?;
        server.assert_alive();
        Ok(server)
    }

    /// Starts the server and waits only until it accepts connections, not
    /// until it answers commands: for looking at a server still loading
    /// its dataset. Panics if it exits first.
    pub fn start_accepting(self) -> Server {
        let child = self.spawn();
        let mut server = Server {
            child,
            port: self.port,
            launch: self,
            temp: None,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", server.port)).is_err() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "{} exited at start ({status}):\n{}",
                    server.launch.what,
                    server.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} never accepted",
                server.launch.what
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        server
    }

    fn spawn(&self) -> Child {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        if let Some(dir) = &self.dir {
            std::fs::create_dir_all(dir).expect("create server dir");
            cmd.current_dir(dir);
        }
        match &self.dir {
            Some(dir) if self.keep_log => {
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join(SERVER_LOG))
                    .expect("open server log");
                let log2 = log.try_clone().expect("clone server log");
                cmd.stdout(log).stderr(log2);
            }
            _ => {
                cmd.stdout(Stdio::null()).stderr(Stdio::null());
            }
        }
        cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start {} ({e}); install it: apt-get install redis-server",
                self.what
            )
        })
    }
}

/// A server process listening on 127.0.0.1, killed when dropped.
pub struct Server {
    child: Child,
    /// The client port.
    pub port: u16,
    launch: Launch,
    /// The directory [`Server::ferrodis`] made for the server, removed
    /// after it (fields drop after `Drop::drop` killed the process).
    temp: Option<TempDir>,
}

impl Server {
    /// Starts Debian's `redis-server` (the reference peer) on a free port,
    /// with persistence off, and waits until it accepts connections.
    ///
    /// Panics with an install hint when `redis-server` is missing: the
    /// comparison tests need the real thing (`.ci/run` installs it).
    pub fn redis(extra: &[&str]) -> Server {
        Launch::redis().args(extra).start()
    }

    /// Starts a `ferrodis-node` on a free port with `extra` options, in a
    /// fresh temporary directory (removed when the server is dropped), and
    /// waits until it accepts connections.
    pub fn ferrodis(extra: &[&str]) -> Server {
        let temp = TempDir::new("test");
        let mut launch = Launch::ferrodis().args(extra);
        launch.dir = Some(temp.path().to_path_buf());
        let mut server = launch.start();
        server.temp = Some(temp);
        server
    }

    /// How this server was started.
    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    /// The server's working directory, when it was started with one.
    pub fn dir(&self) -> Option<&Path> {
        self.launch.dir.as_deref()
    }

    /// What the server has written to its log ([`SERVER_LOG`]) so far.
    pub fn log(&self) -> String {
        self.launch
            .dir
            .as_ref()
            .filter(|_| self.launch.keep_log)
            .and_then(|d| std::fs::read(d.join(SERVER_LOG)).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL, as a crash would, and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the process (SIGKILL) if it still runs, then starts the same
    /// program with the same options on the same port and directory, and
    /// waits until it answers.
    pub fn restart(&mut self) {
        if let Err(f) = self.try_restart() {
            panic!(
                "{} exited at restart ({}):\n{}",
                self.launch.what, f.status, f.output
            );
        }
    }

    /// [`Server::restart`], returning the failure when the new process
    /// exits before answering.
    pub fn try_restart(&mut self) -> Result<(), StartFailure> {
        self.kill();
        self.child = self.launch.spawn();
        self.wait_answering(Duration::from_secs(30))?;
        self.assert_alive();
        Ok(())
    }

    /// Waits until the process exits on its own (after `SHUTDOWN`, say);
    /// panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "{} on port {} did not exit",
                self.launch.what,
                self.port
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until a command gets a reply other than `-LOADING`, or the
    /// process exits (the failure, with its log).
    fn wait_answering(&mut self, timeout: Duration) -> Result<(), StartFailure> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(StartFailure {
                    status,
                    output: self.log(),
                });
            }
            assert!(
                Instant::now() < deadline,
                "{} on port {} did not start:\n{}",
                self.launch.what,
                self.port,
                self.log()
            );
            if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
                let mut reply = [0u8; 64];
                if stream.write_all(b"PING\r\n").is_ok() {
                    match stream.read(&mut reply) {
                        Ok(n) if n > 0 && !reply[..n].starts_with(b"-LOADING") => return Ok(()),
                        _ => {}
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics if the process has exited: then whatever answered on the
    /// port was another process, and the test would talk to the wrong
    /// server.
    fn assert_alive(&mut self) {
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} on port {} exited at start ({status})\n{}",
                self.launch.what,
                self.port,
                self.log()
            );
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
/// tests always run the current code, in the profile of the test itself
/// (`cargo test --release` runs a release node, for figures worth
/// reporting).
pub fn node_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable path");
            // target/<profile>/deps/<test> → target/<profile>/ferrodis-node
            let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
            let release = profile_dir.file_name().is_some_and(|n| n == "release");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut args = vec![
                "build",
                "--quiet",
                "-p",
                "ferrodis-node",
                "--bin",
                "ferrodis-node",
            ];
            if release {
                args.push("--release");
            }
            let status = Command::new(cargo)
                .args(&args)
                .current_dir(workspace_root())
                .status()
                .expect("run cargo build for ferrodis-node");
            assert!(status.success(), "building ferrodis-node failed");
            let built = profile_dir.join("ferrodis-node");
            if built.exists() {
                built
            } else {
                workspace_root().join("target/debug/ferrodis-node")
            }
        })
        .clone()
}

impl Server {
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
        self.try_read().expect("read reply")
    }

    /// Reads one reply; an error when the connection fails or closes (a
    /// server killed under a test's feet) or the read times out.
    pub fn try_read(&mut self) -> std::io::Result<ferrodis_resp::Frame> {
        loop {
            if let Some(f) = self
                .decoder
                .decode(&mut self.buf)
                .map_err(std::io::Error::other)?
            {
                return Ok(f);
            }
            let mut chunk = [0u8; 16384];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends a command without waiting for the reply; an error when the
    /// connection is gone.
    pub fn try_send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> std::io::Result<()> {
        let frame = ferrodis_resp::Frame::command(
            args.iter()
                .map(|a| bytes::Bytes::copy_from_slice(a.as_ref())),
        );
        self.stream.write_all(&frame.to_bytes())
    }

    /// Changes the read timeout (5 s from [`Server::client`]).
    pub fn set_read_timeout(&mut self, timeout: Duration) {
        self.stream
            .set_read_timeout(Some(timeout))
            .expect("set read timeout");
    }

    /// The value of one `INFO` field (`rdb_bgsave_in_progress`, say).
    pub fn info_field(&mut self, name: &str) -> Option<String> {
        let text = match self.call(&["INFO", "everything"]) {
            ferrodis_resp::Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
            ferrodis_resp::Frame::Verbatim { data, .. } => {
                String::from_utf8_lossy(&data).into_owned()
            }
            other => panic!("INFO: {other:?}"),
        };
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::to_owned)
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

/// A binary of this workspace (`ferrodis-cli`, `ferrodis-trib`), built on
/// first use in the test's own profile, as [`node_binary`] builds the node.
pub fn tool_binary(name: &str) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static BUILT: std::sync::OnceLock<Mutex<HashMap<String, PathBuf>>> = std::sync::OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(HashMap::new()));
    let mut built = built
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(p) = built.get(name) {
        return p.clone();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut args = vec!["build", "--quiet", "-p", name, "--bin", name];
    if release {
        args.push("--release");
    }
    let status = Command::new(cargo)
        .args(&args)
        .current_dir(workspace_root())
        .status()
        .unwrap_or_else(|e| panic!("run cargo build for {name}: {e}"));
    assert!(status.success(), "building {name} failed");
    let path = profile_dir.join(name);
    assert!(path.exists(), "{} was not built", path.display());
    built.insert(name.to_owned(), path.clone());
    path
}

/// The first of `n` consecutive free ports on 127.0.0.1 whose bus ports
/// (`+ 10000`) are free too, for tools that number nodes from one port.
pub fn free_port_range(n: u16) -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // 22000..22760 (bus ports 32000..32760): above free_port's range,
    // below Linux's ephemeral ports.
    let spread = (std::process::id() % 70) * 10;
    loop {
        let offset = NEXT.fetch_add(u32::from(n), Ordering::Relaxed);
        let Ok(first) = u16::try_from(22000 + (spread + offset) % (760 - u32::from(n))) else {
            continue;
        };
        let all_free = (0..n).all(|i| {
            TcpListener::bind(("127.0.0.1", first + i)).is_ok()
                && TcpListener::bind(("127.0.0.1", first + i + 10000)).is_ok()
        });
        if all_free {
            return first;
        }
    }
}

/// `n` cluster-enabled `redis-server` nodes on free ports, each in its own
/// directory under `dir`, not yet joined.
pub fn redis_cluster_nodes(dir: &Path, n: usize) -> Vec<Server> {
    (0..n)
        .map(|i| {
            Launch::redis()
                .args(&[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ])
                .dir(&dir.join(format!("node{i}")))
                .start()
        })
        .collect()
}

/// Runs `cmd` with `input` on its standard input and collects its output.
/// The input is written from another thread: a program that answers as it
/// reads would otherwise fill its output pipe while this side still
/// writes, and both would wait for ever.
pub fn run_with_input(mut cmd: Command, input: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("stdin writer");
    out
}

/// Has redis-py's `RedisCluster`, started from the node on `port`, write
/// `n` keys `<prefix><i>` = i and read them all back; panics with its
/// error output if anything fails.
pub fn redis_py_cluster_round_trip(port: u16, prefix: &str, n: usize) {
    let script = format!(
        "import redis.cluster as rc\n\
         c = rc.RedisCluster(host='127.0.0.1', port={port})\n\
         for i in range({n}): c.set(f'{prefix}{{i}}', i)\n\
         assert all(int(c.get(f'{prefix}{{i}}')) == i for i in range({n}))\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The keys held by the masters among `nodes` (as each node's own line of
/// `CLUSTER NODES` says), summed.
pub fn cluster_masters_dbsize(nodes: &[Server]) -> i64 {
    let mut total = 0;
    for n in nodes {
        let mut c = n.client();
        let ferrodis_resp::Frame::Bulk(text) = c.cmd("CLUSTER NODES") else {
            panic!("no CLUSTER NODES from {}", n.port);
        };
        let is_master = String::from_utf8_lossy(&text)
            .lines()
            .any(|l| l.contains(" myself,master "));
        if is_master {
            let ferrodis_resp::Frame::Integer(k) = c.cmd("DBSIZE") else {
                panic!("no DBSIZE from {}", n.port);
            };
            total += k;
        }
    }
    total
}
