//! State shared by every worker thread: the store, the configuration, the
//! registry of connected clients and server-wide counters.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use ferrodis_store::Store;
use parking_lot::{Mutex, RwLock};

use crate::config::Config;

/// What other threads may see of a client (CLIENT LIST, CLIENT KILL). The
/// owning worker updates it with relaxed atomics as commands run.
#[derive(Debug)]
pub(crate) struct ClientMeta {
    pub(crate) id: u64,
    pub(crate) addr: SocketAddr,
    pub(crate) laddr: SocketAddr,
    pub(crate) fd: i32,
    pub(crate) worker: usize,
    pub(crate) created: Instant,
    pub(crate) name: Mutex<Option<Vec<u8>>>,
    pub(crate) last_interaction_ms: AtomicU64,
    pub(crate) db: AtomicUsize,
    pub(crate) resp: AtomicU8,
    pub(crate) last_cmd: Mutex<&'static str>,
    pub(crate) multi: AtomicU64,
    pub(crate) subscriptions: AtomicUsize,
    pub(crate) psubscriptions: AtomicUsize,
    pub(crate) qbuf: AtomicUsize,
    pub(crate) obl: AtomicUsize,
    /// Set by CLIENT KILL; the owner closes the connection.
    pub(crate) killed: AtomicBool,
    /// CLIENT NO-EVICT state, reported in flags.
    pub(crate) no_evict: AtomicBool,
    /// Waiting in a blocking command (flag `b`).
    pub(crate) blocked: AtomicBool,
}

impl ClientMeta {
    /// A fresh client's metadata: `fd` -1 and `worker` `usize::MAX` for a
    /// session without a socket.
    pub(crate) fn new(
        id: u64,
        addr: SocketAddr,
        laddr: SocketAddr,
        fd: i32,
        worker: usize,
    ) -> ClientMeta {
        ClientMeta {
            id,
            addr,
            laddr,
            fd,
            worker,
            created: Instant::now(),
            name: Mutex::new(None),
            last_interaction_ms: AtomicU64::new(unix_ms()),
            db: AtomicUsize::new(0),
            resp: AtomicU8::new(2),
            last_cmd: Mutex::new("NULL"),
            multi: AtomicU64::new(u64::MAX),
            subscriptions: AtomicUsize::new(0),
            psubscriptions: AtomicUsize::new(0),
            qbuf: AtomicUsize::new(0),
            obl: AtomicUsize::new(0),
            killed: AtomicBool::new(false),
            no_evict: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
        }
    }
}

/// Server-wide counters for INFO.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections_received: AtomicU64,
    pub(crate) commands_processed: AtomicU64,
    pub(crate) rejected_connections: AtomicU64,
    pub(crate) net_input_bytes: AtomicU64,
    pub(crate) net_output_bytes: AtomicU64,
    pub(crate) connected_clients: AtomicUsize,
    pub(crate) total_error_replies: AtomicU64,
}

/// Switches the DEBUG command turns (test facilities of Redis).
#[derive(Debug)]
pub(crate) struct DebugSettings {
    /// `DEBUG SET-ACTIVE-EXPIRE`: whether the cron expires keys.
    pub(crate) active_expire: AtomicBool,
    /// `DEBUG PAUSE-CRON`: whether the cron is stopped.
    pub(crate) pause_cron: AtomicBool,
    /// `DEBUG QUICKLIST-PACKED-THRESHOLD`, in bytes.
    pub(crate) quicklist_packed_threshold: AtomicU64,
    /// `DEBUG SET-SKIP-CHECKSUM-VALIDATION`: RESTORE ignores the CRC.
    pub(crate) skip_checksum_validation: AtomicBool,
}

impl Default for DebugSettings {
    fn default() -> Self {
        DebugSettings {
            active_expire: AtomicBool::new(true),
            pause_cron: AtomicBool::new(false),
            quicklist_packed_threshold: AtomicU64::new(1 << 30),
            skip_checksum_validation: AtomicBool::new(false),
        }
    }
}

/// A message to a worker thread.
#[derive(Debug)]
pub(crate) enum WorkerMsg {
    /// A pub/sub message for a subscribed client.
    Publish {
        client: u64,
        kind: crate::pubsub::Kind,
        pattern: Option<bytes::Bytes>,
        channel: bytes::Bytes,
        message: bytes::Bytes,
    },
    /// Raw bytes for a client's output (MONITOR lines).
    Output { client: u64, bytes: bytes::Bytes },
    /// Look at the client's `killed` flag.
    Kill { client: u64 },
    /// Stop serving: the server is shutting down.
    Shutdown,
    /// Nothing to do but run the loop once (clients held during a load
    /// are taken then).
    Wake,
    /// A blocked client's wait is over (served, or CLIENT UNBLOCK): send it
    /// `reply` and run its next commands.
    Unblocked {
        client: u64,
        token: usize,
        reply: bytes::Bytes,
    },
}

/// A worker's inbox.
pub(crate) struct WorkerHandle {
    pub(crate) tx: crossbeam::channel::Sender<WorkerMsg>,
    pub(crate) waker: Arc<mio::Waker>,
}

impl WorkerHandle {
    pub(crate) fn send(&self, msg: WorkerMsg) {
        if self.tx.send(msg).is_ok() {
            // A failed wake means the worker is gone; nothing to do.
            let _ = self.waker.wake();
        }
    }
}

