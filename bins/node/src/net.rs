//! The network side: listeners and worker threads, each running a mio
//! event loop over its own share of the connections.
//!
//! Every worker registers a clone of each listening socket, so an incoming
//! connection is accepted by whichever worker wakes first, and then stays
//! on that worker. Workers run commands directly against the shared store;
//! its per-slot locks let them proceed in parallel. Other threads reach a
//! worker through its inbox and [`mio::Waker`].

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use crossbeam::channel::{unbounded, Receiver};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::blocking::{self, Timers};
use crate::client::Client;
use crate::commands;
use crate::log;
use crate::shared::{unix_ms, ClientMeta, Shared, WorkerHandle, WorkerMsg};

const WAKER: Token = Token(usize::MAX - 1);
/// Listener tokens count down from here.
const LISTENER_BASE: usize = usize::MAX - 2;
/// How much to read at once.
const READ_CHUNK: usize = 16 * 1024;
/// Commands a connection streaming a slot import runs before the worker
/// serves its other clients again.
const IMPORT_BUDGET: usize = 32;

/// Binds the configured addresses, with an accept queue of `backlog`
/// (`tcp-backlog`). A `-` before an address makes it optional (as
/// `bind * -::*` in Redis).
pub(crate) fn bind(
    addrs: &[String],
    port: u16,
    backlog: i64,
) -> io::Result<Vec<std::net::TcpListener>> {
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    let mut out = Vec::new();
    let addrs: Vec<String> = if addrs.is_empty() {
        vec!["*".to_owned(), "-::*".to_owned()]
    } else {
        addrs.to_vec()
    };
    for a in &addrs {
        let (optional, a) = match a.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, a.as_str()),
        };
        let ip = match a {
            "*" => "0.0.0.0",
            "::*" => "::",
            other => other,
        };
        let addr: SocketAddr = match format!("{ip}:{port}")
            .parse()
            .or_else(|_| format!("[{ip}]:{port}").parse())
        {
            Ok(addr) => addr,
            Err(_) if optional => continue,
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid bind address '{a}'"),
                ))
            }
        };
        match crate::sys::tcp_listener(addr, backlog) {
            Ok(l) => out.push(l),
            Err(e) if optional => {
                log::verbose(&format!("Could not bind optional address {addr}: {e}"))
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("Could not create server TCP listening socket {addr}: {e}"),
                ))
            }
        }
    }
    Ok(out)
}

/// Warns, as Redis does, when the kernel caps the listen backlog below
/// `tcp-backlog` (`net.core.somaxconn`).
pub(crate) fn check_backlog(backlog: i64) {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") else {
        return;
    };
    if let Ok(somaxconn) = text.trim().parse::<i64>() {
        if somaxconn < backlog {
            log::warning(&format!("WARNING: The TCP backlog setting of {backlog} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {somaxconn}."));
        }
    }
}

/// Starts `n` workers over `listeners`; returns their join handles.
pub(crate) fn start_workers(
    shared: &Arc<Shared>,
    listeners: &[std::net::TcpListener],
    n: usize,
) -> io::Result<Vec<std::thread::JoinHandle<()>>> {
    let mut handles = Vec::new();
    for index in 0..n {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = unbounded();
        shared.workers.write().push(WorkerHandle { tx, waker });
        let mut mine = Vec::new();
        for (i, l) in listeners.iter().enumerate() {
            let mut l = TcpListener::from_std(l.try_clone()?);
            poll.registry()
                .register(&mut l, Token(LISTENER_BASE - i), Interest::READABLE)?;
            mine.push(l);
        }
        let shared = Arc::clone(shared);
        let limits = shared.config.read().client_output_buffer_limits();
        let handle = std::thread::Builder::new()
            .name(format!("worker-{index}"))
            .spawn(move || {
                let mut worker = Worker {
                    index,
                    shared,
                    poll,
                    listeners: mine,
                    inbox: rx,
                    clients: Vec::new(),
                    tokens: std::collections::HashMap::new(),
                    obuf_limits: limits,
                    free: Vec::new(),
                    timers: Timers::default(),
                    deferred: Vec::new(),
                    yielded: Vec::new(),
                };
                if let Err(e) = worker.run() {
                    log::warning(&format!("worker {index} stopped: {e}"));
                }
            })?;
        handles.push(handle);
    }
    Ok(handles)
}

