//! The cluster bus connections: a thread with its own mio loop that owns
//! the bus listener and every bus link, feeds what happens on them to the
//! state machine (`ferrodis_bus::cluster::ClusterNode`) and carries out
//! the actions it returns. Command handlers that change the cluster state
//! (CLUSTER MEET, ADDSLOTS, ...) lock the state machine themselves and
//! hand the actions they get to this thread.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam::channel::{Receiver, Sender};
use ferrodis_bus::cluster::{Action, LinkId};
use ferrodis_bus::types::NodeIp;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::log;
use crate::shared::{unix_ms, Shared};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Link tokens start here.
const LINKS: usize = 2;
/// How often the state machine's cron runs (Redis: 10 times a second).
const TICK: Duration = Duration::from_millis(100);
/// Bytes read at a time.
const READ_CHUNK: usize = 16 * 1024;

/// How command handlers reach the bus thread.
#[derive(Debug)]
pub(crate) struct BusHandle {
    tx: Sender<Vec<Action>>,
    waker: Arc<Waker>,
}

impl BusHandle {
    /// Has the bus thread carry out `actions` (none: just look at the
    /// state again).
    pub(crate) fn run(&self, actions: Vec<Action>) {
        if self.tx.send(actions).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

/// One bus connection.
struct Link {
    stream: TcpStream,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// An outgoing connection not yet established.
    connecting: bool,
}

/// Binds the bus port and starts the bus thread.
pub(crate) fn start(shared: &Arc<Shared>, addr: SocketAddr) -> io::Result<BusHandle> {
    let poll = Poll::new()?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
    let std_listener = std::net::TcpListener::bind(addr)?;
    std_listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(std_listener);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let (tx, rx) = crossbeam::channel::unbounded();
    let weak = Arc::downgrade(shared);
    std::thread::Builder::new()
        .name("cluster-bus".into())
        .spawn(move || {
            let mut bus = Bus {
                poll,
                listener,
                links: HashMap::new(),
                rx,
            };
            bus.run(&weak);
        })?;
    Ok(BusHandle { tx, waker })
}

struct Bus {
    poll: Poll,
    listener: TcpListener,
    links: HashMap<LinkId, Link>,
    rx: Receiver<Vec<Action>>,
}

fn token_of(link: LinkId) -> Token {
    Token(usize::try_from(link.0).unwrap_or(usize::MAX - LINKS) + LINKS)
}

fn link_of(token: Token) -> LinkId {
    LinkId((token.0 - LINKS) as u64)
}

impl Bus {
    fn run(&mut self, shared: &std::sync::Weak<Shared>) {
        let mut events = Events::with_capacity(256);
        let mut next_tick = std::time::Instant::now();
        loop {
            let wait = next_tick.saturating_duration_since(std::time::Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    log::warning(&format!("cluster bus stopped: {e}"));
                    return;
                }
            }
            let Some(shared) = shared.upgrade() else {
                return;
            };
            if shared.shutdown.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let Some(cluster) = shared.cluster.as_ref() else {
                return;
            };
            let mut actions = Vec::new();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(cluster),
                    WAKER => {}
                    token => {
                        let link = link_of(token);
                        if event.is_writable() {
                            self.on_writable(cluster, link, &mut actions);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.on_readable(cluster, link, &mut actions);
                        }
                    }
                }
            }
            while let Ok(more) = self.rx.try_recv() {
                actions.extend(more);
            }
            if std::time::Instant::now() >= next_tick {
                next_tick = std::time::Instant::now() + TICK;
                report_replication(&shared, cluster);
                actions.extend(cluster.node().on_tick(unix_ms()));
            }
            let resume = self.carry_out(&shared, cluster, actions);
            cluster.after_change(&shared);
            if resume {
                // Only now: the routing view that says who serves the
                // slots is out, so writes held by the manual failover's
                // pause are redirected, not accepted by a former master.
                shared.pause_until_ms.store(0, Ordering::SeqCst);
            }
        }
    }

    fn accept(&mut self, cluster: &super::Cluster) {
        loop {
            match self.listener.accept() {
                Ok((mut stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let ip = node_ip(addr.ip());
                    let local = stream
                        .local_addr()
                        .map(|a| node_ip(a.ip()))
                        .unwrap_or_default();
                    let link = cluster.node().on_accept(ip, local, unix_ms());
                    if self
                        .poll
                        .registry()
                        .register(&mut stream, token_of(link), Interest::READABLE)
                        .is_err()
                    {
                        cluster.node().on_closed(link);
                        continue;
                    }
                    self.links.insert(
                        link,
                        Link {
                            stream,
                            rbuf: Vec::new(),
                            wbuf: Vec::new(),
                            connecting: false,
                        },
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return,
            }
        }
    }

    fn on_writable(&mut self, cluster: &super::Cluster, link: LinkId, actions: &mut Vec<Action>) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        if l.connecting {
            // Connected, or failed: the socket error tells.
            let failed =
                l.stream.take_error().ok().flatten().is_some() || l.stream.peer_addr().is_err();
            if failed {
                self.close(cluster, link);
                return;
            }
            l.connecting = false;
            actions.extend(cluster.node().on_connected(link, unix_ms()));
        }
        self.flush(cluster, link);
    }

    fn on_readable(&mut self, cluster: &super::Cluster, link: LinkId, actions: &mut Vec<Action>) {
        let mut closed = false;
        let mut frames = Vec::new();
        {
            let Some(l) = self.links.get_mut(&link) else {
                return;
            };
            if l.connecting {
                return;
            }
            let mut chunk = [0u8; READ_CHUNK];
            loop {
                match l.stream.read(&mut chunk) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => l.rbuf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            let mut at = 0;
            loop {
                match ferrodis_bus::next_frame(l.rbuf.get(at..).unwrap_or_default()) {
                    Ok(Some(frame)) => {
                        at += frame.len();
                        frames.push(frame.to_vec());
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // Not a bus peer speaking our protocol.
                        closed = true;
                        break;
                    }
                }
            }
            l.rbuf.drain(..at);
        }
        for frame in frames {
            actions.extend(cluster.node().on_message(link, &frame, unix_ms()));
        }
        if closed {
            self.close(cluster, link);
        }
    }

    /// Carries out `actions`; true when writes paused for a manual
    /// failover may resume (after the routing view is published).
    fn carry_out(
        &mut self,
        shared: &Arc<Shared>,
        cluster: &super::Cluster,
        actions: Vec<Action>,
    ) -> bool {
        let mut resume = false;
        let mut queue = std::collections::VecDeque::from(actions);
        while let Some(action) = queue.pop_front() {
            match action {
                Action::Connect { link, ip, cport } => {
                    let Some(addr) = socket_addr(&ip, cport) else {
                        cluster.node().on_closed(link);
                        continue;
                    };
                    match TcpStream::connect(addr) {
                        Ok(mut stream) => {
                            let _ = stream.set_nodelay(true);
                            if self
                                .poll
                                .registry()
                                .register(
                                    &mut stream,
                                    token_of(link),
                                    Interest::READABLE | Interest::WRITABLE,
                                )
                                .is_err()
                            {
                                cluster.node().on_closed(link);
                                continue;
                            }
                            self.links.insert(
                                link,
                                Link {
                                    stream,
                                    rbuf: Vec::new(),
                                    wbuf: Vec::new(),
                                    connecting: true,
                                },
                            );
                        }
                        Err(_) => cluster.node().on_closed(link),
                    }
                }
                Action::Send { link, bytes } => {
                    if let Some(l) = self.links.get_mut(&link) {
                        l.wbuf.extend_from_slice(&bytes);
                        if !l.connecting {
                            self.flush(cluster, link);
                        }
                    }
                }
                Action::Close { link } => {
                    if let Some(mut l) = self.links.remove(&link) {
                        let _ = self.poll.registry().deregister(&mut l.stream);
                    }
                }
                Action::Deliver {
                    channel,
                    message,
                    shard,
                } => {
                    let kind = if shard {
                        crate::pubsub::Kind::Shard
                    } else {
                        crate::pubsub::Kind::Channel
                    };
                    shared.pubsub.publish(shared, kind, &channel, &message);
                }
                Action::BecomeMaster => crate::repl::become_master(shared),
                Action::ReplicateFrom { ip, port, .. } => {
                    crate::repl::replicate_from(shared, &ip, port);
                }
                Action::PauseWrites { until_ms } => {
                    pause_writes(shared, until_ms);
                    report_replication(shared, cluster);
                    resume = false;
                }
                Action::ResumeWrites => resume = true,
            }
        }
        resume
    }

    /// Writes what a link has pending; watches for writability while some
    /// is left.
    fn flush(&mut self, cluster: &super::Cluster, link: LinkId) {
        let Some(l) = self.links.get_mut(&link) else {
            return;
        };
        let mut failed = false;
        while !l.wbuf.is_empty() {
            match l.stream.write(&l.wbuf) {
                Ok(0) => {
                    failed = true;
                    break;
                }
                Ok(n) => {
                    l.wbuf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            self.close(cluster, link);
            return;
        }
        let interest = if l.wbuf.is_empty() {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        let _ = self
            .poll
            .registry()
            .reregister(&mut l.stream, token_of(link), interest);
    }

    fn close(&mut self, cluster: &super::Cluster, link: LinkId) {
        if let Some(mut l) = self.links.remove(&link) {
            let _ = self.poll.registry().deregister(&mut l.stream);
        }
        cluster.node().on_closed(link);
    }
}

/// A peer's address as the bus writes it.
fn node_ip(ip: IpAddr) -> NodeIp {
    let text = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => v6.to_string(),
        },
        IpAddr::V4(v4) => v4.to_string(),
    };
    NodeIp::new(text.as_bytes()).unwrap_or_default()
}

/// Where to connect for a node's bus.
fn socket_addr(ip: &NodeIp, cport: u16) -> Option<SocketAddr> {
    let text = std::str::from_utf8(ip.as_bytes()).ok()?;
    let ip: IpAddr = text.parse().ok()?;
    Some(SocketAddr::new(ip, cport))
}

/// The master's side of a manual failover: writes wait from now until
/// `until_ms`. Returns once no write is running, so that the offset read
/// next is final: a write that passed its pause check before this entered
/// the write gate first and is waited for here; one that enters the gate
/// after sees the pause there and is held (`commands::run`). While the
/// node has replicas every write passes the gate.
fn pause_writes(shared: &Shared, until_ms: u64) {
    shared.pause_writes_only.store(true, Ordering::SeqCst);
    shared.pause_until_ms.store(until_ms, Ordering::SeqCst);
    drop(shared.persist.gate.exclusive());
}

/// Tells the state machine this node's replication offset (carried by
/// every bus message; replicas rank by it, a manual failover waits for
/// it) and, on a replica, when it last heard from its master (the
/// `cluster-replica-validity-factor` data age).
fn report_replication(shared: &Shared, cluster: &super::Cluster) {
    let offset = crate::repl::current_offset(shared);
    let last = crate::repl::master_last_interaction(shared);
    let mut node = cluster.node();
    node.set_repl_offset(offset);
    node.set_master_last_interaction(last);
}