/// Everything the workers share.
pub(crate) struct Shared {
    pub(crate) store: Arc<Store>,
    pub(crate) config: RwLock<Config>,
    pub(crate) clients: RwLock<HashMap<u64, Arc<ClientMeta>>>,
    pub(crate) workers: RwLock<Vec<WorkerHandle>>,
    pub(crate) counters: Counters,
    pub(crate) next_client_id: AtomicU64,
    pub(crate) started: Instant,
    pub(crate) run_id: String,
    pub(crate) port: u16,
    pub(crate) shutdown: AtomicBool,
    /// Clients paused until this Unix ms (CLIENT PAUSE), and whether only
    /// writes are paused.
    pub(crate) pause_until_ms: AtomicU64,
    pub(crate) pause_writes_only: AtomicBool,
    pub(crate) pubsub: crate::pubsub::Registry,
    /// SLOWLOG.
    pub(crate) slowlog: crate::slowlog::SlowLog,
    /// LATENCY: the latency monitor's events and settings.
    pub(crate) latency: crate::latency::Monitor,
    /// DEBUG's switches.
    pub(crate) debug: DebugSettings,
    /// MONITOR clients: (client id, worker).
    pub(crate) monitors: RwLock<Vec<(u64, usize)>>,
    pub(crate) monitor_count: AtomicUsize,
    /// Error replies by error code (`INFO errorstats`).
    pub(crate) error_stats: Mutex<std::collections::BTreeMap<String, u64>>,
    /// Clients waiting in blocking commands.
    pub(crate) blocking: crate::blocking::Registry,
    /// RDB and AOF state.
    pub(crate) persist: crate::persist::Persistence,
    /// Cluster mode's state, when `cluster-enabled yes`.
    pub(crate) cluster: Option<crate::cluster::Cluster>,
    /// Replication: both roles' state.
    pub(crate) repl: crate::repl::Repl,
    /// MIGRATE's cached connections to targets.
    pub(crate) migrate_sockets: crate::commands::migrate::SocketCache,
    /// Atomic slot migrations, both ways (cluster mode).
    pub(crate) slotmig: crate::cluster::slotmig::SlotMigrations,
    /// This value's own `Arc`, for work handed to other threads.
    me: std::sync::OnceLock<std::sync::Weak<Shared>>,
}

impl Shared {
    /// Runs in cluster mode with `cluster`.
    pub(crate) fn with_cluster(mut self, cluster: crate::cluster::Cluster) -> Shared {
        self.cluster = Some(cluster);
        self
    }

    pub(crate) fn new(store: Arc<Store>, config: Config) -> Shared {
        let port = config.port();
        let (slowlog_threshold, slowlog_max_len) =
            (config.slowlog_log_slower_than(), config.slowlog_max_len());
        let latency = crate::latency::Monitor::new(
            config.get_i64("latency-monitor-threshold").unwrap_or(0),
            config.get_bool("latency-tracking").unwrap_or(true),
        );
        Shared {
            store,
            config: RwLock::new(config),
            clients: RwLock::new(HashMap::new()),
            workers: RwLock::new(Vec::new()),
            counters: Counters::default(),
            next_client_id: AtomicU64::new(1),
            started: Instant::now(),
            run_id: random_hex(40),
            port,
            shutdown: AtomicBool::new(false),
            pause_until_ms: AtomicU64::new(0),
            pause_writes_only: AtomicBool::new(false),
            pubsub: crate::pubsub::Registry::default(),
            error_stats: Mutex::new(std::collections::BTreeMap::new()),
            monitors: RwLock::new(Vec::new()),
            slowlog: crate::slowlog::SlowLog::new(slowlog_threshold, slowlog_max_len),
            latency,
            debug: DebugSettings::default(),
            monitor_count: AtomicUsize::new(0),
            blocking: crate::blocking::Registry::default(),
            persist: crate::persist::Persistence::new(),
            cluster: None,
            repl: crate::repl::Repl::new(),
            migrate_sockets: Default::default(),
            slotmig: Default::default(),
            me: std::sync::OnceLock::new(),
        }
    }

    /// Wraps `shared` in its `Arc` and lets it find itself ([`Shared::me`]).
    pub(crate) fn into_arc(shared: Shared) -> Arc<Shared> {
        let arc = Arc::new(shared);
        let _ = arc.me.set(Arc::downgrade(&arc));
        arc
    }

    /// The `Arc` this value lives in; `None` only while it is being
    /// dropped.
    pub(crate) fn me(&self) -> Option<Arc<Shared>> {
        self.me.get().and_then(std::sync::Weak::upgrade)
    }

    /// Has every worker run its loop once (and retry clients a pause
    /// held).
    pub(crate) fn wake_workers(&self) {
        for w in self.workers.read().iter() {
            w.send(WorkerMsg::Wake);
        }
    }

    pub(crate) fn next_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `msg` to the worker that owns `client`.
    pub(crate) fn send_to_owner(&self, client: &ClientMeta, msg: WorkerMsg) {
        if let Some(w) = self.workers.read().get(client.worker) {
            w.send(msg);
        }
    }
}

/// Unix time in milliseconds.
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A random number (not for cryptography): each call hashes the clock and
/// a counter with a freshly keyed hasher.
pub(crate) fn random_u64() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(unix_ms());
    h.write_u64(CALLS.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

/// `n` random lowercase hex digits (run ids, node ids).
pub(crate) fn random_hex(n: usize) -> String {
    let mut out = String::with_capacity(n);
    while out.len() < n {
        out.push_str(&format!("{:016x}", random_u64()));
    }
    out.truncate(n);
    out
}