struct Worker {
    index: usize,
    shared: Arc<Shared>,
    poll: Poll,
    listeners: Vec<TcpListener>,
    inbox: Receiver<WorkerMsg>,
    /// Clients by token; `None` marks a free slot.
    clients: Vec<Option<Client>>,
    /// Tokens by client id.
    tokens: std::collections::HashMap<u64, usize>,
    /// `client-output-buffer-limit` (normal, replica, pubsub), refreshed
    /// by the cron.
    obuf_limits: [crate::config::ClientBufferLimit; 3],
    free: Vec<usize>,
    /// Deadlines of this worker's blocked clients.
    timers: Timers,
    /// Clients with input left unread while the dataset loads and the
    /// loader does not yet let clients in (see `Loading::lets_clients_in`).
    deferred: Vec<usize>,
    /// Connections that stopped running commands to let others run (a
    /// slot import's stream): they go on after the next poll, which then
    /// does not wait.
    yielded: Vec<usize>,
}

impl Worker {
    fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        let mut last_cron = Instant::now();
        loop {
            let hz = self.shared.config.read().hz().clamp(1, 500);
            let period = Duration::from_millis(1000 / u64::from(hz));
            let wait = if self.yielded.is_empty() {
                self.timers.wait(period)
            } else {
                Duration::ZERO
            };
            match self.poll.poll(&mut events, Some(wait)) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            for event in events.iter() {
                match event.token() {
                    WAKER => self.drain_inbox(),
                    Token(t) if t > LISTENER_BASE - self.listeners.len() && t <= LISTENER_BASE => {
                        self.accept(LISTENER_BASE - t)
                    }
                    Token(t) => {
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.on_readable(t);
                        }
                        if event.is_writable() {
                            self.flush(t);
                        }
                    }
                }
            }
            for t in std::mem::take(&mut self.yielded) {
                self.on_readable(t);
            }
            if !self.deferred.is_empty() && !self.shared.persist.loading.holds_clients() {
                for t in std::mem::take(&mut self.deferred) {
                    self.on_readable(t);
                    self.flush(t);
                }
            }
            self.time_out_blocked();
            if self.shared.shutdown.load(Ordering::Relaxed) {
                return Ok(());
            }
            if last_cron.elapsed() >= period {
                last_cron = Instant::now();
                self.cron(period);
            }
        }
    }

    /// Clients held by a pause (CLIENT PAUSE, a failover's or a slot
    /// migration's) try again.
    fn retry_held(&mut self) {
        let held: Vec<usize> = self
            .clients
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| c.held.is_some()))
            .map(|(i, _)| i)
            .collect();
        for t in held {
            if let Some(Some(c)) = self.clients.get_mut(t) {
                if c.importer {
                    // Its socket may hold more than its buffer: read on.
                    if !self.yielded.contains(&t) {
                        self.yielded.push(t);
                    }
                    continue;
                }
                process(&self.shared, c);
            }
            self.flush(t);
        }
    }

    /// Periodic work: the active expire cycle (worker 0 only, as Redis runs
    /// it from its single cron) and client timeouts.
    fn cron(&mut self, period: Duration) {
        if self.shared.debug.pause_cron.load(Ordering::Relaxed) {
            return;
        }
        self.obuf_limits = self.shared.config.read().client_output_buffer_limits();
        self.retry_held();
        if self.index == 0 {
            // Redis spends at most 25% of the cron period expiring keys
            // (unless DEBUG SET-ACTIVE-EXPIRE 0 turned that off).
            // A replica does not expire keys itself: it waits for its
            // master's DEL, as Redis' replicas do.
            if self.shared.debug.active_expire.load(Ordering::Relaxed)
                && !self.shared.repl.is_replica()
            {
                let start = Instant::now();
                // The DELs it propagates keep their place among writes
                // (see `persist/gate.rs`).
                let propagating = self.shared.persist.aof_on.load(Ordering::Relaxed)
                    || self.shared.repl.active.load(Ordering::Relaxed);
                let gate = propagating.then(|| self.shared.persist.gate.exclusive());
                self.shared.store.active_expire_cycle(period / 4);
                drop(gate);
                let micros = start.elapsed().as_micros() as u64;
                self.shared.latency.sample_if_needed("expire-cycle", micros);
            }
            crate::alloc::update_peak();
            if let Some(sig) = crate::sys::take_shutdown_signal() {
                crate::commands::persist::shutdown_on_signal(&self.shared, sig);
            }
            crate::persist::cron(&self.shared);
        }
        let timeout = self.shared.config.read().timeout();
        if timeout > 0 {
            let now = unix_ms();
            let idle: Vec<usize> = self
                .clients
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.as_ref().map(|c| (i, c)))
                .filter(|(_, c)| {
                    c.meta.subscriptions.load(Ordering::Relaxed) == 0
                        && !c.block.is_blocked()
                        && now.saturating_sub(c.meta.last_interaction_ms.load(Ordering::Relaxed))
                            > timeout * 1000
                })
                .map(|(i, _)| i)
                .collect();
            for i in idle {
                self.close(i);
            }
        }
    }

    fn drain_inbox(&mut self) {
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                WorkerMsg::Publish {
                    client,
                    kind,
                    pattern,
                    channel,
                    message,
                } => {
                    if let Some(t) = self.token_of(client) {
                        if let Some(Some(c)) = self.clients.get_mut(t) {
                            commands::deliver_message(
                                c,
                                kind,
                                pattern.as_deref(),
                                &channel,
                                &message,
                            );
                        }
                        self.flush(t);
                    }
                }
                WorkerMsg::Output { client, bytes } => {
                    if let Some(t) = self.token_of(client) {
                        if let Some(Some(c)) = self.clients.get_mut(t) {
                            c.wbuf.extend_from_slice(&bytes);
                        }
                        self.flush(t);
                    }
                }
                WorkerMsg::Kill { client } => {
                    if let Some(t) = self.token_of(client) {
                        self.close(t);
                    }
                }
                WorkerMsg::Shutdown => self.shared.shutdown.store(true, Ordering::Relaxed),
                WorkerMsg::Wake => self.retry_held(),
                WorkerMsg::Unblocked {
                    client,
                    token,
                    reply,
                } => {
                    if let Some(Some(c)) = self.clients.get_mut(token) {
                        if c.id() == client && blocking::resume(c, &mut self.timers, &reply) {
                            self.resume(token);
                        }
                    }
                }
            }
        }
    }

    /// Ends the waits of blocked clients whose timeout passed.
    fn time_out_blocked(&mut self) {
        for (id, token) in self.timers.due() {
            if let Some(Some(c)) = self.clients.get_mut(token) {
                if c.id() == id && blocking::time_out(&self.shared, c, &mut self.timers) {
                    self.resume(token);
                }
            }
        }
    }

    /// Runs the commands a client sent while it was blocked, and writes.
    fn resume(&mut self, token: usize) {
        let shared = Arc::clone(&self.shared);
        if let Some(Some(c)) = self.clients.get_mut(token) {
            process(&shared, c);
            self.timers.schedule(c);
        }
        self.flush(token);
    }

    fn token_of(&self, id: u64) -> Option<usize> {
        self.tokens.get(&id).copied()
    }

    fn accept(&mut self, listener: usize) {
        loop {
            let Some(l) = self.listeners.get(listener) else {
                return;
            };
            let (mut stream, addr) = match l.accept() {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warning(&format!("Accepting client connection: {e}"));
                    return;
                }
            };
            let shared = Arc::clone(&self.shared);
            shared
                .counters
                .connections_received
                .fetch_add(1, Ordering::Relaxed);
            let (maxclients, keepalive) = {
                let cfg = shared.config.read();
                (cfg.maxclients(), cfg.get_i64("tcp-keepalive").unwrap_or(0))
            };
            let connected = shared.counters.connected_clients.load(Ordering::Relaxed);
            if connected as u64 >= maxclients {
                // Redis writes the error and closes.
                let _ = stream.write_all(b"-ERR max number of clients reached\r\n");
                shared
                    .counters
                    .rejected_connections
                    .fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let _ = stream.set_nodelay(true);
            // `tcp-keepalive` (read per connection, so CONFIG SET applies
            // to the next ones, as in Redis); 0 leaves keepalive off.
            if keepalive > 0 {
                let interval = i32::try_from(keepalive).unwrap_or(i32::MAX);
                if let Err(e) = crate::sys::set_keepalive(stream.as_fd(), interval) {
                    log::verbose(&format!("Setting TCP keepalive for {addr}: {e}"));
                }
            }
            let token = match self.free.pop() {
                Some(t) => t,
                None => {
                    self.clients.push(None);
                    self.clients.len() - 1
                }
            };
            if self
                .poll
                .registry()
                .register(&mut stream, Token(token), Interest::READABLE)
                .is_err()
            {
                self.free.push(token);
                continue;
            }
            let meta = Arc::new(ClientMeta::new(
                shared.next_id(),
                addr,
                stream.local_addr().unwrap_or(addr),
                stream.as_raw_fd(),
                self.index,
            ));
            let (auth_required, max_bulk) = {
                let cfg = shared.config.read();
                (
                    cfg.requirepass().is_some(),
                    cfg.proto_max_bulk_len() as usize,
                )
            };
            shared.clients.write().insert(meta.id, Arc::clone(&meta));
            self.tokens.insert(meta.id, token);
            shared
                .counters
                .connected_clients
                .fetch_add(1, Ordering::Relaxed);
            if let Some(slot) = self.clients.get_mut(token) {
                let mut client = Client::new(meta, Some(stream), auth_required, max_bulk);
                client.block.token = token;
                *slot = Some(client);
            }
        }
    }

    fn on_readable(&mut self, token: usize) {
        let shared = Arc::clone(&self.shared);
        if shared.persist.loading.holds_clients() {
            // Read later: Redis too leaves clients waiting until its loader
            // first processes events.
            if !self.deferred.contains(&token) {
                self.deferred.push(token);
            }
            return;
        }
        let Some(Some(client)) = self.clients.get_mut(token) else {
            return;
        };
        let mut closed = false;
        // A slot import's stream shares the worker: a budget of commands a
        // turn, so that other clients wait for that at most.
        let importer = client.importer;
        let mut drained = !importer;
        loop {
            // Commands left over from its last turn run before more is
            // read.
            if importer && client.import_backlog {
                break;
            }
            if let Some(need) = client.decoder.bytes_needed(client.rbuf.len()) {
                client.rbuf.reserve(need.min(64 * 1024 * 1024));
            }
            client.rbuf.reserve(READ_CHUNK);
            let len = client.rbuf.len();
            let cap = client.rbuf.capacity();
            client.rbuf.resize(cap, 0);
            let Some(stream) = client.stream.as_mut() else {
                break;
            };
            match stream.read(&mut client.rbuf[len..]) {
                Ok(0) => {
                    client.rbuf.truncate(len);
                    closed = true;
                    break;
                }
                Ok(n) => {
                    client.rbuf.truncate(len + n);
                    shared
                        .counters
                        .net_input_bytes
                        .fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    client.rbuf.truncate(len);
                    drained = true;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    client.rbuf.truncate(len);
                }
                Err(_) => {
                    client.rbuf.truncate(len);
                    closed = true;
                    break;
                }
            }
            // Run what has arrived before reading more, so a fast writer
            // cannot grow the buffer without bound.
            if !importer && client.rbuf.len() >= READ_CHUNK * 4 {
                process(&shared, client);
                if client.close_after_reply {
                    break;
                }
            }
        }
        let more = if importer {
            let more = process_some(&shared, client, IMPORT_BUDGET);
            client.import_backlog = more;
            more
        } else {
            process(&shared, client);
            false
        };
        // (A stream held by a pause goes on from `retry_held`.)
        if (more || !drained) && !closed && client.held.is_none() && !self.yielded.contains(&token)
        {
            self.yielded.push(token);
        }
        if client.handoff.is_some() && !closed {
            self.hand_to_replication(token);
            return;
        }
        self.timers.schedule(client);
        if closed {
            self.close(token);
        } else {
            self.flush(token);
        }
    }

    /// Writes pending output; registers for writability if the socket is
    /// full; closes the client if it asked to be closed.
    fn flush(&mut self, token: usize) {
        let shared = Arc::clone(&self.shared);
        let Some(Some(client)) = self.clients.get_mut(token) else {
            return;
        };
        // Writes reach the AOF before their replies reach clients.
        if !client.wbuf.is_empty() && shared.persist.aof_pending.load(Ordering::Acquire) {
            crate::persist::aof::flush(&shared);
        }
        while !client.wbuf.is_empty() {
            let Some(stream) = client.stream.as_mut() else {
                break;
            };
            match stream.write(&client.wbuf) {
                Ok(0) => break,
                Ok(n) => {
                    let _ = client.wbuf.split_to(n);
                    shared
                        .counters
                        .net_output_bytes
                        .fetch_add(n as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.close(token);
                    return;
                }
            }
        }
        let pending = !client.wbuf.is_empty();
        client.meta.obl.store(client.wbuf.len(), Ordering::Relaxed);
        // client-output-buffer-limit: pub/sub clients have their own class.
        let class = usize::from(client.subscriptions() > 0) * 2;
        if let Some(limit) = self.obuf_limits.get(class) {
            let len = client.wbuf.len() as u64;
            let over_hard = limit.hard_bytes > 0 && len > limit.hard_bytes;
            let over_soft = limit.soft_bytes > 0 && len > limit.soft_bytes;
            let since = if over_soft {
                *client.obuf_soft_since.get_or_insert_with(Instant::now)
            } else {
                Instant::now()
            };
            if !over_soft {
                client.obuf_soft_since = None;
            }
            let soft_expired = over_soft && since.elapsed().as_secs() as i64 >= limit.soft_seconds;
            if over_hard || soft_expired {
                log::warning(&format!(
                    "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    client.id(),
                    client.meta.addr
                ));
                self.close(token);
                return;
            }
        }
        if !pending && client.close_after_reply {
            self.close(token);
            return;
        }
        if pending != client.want_write {
            let interest = if pending {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if let Some(stream) = client.stream.as_mut() {
                if self
                    .poll
                    .registry()
                    .reregister(stream, Token(token), interest)
                    .is_ok()
                {
                    client.want_write = pending;
                }
            }
        }
        if client.meta.killed.load(Ordering::Relaxed) {
            self.close(token);
        }
    }

    /// A client that sent PSYNC or SYNC becomes a replica: its socket
    /// leaves this worker for the replication threads (`repl::master`).
    fn hand_to_replication(&mut self, token: usize) {
        let Some(Some(client)) = self.clients.get_mut(token) else {
            return;
        };
        let Some(argv) = client.handoff.take() else {
            return;
        };
        let Some(mut stream) = client.stream.take() else {
            return;
        };
        let _ = self.poll.registry().deregister(&mut stream);
        let handoff = crate::repl::master::Handoff {
            stream: std::net::TcpStream::from(stream),
            client_id: client.id(),
            peer_ip: client.meta.addr.ip().to_string(),
            announced: client.announced.clone(),
            argv,
            pending_out: client.wbuf.split().to_vec(),
            pending_in: client.rbuf.split().to_vec(),
        };
        self.close(token);
        crate::repl::master::start(&self.shared, handoff);
    }

    fn close(&mut self, token: usize) {
        let Some(slot) = self.clients.get_mut(token) else {
            return;
        };
        let Some(mut client) = slot.take() else {
            return;
        };
        if let Some(stream) = client.stream.as_mut() {
            let _ = self.poll.registry().deregister(stream);
        }
        self.timers.unschedule(&client);
        commands::on_disconnect(&self.shared, &mut client);
        self.shared.clients.write().remove(&client.id());
        self.tokens.remove(&client.id());
        self.shared
            .counters
            .connected_clients
            .fetch_sub(1, Ordering::Relaxed);
        self.free.push(token);
    }
}

/// Runs every complete request in the client's read buffer.
fn process(shared: &Shared, client: &mut Client) {
    process_some(shared, client, usize::MAX);
}

/// [`process`], running at most `budget` commands; whether it stopped
/// with a complete command left in the buffer.
fn process_some(shared: &Shared, client: &mut Client, budget: usize) -> bool {
    let mut rbuf = std::mem::take(&mut client.rbuf);
    let mut req = std::mem::take(&mut client.request);
    let mut ran = 0usize;
    let mut more = false;
    loop {
        if ran >= budget {
            more = !rbuf.is_empty();
            break;
        }
        ran += 1;
        if client.close_after_reply {
            rbuf.clear();
            break;
        }
        if client.handoff.is_some() {
            // The rest belongs to the replication link.
            break;
        }
        if client.block.is_blocked() {
            // A blocked client's next commands wait until it is unblocked.
            break;
        }
        if let Some(held) = client.held.take() {
            if commands::paused_for(shared, client, &held) {
                client.held = Some(held);
                break;
            }
            commands::dispatch(shared, client, &held);
            continue;
        }
        match client.decoder.decode_into(&mut rbuf, &mut req) {
            Ok(true) => {
                if commands::paused_for(shared, client, &req) {
                    client.held = Some(req.clone());
                    break;
                }
                commands::dispatch(shared, client, &req);
            }
            Ok(false) => break,
            Err(e) => {
                ferrodis_resp::reply::error(&mut client.wbuf, format!("ERR {e}").as_bytes());
                client.close_after_reply = true;
                log::verbose(&format!(
                    "Protocol error ({e}) from client id={}",
                    client.id()
                ));
                rbuf.clear();
                break;
            }
        }
    }
    client
        .meta
        .last_interaction_ms
        .store(unix_ms(), Ordering::Relaxed);
    client.meta.qbuf.store(rbuf.len(), Ordering::Relaxed);
    if rbuf.is_empty() && rbuf.capacity() > 1024 * 1024 {
        rbuf = BytesMut::with_capacity(READ_CHUNK);
    }
    client.rbuf = rbuf;
    client.request = req;
    more
}
