//! The master's side: answering `PSYNC` and encoding the stream.

use crate::backlog::Backlog;
use crate::id::{ReplId, ReplIds};

/// What a master answers to `PSYNC <replid> <offset>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// `+CONTINUE`: send `reply`, then the backlog from byte `from`.
    Continue {
        /// `+CONTINUE <replid>\r\n` for replicas that announced
        /// `capa psync2`, `+CONTINUE\r\n` for older ones.
        reply: Vec<u8>,
        /// The first stream byte the replica needs.
        from: u64,
    },
    /// A full resynchronization is needed (the reason, for the log).
    Full(&'static str),
}

/// Redis' `masterTryPartialResynchronization`: the replica may continue
/// when it names this node's current id, or its previous id with an offset
/// the two histories share (`<= second_repl_offset`), and the bytes it
/// needs are still in the backlog. `?` (or any malformed id) and offset -1
/// ask for a full resynchronization.
pub fn decide(
    ids: &ReplIds,
    backlog: Option<&Backlog>,
    replid: &[u8],
    offset: i64,
    psync2: bool,
) -> Decision {
    let Some(asked) = ReplId::parse(replid) else {
        return Decision::Full("replica asked for a full resync");
    };
    if asked != ids.replid
        && (asked != ids.replid2 || ids.replid2 == ReplId::ZERO || offset > ids.second_repl_offset)
    {
        return Decision::Full("replication id mismatch");
    }
    let Some(backlog) = backlog else {
        return Decision::Full("no backlog");
    };
    if offset < 0 || !backlog.covers(offset) {
        return Decision::Full("offset out of the backlog's range");
    }
    let reply = if psync2 {
        format!("+CONTINUE {}\r\n", ids.replid).into_bytes()
    } else {
        b"+CONTINUE\r\n".to_vec()
    };
    Decision::Continue {
        reply,
        from: offset as u64,
    }
}

/// `+FULLRESYNC <replid> <offset>\r\n`.
pub fn fullresync_reply(replid: &ReplId, offset: u64) -> Vec<u8> {
    format!("+FULLRESYNC {replid} {offset}\r\n").into_bytes()
}

/// Appends `argv` as a RESP multibulk, the form every command takes in the
/// stream (and in the AOF).
pub fn encode_command(out: &mut Vec<u8>, argv: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// The stream's current database, which decides when a `SELECT` goes
/// before a command (standalone mode; a cluster has one database).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamDb(Option<usize>);

impl StreamDb {
    /// Forgets the database, so the next command is preceded by `SELECT`
    /// (after a full resync a new replica may be anywhere).
    pub fn reset(&mut self) {
        self.0 = None;
    }

    /// Encodes `argv`, run in `db`, into `out`, with a `SELECT` first when
    /// the stream was in another database.
    pub fn encode(&mut self, out: &mut Vec<u8>, db: usize, argv: &[&[u8]]) {
        if self.0 != Some(db) {
            let n = db.to_string();
            encode_command(out, &[b"SELECT", n.as_bytes()]);
            self.0 = Some(db);
        }
        encode_command(out, argv);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn id(n: u64) -> ReplId {
        ReplId::from_random([n, n, n])
    }

    #[test]
    fn continue_needs_a_known_id_and_an_offset_in_the_backlog() {
        let mut ids = ReplIds::new(id(1));
        let mut backlog = Backlog::new(100, 0);
        backlog.feed(&[b'x'; 150]);
        // first byte 51, last 150
        let a = id(1).to_string();
        let cont = |ids: &ReplIds, replid: &str, off| {
            decide(ids, Some(&backlog), replid.as_bytes(), off, true)
        };
        assert!(matches!(cont(&ids, "?", -1), Decision::Full(_)));
        assert!(matches!(cont(&ids, &a, 50), Decision::Full(_)));
        assert_eq!(
            cont(&ids, &a, 51),
            Decision::Continue {
                reply: format!("+CONTINUE {a}\r\n").into_bytes(),
                from: 51
            }
        );
        assert!(matches!(
            cont(&ids, &a, 151),
            Decision::Continue { from: 151, .. }
        ));
        assert!(matches!(cont(&ids, &a, 152), Decision::Full(_)));
        assert!(matches!(
            cont(&ids, &id(2).to_string(), 100),
            Decision::Full(_)
        ));
        // After a promotion the old id is good up to second_repl_offset.
        ids.shift(id(3), 120);
        assert!(matches!(cont(&ids, &a, 121), Decision::Continue { .. }));
        assert!(matches!(cont(&ids, &a, 122), Decision::Full(_)));
        assert_eq!(
            decide(&ids, Some(&backlog), a.as_bytes(), 100, false),
            Decision::Continue {
                reply: b"+CONTINUE\r\n".to_vec(),
                from: 100
            }
        );
        assert!(matches!(
            decide(&ids, None, a.as_bytes(), 100, true),
            Decision::Full(_)
        ));
    }

    #[test]
    fn select_precedes_a_change_of_database() {
        let mut db = StreamDb::default();
        let mut out = Vec::new();
        db.encode(&mut out, 0, &[b"SET", b"k", b"v"]);
        db.encode(&mut out, 0, &[b"DEL", b"k"]);
        db.encode(&mut out, 3, &[b"DEL", b"k"]);
        assert_eq!(
            out,
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"
        );
    }
}
