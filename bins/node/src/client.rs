//! One client connection: its socket, buffers and session state.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use bytes::BytesMut;
use ferrodis_resp::{Protocol, Request, RequestDecoder};
use ferrodis_store::WatchFlag;

use crate::shared::ClientMeta;

/// `CLIENT REPLY ON|OFF|SKIP`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// Skipping the reply of the current command.
    Skipping,
}

/// A transaction being queued (MULTI ... EXEC).
#[derive(Debug, Default)]
pub(crate) struct Multi {
    pub(crate) queued: Vec<Request>,
    /// A command was rejected while queueing: EXEC will abort.
    pub(crate) errored: bool,
}

/// A connected client.
pub(crate) struct Client {
    pub(crate) meta: Arc<ClientMeta>,
    /// The connection; `None` for a session without a socket (the AOF
    /// loader, tests and fuzz targets driving dispatch directly).
    pub(crate) stream: Option<mio::net::TcpStream>,
    pub(crate) rbuf: BytesMut,
    pub(crate) wbuf: BytesMut,
    pub(crate) decoder: RequestDecoder,
    pub(crate) request: Request,
    pub(crate) db: usize,
    pub(crate) proto: Protocol,
    pub(crate) authenticated: bool,
    pub(crate) close_after_reply: bool,
    /// The client replaying a file while the dataset loads: its commands
    /// run although others get `-LOADING`.
    pub(crate) loader: bool,
    /// ASKING was the previous command (cluster mode): the next one may
    /// use a slot this node is importing.
    pub(crate) asking: bool,
    /// READONLY (cluster mode): reads of the master's slots are served
    /// by this replica.
    pub(crate) readonly: bool,
    pub(crate) reply_mode: ReplyMode,
    pub(crate) multi: Option<Multi>,
    pub(crate) watched: Vec<(usize, Vec<u8>)>,
    pub(crate) watch_flag: WatchFlag,
    /// Subscribed channels, patterns and shard channels.
    pub(crate) channels: std::collections::BTreeSet<bytes::Bytes>,
    pub(crate) patterns: std::collections::BTreeSet<bytes::Bytes>,
    pub(crate) shard_channels: std::collections::BTreeSet<bytes::Bytes>,
    /// Whether WRITABLE interest is registered.
    pub(crate) want_write: bool,
    /// Whether the running command replied with an error.
    pub(crate) command_failed: bool,
    /// Since when the output buffer has been above its soft limit.
    pub(crate) obuf_soft_since: Option<std::time::Instant>,
    /// A decoded request held back while clients are paused.
    pub(crate) held: Option<Request>,
    /// This connection streams slots to import (`CLUSTER SYNCSLOTS
    /// BEGIN`): its writes skip the cluster's slot check.
    pub(crate) importer: bool,
    /// An import stream's turn ended with commands left in its buffer.
    pub(crate) import_backlog: bool,
    /// Whether this client is a MONITOR.
    pub(crate) monitor: bool,
    /// Blocking commands: whether the client waits, and what for.
    pub(crate) block: crate::blocking::BlockState,
    /// What the running command asks to propagate instead of itself.
    pub(crate) propagate_as: Option<Vec<Vec<Vec<u8>>>>,
    /// Running the commands of EXEC; and whether its MULTI was propagated.
    pub(crate) in_exec: bool,
    pub(crate) exec_propagated: bool,
    /// The running command's time (Unix ms): every [`Ctx::db`] handle of
    /// one command sees it, as Redis freezes time for a command; `None`
    /// between commands.
    ///
    /// [`Ctx::db`]: crate::commands::Ctx::db
    pub(crate) now_ms: Option<u64>,
    /// What `REPLCONF` announced (a replica's port, address, capabilities).
    pub(crate) announced: crate::repl::master::Announced,
    /// `PSYNC`/`SYNC` ran: the worker hands the connection to replication.
    pub(crate) handoff: Option<Vec<bytes::Bytes>>,
    /// The master client of a replica: applies the stream, exempt from
    /// read-only and propagated only as its master's bytes.
    pub(crate) master: bool,
    /// The replication offset after this client's last write (WAIT).
    pub(crate) woff: u64,
}

impl Client {
    pub(crate) fn new(
        meta: Arc<ClientMeta>,
        stream: Option<mio::net::TcpStream>,
        auth_required: bool,
        max_bulk: usize,
    ) -> Client {
        let mut decoder = RequestDecoder::new(ferrodis_resp::Limits {
            max_bulk_len: max_bulk,
            ..ferrodis_resp::Limits::default()
        });
        decoder.set_auth_required(auth_required);
        Client {
            meta,
            stream,
            rbuf: BytesMut::with_capacity(16 * 1024),
            wbuf: BytesMut::with_capacity(16 * 1024),
            decoder,
            request: Request::default(),
            db: 0,
            proto: Protocol::Resp2,
            authenticated: !auth_required,
            close_after_reply: false,
            loader: false,
            asking: false,
            readonly: false,
            reply_mode: ReplyMode::On,
            multi: None,
            watched: Vec::new(),
            watch_flag: Arc::new(AtomicBool::new(false)),
            channels: Default::default(),
            patterns: Default::default(),
            shard_channels: Default::default(),
            want_write: false,
            command_failed: false,
            obuf_soft_since: None,
            held: None,
            importer: false,
            import_backlog: false,
            monitor: false,
            block: crate::blocking::BlockState::default(),
            propagate_as: None,
            in_exec: false,
            exec_propagated: false,
            now_ms: None,
            announced: Default::default(),
            handoff: None,
            master: false,
            woff: 0,
        }
    }

    pub(crate) fn id(&self) -> u64 {
        self.meta.id
    }

    /// Total subscriptions of every kind.
    pub(crate) fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }
}
