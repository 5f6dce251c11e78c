//! A client session without a socket: command dispatch driven directly.
//!
//! The AOF loader replays files through it, and tests and fuzz targets use
//! it to run arbitrary commands against a whole server state (store,
//! configuration, pub/sub registry) without the network.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use ferrodis_store::Store;

use crate::client::Client;
use crate::config::Config;
use crate::shared::{ClientMeta, Shared};

/// A client connected to an in-process server state, with no socket.
///
/// Blocking commands answer as they do inside MULTI (as if their timeout
/// had passed), since nothing else could ever wake them.
///
/// ```
/// let mut s = ferrodis_node::Session::standalone();
/// assert_eq!(s.execute(&[b"SET", b"k", b"v"]), b"+OK\r\n");
/// assert_eq!(s.execute(&[b"GET", b"k"]), b"$1\r\nv\r\n");
/// ```
pub struct Session {
    shared: Arc<Shared>,
    client: Client,
}

impl Session {
    /// A session on a fresh standalone server with the default
    /// configuration (16 databases, no limits).
    pub fn standalone() -> Session {
        let config = Config::default();
        let store = Arc::new(Store::builder().databases(config.databases()).build());
        Session::attach(Shared::into_arc(Shared::new(store, config)))
    }

    /// A new session on `shared`.
    pub(crate) fn attach(shared: Arc<Shared>) -> Session {
        let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        let meta = Arc::new(ClientMeta::new(
            shared.next_id(),
            addr,
            addr,
            -1,
            usize::MAX,
        ));
        let max_bulk = shared.config.read().proto_max_bulk_len() as usize;
        let mut client = Client::new(meta, None, false, max_bulk);
        client.block.deny = true;
        Session { shared, client }
    }

    /// A session that replays a file while the dataset loads: its
    /// commands run although other clients get `-LOADING`.
    pub(crate) fn attach_loader(shared: Arc<Shared>) -> Session {
        let mut session = Session::attach(shared);
        session.client.loader = true;
        session
    }

    /// The master client of a replica: it applies the replication stream.
    pub(crate) fn attach_master(shared: Arc<Shared>) -> Session {
        let mut session = Session::attach(shared);
        session.client.master = true;
        session
    }

    /// Whether a transaction is open (MULTI without EXEC yet).
    pub(crate) fn in_multi(&self) -> bool {
        self.client.multi.is_some()
    }

    /// The selected database.
    pub(crate) fn db(&self) -> usize {
        self.client.db
    }

    /// Selects a database without a command (a replica's master client
    /// after loading a payload, from its `repl-stream-db`).
    pub(crate) fn set_db(&mut self, db: usize) {
        self.client.db = db;
        self.client
            .meta
            .db
            .store(db, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs one command given as its arguments; returns the reply bytes
    /// (empty when the command sends none, e.g. under `CLIENT REPLY OFF`).
    pub fn execute(&mut self, argv: &[&[u8]]) -> Vec<u8> {
        let mut wire = Vec::new();
        wire.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
        for a in argv {
            wire.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            wire.extend_from_slice(a);
            wire.extend_from_slice(b"\r\n");
        }
        self.feed(&wire)
    }

    /// Feeds raw protocol bytes, as a socket would deliver them, and runs
    /// every complete command; returns what the server wrote back. A
    /// protocol error is answered as Redis answers it, and the session
    /// then accepts nothing more (the server would close the connection).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.client.close_after_reply {
            return Vec::new();
        }
        let mut rbuf = std::mem::take(&mut self.client.rbuf);
        let mut req = std::mem::take(&mut self.client.request);
        rbuf.extend_from_slice(bytes);
        loop {
            match self.client.decoder.decode_into(&mut rbuf, &mut req) {
                Ok(true) => {
                    crate::commands::dispatch(&self.shared, &mut self.client, &req);
                    if self.client.close_after_reply {
                        break;
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    ferrodis_resp::reply::error(
                        &mut self.client.wbuf,
                        format!("ERR {e}").as_bytes(),
                    );
                    self.client.close_after_reply = true;
                    rbuf.clear();
                    break;
                }
            }
        }
        self.client.rbuf = rbuf;
        self.client.request = req;
        let out = self.client.wbuf.to_vec();
        self.client.wbuf.clear();
        out
    }

    /// Whether the server closed this session (QUIT, a protocol error).
    pub fn closed(&self) -> bool {
        self.client.close_after_reply
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        crate::commands::on_disconnect(&self.shared, &mut self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::Session;

    /// A command reads the clock once: `SET k v PX 1` creates the key even
    /// when a millisecond passes while it runs (here: the first command
    /// creates database 0's tables, which takes longer than that in a debug
    /// build). The key then exists until it expires: DBSIZE, which counts
    /// expired keys not yet removed, sees it.
    #[test]
    fn a_command_sees_one_time() {
        for _ in 0..20 {
            let mut s = Session::standalone();
            assert_eq!(s.execute(&[b"SET", b"k", b"v", b"PX", b"1"]), b"+OK\r\n");
            assert_eq!(s.execute(&[b"DBSIZE"]), b":1\r\n");
        }
    }
}
