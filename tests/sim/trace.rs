//! The run's event trace: compact notes, formatted only when printed. A
//! normal run keeps the last [`SHORT`] notes for a failure report; a replay
//! keeps them all, ticks included.

use super::plan::Op;
use ferrodis_bus::layout::header;
use ferrodis_bus::MessageType;
use std::collections::VecDeque;
use std::fmt;

/// How many notes a failure report shows.
pub(crate) const SHORT: usize = 60;

/// Something that happened, at a simulated time.
#[derive(Debug, Clone)]
pub(crate) enum Note {
    Step(Op),
    Tick {
        node: usize,
    },
    Connect {
        conn: u64,
        from: usize,
        to: Option<usize>,
    },
    Accept {
        conn: u64,
        node: usize,
        from: usize,
    },
    SynLost {
        conn: u64,
        attempt: usize,
    },
    Refused {
        conn: u64,
        node: usize,
    },
    Connected {
        conn: u64,
        node: usize,
    },
    Deliver {
        conn: u64,
        from: usize,
        to: usize,
        kind: u16,
        len: usize,
    },
    Lost {
        conn: u64,
        from: usize,
        to: usize,
    },
    Close {
        conn: u64,
        node: usize,
    },
    Closed {
        conn: u64,
        node: usize,
    },
    Reset {
        conn: u64,
    },
    /// A node's view changed in a way worth a line: its epochs, its role,
    /// or the slots it serves.
    Changed {
        node: usize,
        what: String,
    },
}

impl Note {
    /// A note for a message from its header bytes.
    pub(crate) fn deliver(conn: u64, from: usize, to: usize, bytes: &[u8]) -> Note {
        let kind = bytes
            .get(header::TYPE..header::TYPE + 2)
            .map_or(u16::MAX, |b| u16::from_be_bytes([b[0], b[1]]));
        Note::Deliver {
            conn,
            from,
            to,
            kind,
            len: bytes.len(),
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::Step(op) => write!(f, "plan: {op:?}"),
            Note::Tick { node } => write!(f, "node {node} ticks"),
            Note::Connect { conn, from, to } => match to {
                Some(to) => write!(f, "node {from} connects to node {to} (c{conn})"),
                None => write!(f, "node {from} connects to no known address (c{conn})"),
            },
            Note::Accept { conn, node, from } => {
                write!(f, "node {node} accepts from node {from} (c{conn})")
            }
            Note::SynLost { conn, attempt } => write!(f, "SYN {attempt} of c{conn} lost"),
            Note::Refused { conn, node } => write!(f, "node {node}'s connect fails (c{conn})"),
            Note::Connected { conn, node } => write!(f, "node {node} connected (c{conn})"),
            Note::Deliver {
                conn,
                from,
                to,
                kind,
                len,
            } => {
                let kind = MessageType::from_u16(*kind)
                    .map_or_else(|| format!("type {kind}"), |k| format!("{k:?}"));
                write!(f, "node {from} -> node {to}: {kind}, {len} bytes (c{conn})")
            }
            Note::Lost { conn, from, to } => write!(
                f,
                "a message node {from} -> node {to} is lost: the connection resets (c{conn})"
            ),
            Note::Close { conn, node } => write!(f, "node {node} closes c{conn}"),
            Note::Closed { conn, node } => write!(f, "node {node} sees c{conn} closed"),
            Note::Reset { conn } => write!(f, "c{conn} resets"),
            Note::Changed { node, what } => write!(f, "node {node}: {what}"),
        }
    }
}

/// The notes of a run.
pub(crate) struct Trace {
    full: bool,
    notes: VecDeque<(u64, Note)>,
}

impl Trace {
    pub(crate) fn new(full: bool) -> Trace {
        Trace {
            full,
            notes: VecDeque::new(),
        }
    }

    /// Whether every note is kept (ticks included).
    pub(crate) fn full(&self) -> bool {
        self.full
    }

    pub(crate) fn note(&mut self, at: u64, note: Note) {
        if !self.full && self.notes.len() == SHORT {
            self.notes.pop_front();
        }
        self.notes.push_back((at, note));
    }

    /// The notes kept, one a line.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.notes
            .iter()
            .map(|(at, note)| format!("{at:>7} ms  {note}"))
            .collect()
    }
}
