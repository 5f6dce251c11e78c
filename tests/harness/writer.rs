//! A cluster client that writes without pause while a test kills, pauses
//! and fails over nodes, and remembers every write a master acknowledged
//! and when: what a failover must not lose.
//!
//! It routes by slot like a smart client (`-MOVED` updates its table,
//! `-ASK` is followed once), retries a key until it is acknowledged or the
//! writer is stopped, and never panics on a connection that dies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ferrodis_resp::Frame;

use crate::Client;

/// One acknowledged write.
#[derive(Debug, Clone)]
pub struct Acked {
    /// The key written.
    pub key: String,
    /// The value it was set to.
    pub value: String,
    /// When the `+OK` came back.
    pub at: Instant,
}

/// A running writer; [`ClusterWriter::stop`] ends it and returns its
/// acknowledged writes.
pub struct ClusterWriter {
    stop: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    handle: Option<JoinHandle<Vec<Acked>>>,
}

impl ClusterWriter {
    /// Starts writing `<prefix>:<n>` = `<n>` for n = 0, 1, ... through the
    /// nodes at `ports` (127.0.0.1), the first of which must be up.
    pub fn start(ports: &[u16], prefix: &str) -> ClusterWriter {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(AtomicU64::new(0));
        let handle = {
            let stop = Arc::clone(&stop);
            let acked = Arc::clone(&acked);
            let ports = ports.to_vec();
            let prefix = prefix.to_owned();
            std::thread::spawn(move || write_loop(&ports, &prefix, &stop, &acked))
        };
        ClusterWriter {
            stop,
            acked,
            handle: Some(handle),
        }
    }

    /// How many writes were acknowledged so far.
    pub fn acked(&self) -> u64 {
        self.acked.load(Ordering::Relaxed)
    }

    /// Waits until `n` more writes than now were acknowledged (panics
    /// after `timeout`): the cluster is taking writes.
    pub fn wait_progress(&self, n: u64, timeout: Duration) {
        let target = self.acked() + n;
        crate::wait_until(timeout, "the writer to make progress", || {
            self.acked() >= target
        });
    }

    /// Stops the writer and returns what was acknowledged, in order.
    pub fn stop(mut self) -> Vec<Acked> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for ClusterWriter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Connections by port, opened on demand and dropped on any I/O error.
struct Pool {
    conns: HashMap<u16, Client>,
}

impl Pool {
    fn call(&mut self, port: u16, args: &[&str]) -> Option<Frame> {
        let c = match self.conns.entry(port) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let stream = std::net::TcpStream::connect_timeout(
                    &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
                    Duration::from_millis(500),
                )
                .ok()?;
                let mut c = Client::new(stream);
                c.set_read_timeout(Duration::from_secs(2));
                e.insert(c)
            }
        };
        let reply = c.try_send(args).and_then(|()| c.try_read());
        match reply {
            Ok(f) => Some(f),
            Err(_) => {
                self.conns.remove(&port);
                None
            }
        }
    }
}

/// `host:port` of a `-MOVED`/`-ASK` error, as a port on 127.0.0.1.
fn redirect(text: &str) -> Option<(bool, u16)> {
    let mut parts = text.split(' ');
    let kind = parts.next()?;
    let _slot = parts.next()?;
    let port = parts.next()?.rsplit(':').next()?.parse().ok()?;
    match kind {
        "MOVED" => Some((false, port)),
        "ASK" => Some((true, port)),
        _ => None,
    }
}

fn write_loop(ports: &[u16], prefix: &str, stop: &AtomicBool, count: &AtomicU64) -> Vec<Acked> {
    let mut pool = Pool {
        conns: HashMap::new(),
    };
    let mut route: HashMap<u16, u16> = HashMap::new();
    let mut acked = Vec::new();
    let mut n: u64 = 0;
    let mut fallback = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let key = format!("{prefix}:{n}");
        let value = n.to_string();
        let slot = ferrodis_slots::key_slot(key.as_bytes()).get();
        let mut port = route
            .get(&slot)
            .copied()
            .unwrap_or(ports[fallback % ports.len()]);
        let mut asking = false;
        let mut done = false;
        for _ in 0..8 {
            if asking {
                let _ = pool.call(port, &["ASKING"]);
            }
            match pool.call(port, &["SET", &key, &value]) {
                Some(Frame::Simple(s)) if s.as_ref() == b"OK" => {
                    done = true;
                    break;
                }
                Some(Frame::Error(e)) => {
                    let text = String::from_utf8_lossy(&e).into_owned();
                    match redirect(&text) {
                        Some((false, to)) => {
                            route.insert(slot, to);
                            port = to;
                            asking = false;
                        }
                        Some((true, to)) => {
                            port = to;
                            asking = true;
                        }
                        // CLUSTERDOWN, TRYAGAIN, READONLY, LOADING: wait.
                        None => {
                            std::thread::sleep(Duration::from_millis(20));
                            route.remove(&slot);
                            fallback += 1;
                            break;
                        }
                    }
                }
                _ => {
                    // Connection refused or lost: try another node.
                    route.remove(&slot);
                    fallback += 1;
                    std::thread::sleep(Duration::from_millis(20));
                    break;
                }
            }
        }
        if done {
            acked.push(Acked {
                key,
                value,
                at: Instant::now(),
            });
            count.fetch_add(1, Ordering::Relaxed);
            n += 1;
        }
    }
    acked
}
