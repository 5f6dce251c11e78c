//! What the interoperability tests need around the codec: a real
//! `redis-server` in cluster mode, a small RESP client to drive it, and a
//! fake cluster node that listens on a bus port, records every message it
//! receives and answers PING and MEET with a PONG it encodes itself.

#![allow(dead_code, unreachable_pub)]

use ferrodis_bus::{
    decode, encode, next_frame, Body, Header, Message, NodeFlags, NodeId, PingBody,
};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long any wait for the real server may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A port nothing listens on right now.
///
/// Ports come from a sequence private to this process, below Linux's
/// ephemeral range (32768+): a port the kernel picked (`bind :0`) could be
/// handed out again as the local end of an outgoing connection before the
/// server binds it, and parallel tests would then talk to the wrong peer.
/// The range (8000-14999) is apart from the workspace suite's.
pub fn free_port() -> u16 {
    use std::sync::atomic::AtomicU32;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = (std::process::id() % 700) * 10;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let Ok(port) = u16::try_from(8000 + (base + n) % 7000) else {
            continue;
        };
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A `redis-server` with `cluster-enabled yes`, in a directory of its own,
/// killed and removed when dropped.
pub struct Redis {
    pub port: u16,
    pub bus_port: u16,
    child: Child,
    dir: PathBuf,
}

impl Redis {
    /// Starts a cluster node; `extra` are more `--name value` arguments.
    pub fn start(extra: &[&str]) -> Redis {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        for _attempt in 0..5 {
            let dir = std::env::temp_dir().join(format!(
                "ferrodis-bus-test-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("create the server's directory");
            let port = free_port();
            let bus_port = free_port();
            let child = Command::new("redis-server")
                .arg("--port")
                .arg(port.to_string())
                .arg("--cluster-port")
                .arg(bus_port.to_string())
                .args(["--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes"])
                .args(["--cluster-config-file", "nodes.conf"])
                .args(["--cluster-node-timeout", "2000"])
                .args(["--save", ""])
                .args(["--appendonly", "no"])
                .args(["--logfile", "redis.log"])
                .arg("--dir")
                .arg(&dir)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server must be installed (apt-get install redis-server)");
            let mut redis = Redis {
                port,
                bus_port,
                child,
                dir,
            };
            if redis.wait_ready() {
                return redis;
            }
            // Most likely a port taken between the probe and the bind.
        }
        panic!("redis-server did not start");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if let Ok(mut client) = Client::connect(self.port) {
                if client.cmd(&["PING"]).as_str() == "PONG" {
                    return true;
                }
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// A new connection to the server.
    pub fn client(&self) -> Client {
        Client::connect(self.port).expect("connect to redis-server")
    }

    /// Runs one command on a new connection.
    pub fn cmd(&self, args: &[&str]) -> Reply {
        self.client().cmd(args)
    }

    /// `CLUSTER MYID`.
    pub fn id(&self) -> NodeId {
        self.cmd(&["CLUSTER", "MYID"])
            .as_str()
            .parse()
            .expect("CLUSTER MYID is a node id")
    }

    /// One field of `CLUSTER INFO`.
    pub fn cluster_info(&self, field: &str) -> String {
        info_field(&self.cmd(&["CLUSTER", "INFO"]).as_str(), field)
    }

    /// One field of `INFO <section>`.
    pub fn info(&self, section: &str, field: &str) -> String {
        info_field(&self.cmd(&["INFO", section]).as_str(), field)
    }

    /// The `CLUSTER NODES` line of node `id`, once `ready` holds for it.
    pub fn wait_node_line(&self, id: &NodeId, ready: impl Fn(&[&str]) -> bool) -> String {
        let id = id.to_string();
        let deadline = Instant::now() + WAIT;
        loop {
            let nodes = self.cmd(&["CLUSTER", "NODES"]).as_str();
            if let Some(line) = nodes.lines().find(|l| l.starts_with(&id)) {
                let fields: Vec<&str> = line.split(' ').collect();
                if ready(&fields) {
                    return line.to_string();
                }
            }
            assert!(
                Instant::now() < deadline,
                "node {id} never got ready in CLUSTER NODES:\n{nodes}"
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// Kills the server at once.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn info_field(text: &str, field: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in\n{text}"))
        .trim()
        .to_string()
}

/// A RESP reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    /// The text of a simple string or bulk; panics on anything else.
    pub fn as_str(&self) -> String {
        match self {
            Reply::Simple(s) => s.clone(),
            Reply::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("expected a string reply, got {other:?}"),
        }
    }

    /// Panics unless the reply is `+OK`.
    pub fn ok(&self) {
        assert_eq!(self, &Reply::Simple("OK".into()));
    }
}

/// A blocking RESP2 client, enough for test set-up.
pub struct Client {
    stream: BufReader<TcpStream>,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(WAIT))?;
        Ok(Client {
            stream: BufReader::new(stream),
        })
    }

    pub fn cmd(&mut self, args: &[&str]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        self.stream
            .get_mut()
            .write_all(&out)
            .expect("send a command");
        self.read_reply()
    }

    /// Reads the next reply or push without sending anything (a
    /// subscriber's messages).
    pub fn read(&mut self) -> Reply {
        self.read_reply()
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stream.read_line(&mut line).expect("read a reply line");
        line.trim_end_matches("\r\n").to_string()
    }

    fn read_reply(&mut self) -> Reply {
        let line = self.read_line();
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().expect("integer reply")),
            "$" => {
                let len: i64 = rest.parse().expect("bulk length");
                if len < 0 {
                    return Reply::Bulk(None);
                }
                let mut data = vec![0; len as usize + 2];
                self.stream.read_exact(&mut data).expect("read a bulk");
                data.truncate(len as usize);
                Reply::Bulk(Some(data))
            }
            "*" => {
                let n: i64 = rest.parse().expect("array length");
                Reply::Array((0..n.max(0)).map(|_| self.read_reply()).collect())
            }
            _ => panic!("unexpected reply line {line:?}"),
        }
    }
}

/// One message the fake node received.
#[derive(Debug, Clone)]
pub struct Captured {
    /// Which accepted connection it came on, from 0.
    pub conn: usize,
    /// The bytes, exactly as they arrived.
    pub bytes: Vec<u8>,
    /// The decoded message.
    pub message: Message,
}

/// A cluster node made of a listener and the codec: it accepts bus
/// connections, decodes every message, answers each PING and MEET with a
/// PONG built from [`FakeNode::header`], and records what it received.
pub struct FakeNode {
    /// The bus port it listens on.
    pub bus_port: u16,
    /// The header of every message it sends.
    pub header: Arc<Mutex<Header>>,
    /// Whether it answers PING and MEET.
    pub auto_pong: Arc<AtomicBool>,
    received: mpsc::Receiver<Result<Captured, String>>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
    /// Everything received so far, in order, including what the waits
    /// skipped.
    pub log: Vec<Captured>,
}

impl FakeNode {
    /// Starts listening; `id` is the node id it announces, `port` the client
    /// port.
    pub fn start(id: NodeId, port: u16) -> FakeNode {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake bus port");
        let bus_port = listener.local_addr().expect("local address").port();
        let header = Arc::new(Mutex::new(Header {
            sender: id,
            port,
            cport: bus_port,
            flags: NodeFlags::MASTER,
            ..Header::default()
        }));
        let auto_pong = Arc::new(AtomicBool::new(true));
        let conns = Arc::new(Mutex::new(Vec::new()));
        let (tx, received) = mpsc::channel();
        {
            let header = header.clone();
            let auto_pong = auto_pong.clone();
            let conns = conns.clone();
            thread::spawn(move || {
                for (conn, stream) in listener.incoming().enumerate() {
                    let Ok(stream) = stream else { return };
                    conns
                        .lock()
                        .unwrap()
                        .push(stream.try_clone().expect("clone the stream"));
                    let (header, auto_pong, tx) = (header.clone(), auto_pong.clone(), tx.clone());
                    thread::spawn(move || serve(conn, stream, header, auto_pong, tx));
                }
            });
        }
        FakeNode {
            bus_port,
            header,
            auto_pong,
            received,
            conns,
            log: Vec::new(),
        }
    }

    /// The next received message for which `wanted` holds, skipping others.
    pub fn wait_for(&mut self, what: &str, wanted: impl Fn(&Captured) -> bool) -> Captured {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.received.recv_timeout(left) {
                Ok(Err(e)) => panic!("{e}"),
                Ok(Ok(c)) => {
                    self.log.push(c.clone());
                    if wanted(&c) {
                        return c;
                    }
                }
                Err(_) => panic!(
                    "no {what} within {WAIT:?}; received: {:?}",
                    self.log
                        .iter()
                        .map(|c| (c.conn, c.message.kind()))
                        .collect::<Vec<_>>()
                ),
            }
        }
    }

    /// Sends `body` with the node's current header on connection `conn`.
    pub fn send(&self, conn: usize, body: Body) {
        let header = self.header.lock().unwrap().clone();
        let bytes = encode(&Message { header, body }).expect("encode");
        let mut conns = self.conns.lock().unwrap();
        conns[conn]
            .write_all(&bytes)
            .expect("send to the real node");
    }
}

fn serve(
    conn: usize,
    mut stream: TcpStream,
    header: Arc<Mutex<Header>>,
    auto_pong: Arc<AtomicBool>,
    tx: mpsc::Sender<Result<Captured, String>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            let frame = match next_frame(&buf) {
                Ok(Some(frame)) => frame,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(format!(
                        "cannot frame the stream from a real node: {e}"
                    )));
                    return;
                }
            };
            let bytes = frame.to_vec();
            buf.drain(..bytes.len());
            let message = match decode(&bytes) {
                Ok(m) => m,
                Err(e) => {
                    let _ = tx.send(Err(format!(
                        "cannot decode {} bytes from a real node: {e}",
                        bytes.len()
                    )));
                    return;
                }
            };
            if auto_pong.load(Ordering::SeqCst)
                && matches!(message.body, Body::Ping(_) | Body::Meet(_))
            {
                let pong = Message {
                    header: header.lock().unwrap().clone(),
                    body: Body::Pong(PingBody::default()),
                };
                let _ = stream.write_all(&encode(&pong).expect("encode a PONG"));
            }
            if tx
                .send(Ok(Captured {
                    conn,
                    bytes,
                    message,
                }))
                .is_err()
            {
                return;
            }
        }
    }
}

/// Writes `bytes` to `crates/bus/tests/fixtures/<name>` when the
/// environment variable `FERRODIS_BUS_WRITE_FIXTURES` is set: that is how
/// the checked-in captures were made.
pub fn maybe_write_fixture(name: &str, bytes: &[u8]) {
    if std::env::var_os("FERRODIS_BUS_WRITE_FIXTURES").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
}
