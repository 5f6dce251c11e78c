//! `nodes.conf`, the file where a cluster node keeps what it knows of the
//! cluster, and the node lines of `CLUSTER NODES`, which have the same
//! format. `docs/formats/nodes-conf.md` describes every field.
//!
//! A line per known node:
//!
//! ```text
//! <id> <ip>:<port>@<bus-port>[,<hostname>] <flags> <master-id or -> <ping-sent> <pong-received> <config-epoch> <link-state> [<slot or range> ...] [<[slot->-id] or [slot-<-id]> ...]
//! ```
//!
//! and, in the file only, a last line `vars currentEpoch <n> lastVoteEpoch
//! <n>`. Parsing accepts what Redis 7.0 and 7.2 write (7.2 adds
//! `,<name>=<value>` auxiliary fields after the hostname); formatting
//! writes Redis 7.0's text, and gives back the auxiliary fields a parsed
//! line had.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{BitOr, BitOrAssign};
use std::str::FromStr;

use thiserror::Error;

use crate::key::Slot;
use crate::node_id::{NodeId, NodeIdError};
use crate::slot_map::{Migration, SlotMap};
use crate::slot_set::{SlotParseError, SlotRange, SlotSet};

/// The bus port a line without `@<bus-port>` implies: the client port plus
/// this (what files written before Redis 4 hold).
pub const BUS_PORT_OFFSET: u16 = 10000;

/// Why a node line did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NodeLineError {
    /// Fewer than the eight fields every node line has.
    #[error("a node line has at least 8 fields, this one has {found}")]
    TooFewFields {
        /// The number of fields found.
        found: usize,
    },
    /// A field holds a quote, which Redis' reader would take as quoting;
    /// Redis never writes one.
    #[error("quoted field {text:?}")]
    Quoted {
        /// The field.
        text: String,
    },
    /// The first field is not a node id.
    #[error("bad node id: {0}")]
    Id(#[source] NodeIdError),
    /// The fourth field is neither `-` nor a node id.
    #[error("bad master id: {0}")]
    MasterId(#[source] NodeIdError),
    /// The address is not `<ip>:<port>[@<bus-port>][,<hostname>[,<name>=<value>...]]`.
    #[error("bad address {text:?}: {reason}")]
    Address {
        /// The address field.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A flag other than the nine Redis writes.
    #[error("unknown node flag {flag:?}")]
    Flag {
        /// The flag.
        flag: String,
    },
    /// The ping-sent, pong-received or config-epoch field is not a
    /// decimal number.
    #[error("bad {field} {text:?}: not a decimal number")]
    Number {
        /// Which field.
        field: &'static str,
        /// The field.
        text: String,
    },
    /// The link state is neither `connected` nor `disconnected`.
    #[error("bad link state {text:?}")]
    LinkState {
        /// The field.
        text: String,
    },
    /// A slot or slot range that does not parse.
    #[error(transparent)]
    Slots(#[from] SlotParseError),
    /// A migration entry that is not `[<slot>->-<id>]` or `[<slot>-<-<id>]`.
    #[error("bad migration entry {text:?}")]
    Migration {
        /// The entry.
        text: String,
    },
}

/// Why a `nodes.conf` file (or `CLUSTER NODES` reply) did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {kind}")]
pub struct NodesConfError {
    /// The line the error is on, counting from 1; 0 for an error about the
    /// whole file.
    pub line: usize,
    /// What is wrong.
    pub kind: NodesConfErrorKind,
}

/// What is wrong in a `nodes.conf` file ([`NodesConfError`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NodesConfErrorKind {
    /// A node line that does not parse.
    #[error(transparent)]
    Node(#[from] NodeLineError),
    /// A `vars` line with a name and no value.
    #[error("the vars line has a name without a value")]
    VarsWithoutValue,
    /// A `currentEpoch` or `lastVoteEpoch` value that is not a decimal
    /// number.
    #[error("bad {name} {text:?}: not a decimal number")]
    VarsNumber {
        /// The variable.
        name: &'static str,
        /// Its value.
        text: String,
    },
    /// A second line about the same node.
    #[error("node {0} is listed twice")]
    DuplicateNode(NodeId),
    /// A second line with the `myself` flag.
    #[error("a second node has the myself flag")]
    SecondMyself,
    /// No line has the `myself` flag (the error's line is 0).
    #[error("no node has the myself flag")]
    NoMyself,
    /// A `vars` line where `CLUSTER NODES` text was expected.
    #[error("a vars line is not a node line")]
    UnexpectedVars,
}

/// A node's flags, with the bit values of Redis' node flags (the ones the
/// cluster bus carries in its message header).
///
/// Prints as Redis does: the names of the set flags among the eight it
/// shows, comma separated in a fixed order, or `noflags`.
///
/// ```
/// use ferrodis_slots::NodeFlags;
/// let flags = NodeFlags::MYSELF | NodeFlags::REPLICA;
/// assert_eq!(flags.to_string(), "myself,slave");
/// assert_eq!("slave,myself".parse(), Ok(flags));
/// assert_eq!(NodeFlags::empty().to_string(), "noflags");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NodeFlags(u16);

impl NodeFlags {
    /// `master`: the node is a master.
    pub const MASTER: NodeFlags = NodeFlags(1);
    /// `slave`: the node is a replica.
    pub const REPLICA: NodeFlags = NodeFlags(2);
    /// `fail?`: this node has had no answer from it for too long (PFAIL).
    pub const PFAIL: NodeFlags = NodeFlags(4);
    /// `fail`: a majority of masters agree that it is down.
    pub const FAIL: NodeFlags = NodeFlags(8);
    /// `myself`: the node writing the file or answering `CLUSTER NODES`.
    pub const MYSELF: NodeFlags = NodeFlags(16);
    /// `handshake`: met but not yet answered its first ping.
    pub const HANDSHAKE: NodeFlags = NodeFlags(32);
    /// `noaddr`: its address is unknown.
    pub const NOADDR: NodeFlags = NodeFlags(64);
    /// A MEET is to be sent to it; never printed.
    pub const MEET: NodeFlags = NodeFlags(128);
    /// A master that may receive a migrating replica; never printed.
    pub const MIGRATE_TO: NodeFlags = NodeFlags(256);
    /// `nofailover`: a replica that will not fail over its master.
    pub const NOFAILOVER: NodeFlags = NodeFlags(512);

    /// The flags that print, with their names, in the order Redis prints
    /// them.
    const NAMED: [(NodeFlags, &'static str); 8] = [
        (NodeFlags::MYSELF, "myself"),
        (NodeFlags::MASTER, "master"),
        (NodeFlags::REPLICA, "slave"),
        (NodeFlags::PFAIL, "fail?"),
        (NodeFlags::FAIL, "fail"),
        (NodeFlags::HANDSHAKE, "handshake"),
        (NodeFlags::NOADDR, "noaddr"),
        (NodeFlags::NOFAILOVER, "nofailover"),
    ];

    /// No flag set.
    pub const fn empty() -> NodeFlags {
        NodeFlags(0)
    }

    /// The flags whose bits are set in `bits` (unknown bits are kept).
    pub const fn from_bits(bits: u16) -> NodeFlags {
        NodeFlags(bits)
    }

    /// The bits of the set flags.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: NodeFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: NodeFlags) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub fn remove(&mut self, other: NodeFlags) {
        self.0 &= !other.0;
    }

    /// Parses comma-separated flag names, in any order and case, as Redis'
    /// reader does; `noflags` adds nothing.
    pub fn parse(text: &str) -> Result<NodeFlags, NodeLineError> {
        let mut flags = NodeFlags::empty();
        for name in text.split(',') {
            if name.eq_ignore_ascii_case("noflags") {
                continue;
            }
            let (flag, _) = NodeFlags::NAMED
                .iter()
                .find(|(_, known)| name.eq_ignore_ascii_case(known))
                .ok_or_else(|| NodeLineError::Flag {
                    flag: name.to_owned(),
                })?;
            flags.insert(*flag);
        }
        Ok(flags)
    }
}

impl BitOr for NodeFlags {
    type Output = NodeFlags;

    fn bitor(self, other: NodeFlags) -> NodeFlags {
        NodeFlags(self.0 | other.0)
    }
}

impl BitOrAssign for NodeFlags {
    fn bitor_assign(&mut self, other: NodeFlags) {
        self.0 |= other.0;
    }
}

impl fmt::Display for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut any = false;
        for (flag, name) in NodeFlags::NAMED {
            if self.contains(flag) {
                if any {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                any = true;
            }
        }
        if !any {
            f.write_str("noflags")?;
        }
        Ok(())
    }
}

impl fmt::Debug for NodeFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeFlags({self})")
    }
}

impl FromStr for NodeFlags {
    type Err = NodeLineError;

    fn from_str(text: &str) -> Result<NodeFlags, NodeLineError> {
        NodeFlags::parse(text)
    }
}

/// Whether the node writing the line has a bus link to the node it
/// describes (always `connected` for itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkState {
    /// `connected`.
    Connected,
    /// `disconnected`.
    Disconnected,
}

impl LinkState {
    /// The word Redis writes.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkState::Connected => "connected",
            LinkState::Disconnected => "disconnected",
        }
    }
}

impl fmt::Display for LinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An auxiliary `<name>=<value>` field of a Redis 7.2 address
/// (`shard-id`, `nodename`, `tcp-port`, `tls-port`), kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuxField {
    /// The name, before `=`.
    pub name: String,
    /// The value, after `=` (may be empty).
    pub value: String,
}

/// Where a node is reached: the second field of its line,
/// `<ip>:<port>@<bus-port>[,<hostname>]`.
///
/// Fields hold what the parser accepts: `ip` and `hostname` hold no
/// whitespace, quote or comma, and an auxiliary field no character Redis
/// 7.2 refuses there.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NodeAddr {
    /// The IP address (v4 or v6, without brackets); empty when unknown,
    /// as on a node that has not met another yet (`:0@0`).
    pub ip: String,
    /// The client port.
    pub port: u16,
    /// The cluster bus port.
    pub bus_port: u16,
    /// The announced hostname (`cluster-announce-hostname`); empty for
    /// none.
    pub hostname: String,
    /// Redis 7.2's auxiliary fields, in the order read; Ferrodis writes
    /// none of its own.
    pub aux: Vec<AuxField>,
}

impl NodeAddr {
    /// Parses the address field.
    pub fn parse(text: &str) -> Result<NodeAddr, NodeLineError> {
        let bad = |reason| NodeLineError::Address {
            text: text.to_owned(),
            reason,
        };
        let mut parts = text.split(',');
        let endpoint = parts.next().unwrap_or_default();
        let hostname = parts.next().unwrap_or_default().to_owned();
        let mut aux = Vec::new();
        for field in parts {
            let (name, value) = field
                .split_once('=')
                .ok_or_else(|| bad("an auxiliary field without '='"))?;
            if name.is_empty() || value.contains('=') {
                return Err(bad("an auxiliary field is not <name>=<value>"));
            }
            if !(is_aux_text(name) && is_aux_text(value)) {
                return Err(bad("a character auxiliary fields may not hold"));
            }
            aux.push(AuxField {
                name: name.to_owned(),
                value: value.to_owned(),
            });
        }
        let (ip, ports) = endpoint.rsplit_once(':').ok_or_else(|| bad("no ':'"))?;
        let (port, bus_port) = match ports.split_once('@') {
            Some((port, bus)) => (
                parse_port(port).ok_or_else(|| bad("bad port"))?,
                parse_port(bus).ok_or_else(|| bad("bad bus port"))?,
            ),
            None => {
                let port = parse_port(ports).ok_or_else(|| bad("bad port"))?;
                let bus = port
                    .checked_add(BUS_PORT_OFFSET)
                    .ok_or_else(|| bad("no bus port, and port + 10000 is above 65535"))?;
                (port, bus)
            }
        };
        Ok(NodeAddr {
            ip: ip.to_owned(),
            port,
            bus_port,
            hostname,
            aux,
        })
    }

    /// The address without its auxiliary fields, as `CLUSTER NODES`
    /// shows it to clients.
    fn fmt_public(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}@{}", self.ip, self.port, self.bus_port)?;
        if !self.hostname.is_empty() {
            write!(f, ",{}", self.hostname)?;
        }
        Ok(())
    }
}

impl fmt::Display for NodeAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_public(f)?;
        if !self.aux.is_empty() && self.hostname.is_empty() {
            f.write_str(",")?;
        }
        for field in &self.aux {
            write!(f, ",{}={}", field.name, field.value)?;
        }
        Ok(())
    }
}

impl FromStr for NodeAddr {
    type Err = NodeLineError;

    fn from_str(text: &str) -> Result<NodeAddr, NodeLineError> {
        NodeAddr::parse(text)
    }
}

/// Whether Redis 7.2 accepts `text` as an auxiliary field's name or value.
fn is_aux_text(text: &str) -> bool {
    !text.contains(|c| "!#$%&()*+:;<>?@[]^{|}~".contains(c))
}

/// A port: 1 to 5 decimal digits, at most 65535.
fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A decimal `u64`: digits only, no sign.
fn parse_u64(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// The fields of a line, split where Redis' reader splits them: on the
/// whitespace C's `isspace` knows.
fn fields(line: &str) -> impl Iterator<Item = &str> {
    line.split([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
        .filter(|f| !f.is_empty())
}

/// One node as a `nodes.conf` line or a line of `CLUSTER NODES`.
///
/// Its `Display` is the line, without the newline. Redis lists open
/// migrations only on the `myself` line; `migrations` holds those of the
/// line as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLine {
    /// The node's id.
    pub id: NodeId,
    /// Where it is reached.
    pub addr: NodeAddr,
    /// Its flags.
    pub flags: NodeFlags,
    /// The master it replicates, for a replica.
    pub master: Option<NodeId>,
    /// When the ping now waiting for an answer was sent, in Unix
    /// milliseconds; 0 when none is waiting.
    pub ping_sent: u64,
    /// When its last pong arrived, in Unix milliseconds.
    pub pong_received: u64,
    /// Its config epoch (for a replica, Redis writes its master's).
    pub config_epoch: u64,
    /// Whether a bus link to it is up.
    pub link: LinkState,
    /// The slots it serves.
    pub slots: SlotSet,
    /// Slots being moved, by slot.
    pub migrations: BTreeMap<Slot, Migration>,
}

impl NodeLine {
    /// Parses one node line (with or without its newline).
    pub fn parse(line: &str) -> Result<NodeLine, NodeLineError> {
        let words: Vec<&str> = fields(line).collect();
        if let Some(quoted) = words.iter().find(|w| w.contains(['"', '\''])) {
            return Err(NodeLineError::Quoted {
                text: (*quoted).to_owned(),
            });
        }
        let [id, addr, flags, master, ping, pong, epoch, link, rest @ ..] = words.as_slice() else {
            return Err(NodeLineError::TooFewFields { found: words.len() });
        };
        let number = |field, text: &str| {
            parse_u64(text).ok_or_else(|| NodeLineError::Number {
                field,
                text: text.to_owned(),
            })
        };
        let mut node = NodeLine {
            id: NodeId::parse(id).map_err(NodeLineError::Id)?,
            addr: NodeAddr::parse(addr)?,
            flags: NodeFlags::parse(flags)?,
            master: match *master {
                "-" => None,
                other => Some(NodeId::parse(other).map_err(NodeLineError::MasterId)?),
            },
            ping_sent: number("ping-sent", ping)?,
            pong_received: number("pong-received", pong)?,
            config_epoch: number("config-epoch", epoch)?,
            link: match *link {
                "connected" => LinkState::Connected,
                "disconnected" => LinkState::Disconnected,
                other => {
                    return Err(NodeLineError::LinkState {
                        text: other.to_owned(),
                    })
                }
            },
            slots: SlotSet::new(),
            migrations: BTreeMap::new(),
        };
        for word in rest {
            if word.starts_with('[') {
                let (slot, migration) = parse_migration(word)?;
                let old = node.migrations.get(&slot).copied();
                node.migrations
                    .insert(slot, Migration::merge(old, migration));
            } else {
                node.slots.insert_range(word.parse::<SlotRange>()?);
            }
        }
        Ok(node)
    }

    /// The line as `CLUSTER NODES` shows it to clients: without Redis
    /// 7.2's auxiliary fields (the same text when there are none).
    pub fn public(&self) -> PublicLine<'_> {
        PublicLine(self)
    }

    fn fmt_with(&self, f: &mut fmt::Formatter<'_>, aux: bool) -> fmt::Result {
        write!(f, "{} ", self.id)?;
        if aux {
            write!(f, "{}", self.addr)?;
        } else {
            self.addr.fmt_public(f)?;
        }
        write!(f, " {} ", self.flags)?;
        match &self.master {
            Some(id) => write!(f, "{id}")?,
            None => f.write_str("-")?,
        }
        write!(
            f,
            " {} {} {} {}",
            self.ping_sent, self.pong_received, self.config_epoch, self.link
        )?;
        for range in self.slots.ranges() {
            write!(f, " {range}")?;
        }
        for (slot, migration) in &self.migrations {
            match migration {
                Migration::Migrating { to } => write!(f, " [{}->-{to}]", slot.get())?,
                Migration::Importing { from } => write!(f, " [{}-<-{from}]", slot.get())?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for NodeLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_with(f, true)
    }
}

impl FromStr for NodeLine {
    type Err = NodeLineError;

    fn from_str(text: &str) -> Result<NodeLine, NodeLineError> {
        NodeLine::parse(text)
    }
}

/// A [`NodeLine`] as clients see it ([`NodeLine::public`]).
#[derive(Debug, Clone, Copy)]
pub struct PublicLine<'a>(&'a NodeLine);

impl fmt::Display for PublicLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt_with(f, false)
    }
}

/// `[<slot>->-<id>]` or `[<slot>-<-<id>]`.
fn parse_migration(word: &str) -> Result<(Slot, Migration), NodeLineError> {
    let bad = || NodeLineError::Migration {
        text: word.to_owned(),
    };
    let inner = word
        .strip_prefix('[')
        .and_then(|w| w.strip_suffix(']'))
        .ok_or_else(bad)?;
    let (slot, migration) = if let Some((slot, id)) = inner.split_once("->-") {
        let to = NodeId::parse(id).map_err(|_| bad())?;
        (slot, Migration::Migrating { to })
    } else if let Some((slot, id)) = inner.split_once("-<-") {
        let from = NodeId::parse(id).map_err(|_| bad())?;
        (slot, Migration::Importing { from })
    } else {
        return Err(bad());
    };
    let slot = slot.parse::<SlotRange>().map_err(|_| bad())?;
    if slot.count() != 1 {
        return Err(bad());
    }
    Ok((slot.start(), migration))
}

/// A whole `nodes.conf` file: a line per node, then the epochs.
///
/// Its `Display` is the file's text, as Redis 7.0 writes it: every node
/// line followed by a newline, then `vars currentEpoch <n> lastVoteEpoch
/// <n>` and a newline.
///
/// ```
/// use ferrodis_slots::NodesConf;
/// let text = "\
/// 3167b5fd18e4551c91baafe598d72c6cdecb6302 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-16383
/// vars currentEpoch 1 lastVoteEpoch 0
/// ";
/// let conf = NodesConf::parse(text)?;
/// assert_eq!(conf.myself().map(|n| n.slots.count()), Some(16384));
/// assert_eq!(conf.to_string(), text);
/// # Ok::<(), ferrodis_slots::NodesConfError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesConf {
    /// The nodes, in the file's order (Redis writes them in no particular
    /// order, and leaves out nodes still in handshake).
    pub nodes: Vec<NodeLine>,
    /// The cluster's current epoch (`currentEpoch`; 0 when the file has no
    /// `vars` line).
    pub current_epoch: u64,
    /// The last epoch this node voted in (`lastVoteEpoch`).
    pub last_vote_epoch: u64,
}

impl NodesConf {
    /// Parses the file as Redis' reader does, and refuses what it refuses
    /// (no `myself` line, a malformed line) and more: fields it would read
    /// leniently (numbers, slots, the link state) must be what Redis
    /// writes, and a node listed twice is an error. Blank lines are
    /// skipped; `vars` may come on any line, and a variable other than
    /// the two epochs is ignored, as Redis ignores it.
    pub fn parse(text: &str) -> Result<NodesConf, NodesConfError> {
        let mut conf = NodesConf {
            nodes: Vec::new(),
            current_epoch: 0,
            last_vote_epoch: 0,
        };
        let mut myself = false;
        for (n, line) in text.split('\n').enumerate() {
            let err = |kind| NodesConfError { line: n + 1, kind };
            let mut words = fields(line);
            match words.next() {
                None => continue,
                Some(first) if first.eq_ignore_ascii_case("vars") => {
                    parse_vars(words, &mut conf).map_err(err)?;
                    continue;
                }
                Some(_) => {}
            }
            let node = NodeLine::parse(line).map_err(|e| err(e.into()))?;
            if conf.nodes.iter().any(|other| other.id == node.id) {
                return Err(err(NodesConfErrorKind::DuplicateNode(node.id)));
            }
            if node.flags.contains(NodeFlags::MYSELF) {
                if myself {
                    return Err(err(NodesConfErrorKind::SecondMyself));
                }
                myself = true;
            }
            conf.nodes.push(node);
        }
        if !myself {
            return Err(NodesConfError {
                line: 0,
                kind: NodesConfErrorKind::NoMyself,
            });
        }
        Ok(conf)
    }

    /// The line of the node that owns the file.
    pub fn myself(&self) -> Option<&NodeLine> {
        self.nodes
            .iter()
            .find(|n| n.flags.contains(NodeFlags::MYSELF))
    }

    /// The routing table the file describes, built as Redis builds it when
    /// it loads the file: a slot listed on two lines goes to the first, and
    /// the migrations of every line are the node's.
    pub fn slot_map(&self) -> SlotMap {
        let mut map = SlotMap::new();
        for node in &self.nodes {
            for slot in &node.slots {
                if map.owner(slot).is_none() {
                    map.assign(slot, node.id);
                }
            }
            for (&slot, &migration) in &node.migrations {
                let old = map.migration(slot).copied();
                map.set_migration(slot, Migration::merge(old, migration));
            }
        }
        map
    }
}

impl fmt::Display for NodesConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for node in &self.nodes {
            writeln!(f, "{node}")?;
        }
        writeln!(
            f,
            "vars currentEpoch {} lastVoteEpoch {}",
            self.current_epoch, self.last_vote_epoch
        )
    }
}

impl FromStr for NodesConf {
    type Err = NodesConfError;

    fn from_str(text: &str) -> Result<NodesConf, NodesConfError> {
        NodesConf::parse(text)
    }
}

/// The name/value pairs after `vars`.
fn parse_vars<'a>(
    mut words: impl Iterator<Item = &'a str>,
    conf: &mut NodesConf,
) -> Result<(), NodesConfErrorKind> {
    while let Some(name) = words.next() {
        let value = words.next().ok_or(NodesConfErrorKind::VarsWithoutValue)?;
        let (name, slot) = if name.eq_ignore_ascii_case("currentEpoch") {
            ("currentEpoch", &mut conf.current_epoch)
        } else if name.eq_ignore_ascii_case("lastVoteEpoch") {
            ("lastVoteEpoch", &mut conf.last_vote_epoch)
        } else {
            continue;
        };
        *slot = parse_u64(value).ok_or_else(|| NodesConfErrorKind::VarsNumber {
            name,
            text: value.to_owned(),
        })?;
    }
    Ok(())
}

/// Parses the text of a `CLUSTER NODES` reply: node lines only, blank lines
/// skipped, no `myself` required (the error's `kind` is never `NoMyself`).
pub fn parse_cluster_nodes(text: &str) -> Result<Vec<NodeLine>, NodesConfError> {
    let mut nodes = Vec::new();
    for (n, line) in text.split('\n').enumerate() {
        let err = |kind| NodesConfError { line: n + 1, kind };
        match fields(line).next() {
            None => continue,
            Some(first) if first.eq_ignore_ascii_case("vars") => {
                return Err(err(NodesConfErrorKind::UnexpectedVars))
            }
            Some(_) => nodes.push(NodeLine::parse(line).map_err(|e| err(e.into()))?),
        }
    }
    Ok(nodes)
}

/// The text of a `CLUSTER NODES` reply: each node's public line followed by
/// a newline.
pub fn cluster_nodes_text<'a>(nodes: impl IntoIterator<Item = &'a NodeLine>) -> String {
    use fmt::Write;
    let mut out = String::new();
    for node in nodes {
        // Writing to a String cannot fail.
        let _ = writeln!(out, "{}", node.public());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "3167b5fd18e4551c91baafe598d72c6cdecb6302";
    const B: &str = "bd23a1a9a45115c11900065b82860e8481b263eb";

    fn id(text: &str) -> NodeId {
        NodeId::parse(text).unwrap()
    }

    fn line_err(line: &str) -> NodeLineError {
        NodeLine::parse(line).unwrap_err()
    }

    #[test]
    fn a_master_line_with_migrations() {
        let text = format!(
            "{A} 127.0.0.1:27101@37101 myself,master - 0 1795440759000 1 connected 0-299 301 400-5460 [100->-{B}] [16000-<-{B}]"
        );
        let line = NodeLine::parse(&text).unwrap();
        assert_eq!(line.id, id(A));
        assert_eq!(line.addr.ip, "127.0.0.1");
        assert_eq!((line.addr.port, line.addr.bus_port), (27101, 37101));
        assert_eq!(line.flags, NodeFlags::MYSELF | NodeFlags::MASTER);
        assert_eq!(line.master, None);
        assert_eq!(line.pong_received, 1795440759000);
        assert_eq!(line.config_epoch, 1);
        assert_eq!(line.link, LinkState::Connected);
        assert_eq!(line.slots.to_string(), "0-299 301 400-5460");
        assert_eq!(
            line.migrations.values().collect::<Vec<_>>(),
            vec![
                &Migration::Migrating { to: id(B) },
                &Migration::Importing { from: id(B) }
            ]
        );
        assert_eq!(line.to_string(), text);
    }

    #[test]
    fn addresses() {
        for (text, ip, port, bus, host) in [
            ("127.0.0.1:7000@17000", "127.0.0.1", 7000, 17000, ""),
            (":0@0", "", 0, 0, ""),
            ("::1:7000@17000", "::1", 7000, 17000, ""),
            (
                "10.0.0.1:7000@17000,db-1.example",
                "10.0.0.1",
                7000,
                17000,
                "db-1.example",
            ),
        ] {
            let addr = NodeAddr::parse(text).unwrap();
            assert_eq!(
                (addr.ip.as_str(), addr.port, addr.bus_port),
                (ip, port, bus)
            );
            assert_eq!(addr.hostname, host);
            assert_eq!(addr.to_string(), text);
        }
        // Before Redis 4 there was no bus port: the client port + 10000.
        let old = NodeAddr::parse("127.0.0.1:7000").unwrap();
        assert_eq!(old.bus_port, 17000);
        assert_eq!(old.to_string(), "127.0.0.1:7000@17000");
        for bad in [
            "127.0.0.1",
            "127.0.0.1:x@1",
            "127.0.0.1:1@",
            "127.0.0.1:65536@1",
            "127.0.0.1:60000",
            "127.0.0.1:+1@1",
            "1.2.3.4:1@2,h,novalue",
            "1.2.3.4:1@2,h,=v",
            "1.2.3.4:1@2,h,a=b=c",
            "1.2.3.4:1@2,h,a=b{c",
        ] {
            assert!(
                matches!(NodeAddr::parse(bad), Err(NodeLineError::Address { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn redis_7_2_aux_fields() {
        // Redis 7.2 writes an empty hostname, then its auxiliary fields.
        let shard = "9a1b2c3d4e5f60718293a4b5c6d7e8f901234567";
        let text = format!("127.0.0.1:30001@40001,,tls-port=0,shard-id={shard}");
        let addr = NodeAddr::parse(&text).unwrap();
        assert_eq!(addr.hostname, "");
        assert_eq!(
            addr.aux,
            vec![
                AuxField {
                    name: "tls-port".into(),
                    value: "0".into()
                },
                AuxField {
                    name: "shard-id".into(),
                    value: shard.into()
                },
            ]
        );
        assert_eq!(addr.to_string(), text);
        let with_host = format!("127.0.0.1:30001@40001,host-a,shard-id={shard}");
        assert_eq!(NodeAddr::parse(&with_host).unwrap().to_string(), with_host);

        let line = NodeLine::parse(&format!(
            "{A} {text} myself,master - 0 1700000000000 1 connected 0-5460"
        ))
        .unwrap();
        assert_eq!(
            line.public().to_string(),
            format!("{A} 127.0.0.1:30001@40001 myself,master - 0 1700000000000 1 connected 0-5460")
        );
    }

    #[test]
    fn flags() {
        assert_eq!(
            NodeFlags::parse("master,fail,noaddr").unwrap(),
            NodeFlags::MASTER | NodeFlags::FAIL | NodeFlags::NOADDR
        );
        assert_eq!(
            NodeFlags::parse("slave,fail?").unwrap(),
            NodeFlags::REPLICA | NodeFlags::PFAIL
        );
        assert_eq!(NodeFlags::parse("noflags").unwrap(), NodeFlags::empty());
        assert_eq!(
            NodeFlags::parse("MASTER,noflags").unwrap(),
            NodeFlags::MASTER
        );
        let all =
            NodeFlags::parse("nofailover,noaddr,handshake,fail,fail?,slave,master,myself").unwrap();
        assert_eq!(
            all.to_string(),
            "myself,master,slave,fail?,fail,handshake,noaddr,nofailover"
        );
        // Flags Redis never prints.
        assert_eq!(
            (NodeFlags::MEET | NodeFlags::MIGRATE_TO).to_string(),
            "noflags"
        );
        for bad in ["", "master,", "master,,slave", "failover", "-"] {
            assert!(NodeFlags::parse(bad).is_err(), "{bad:?}");
        }
        let mut f = NodeFlags::MASTER;
        f.insert(NodeFlags::FAIL);
        f.remove(NodeFlags::MASTER);
        assert_eq!(f, NodeFlags::FAIL);
        assert_eq!(NodeFlags::from_bits(f.bits()), f);
    }

    #[test]
    fn line_errors() {
        let ok = format!("{A} 127.0.0.1:1@2 master - 0 0 0 connected");
        assert!(NodeLine::parse(&ok).is_ok());
        assert_eq!(
            line_err(&format!("{A} 127.0.0.1:1@2 master - 0 0 0")),
            NodeLineError::TooFewFields { found: 7 }
        );
        assert!(matches!(
            line_err(&format!(
                "{} 127.0.0.1:1@2 master - 0 0 0 connected",
                &A[1..]
            )),
            NodeLineError::Id(NodeIdError::Length(39))
        ));
        assert!(matches!(
            line_err(&format!("{A} 127.0.0.1:1@2 slave xyz 0 0 0 connected")),
            NodeLineError::MasterId(_)
        ));
        assert!(matches!(
            line_err(&format!("{A} 127.0.0.1:1@2 master - -1 0 0 connected")),
            NodeLineError::Number {
                field: "ping-sent",
                ..
            }
        ));
        assert!(matches!(
            line_err(&format!("{A} 127.0.0.1:1@2 master - 0 0 0 up")),
            NodeLineError::LinkState { .. }
        ));
        assert!(matches!(
            line_err(&format!("{A} 127.0.0.1:1@2 master - 0 0 0 connected 5-1")),
            NodeLineError::Slots(SlotParseError::Reversed { start: 5, end: 1 })
        ));
        assert!(matches!(
            line_err(&format!("{A} 127.0.0.1:1@2 master - 0 0 0 connected 16384")),
            NodeLineError::Slots(SlotParseError::OutOfRange { .. })
        ));
        assert!(matches!(
            line_err(&format!("{A} \"127.0.0.1:1@2\" master - 0 0 0 connected")),
            NodeLineError::Quoted { .. }
        ));
        for bad in [
            format!("[5->{B}]"),
            format!("[5->-{B}"),
            format!("[16384->-{B}]"),
            format!("[1-2->-{B}]"),
            format!("[5-<-{}]", &B[1..]),
            format!("[x-<-{B}]"),
            "[]".to_owned(),
        ] {
            assert!(
                matches!(
                    line_err(&format!("{ok} {bad}")),
                    NodeLineError::Migration { .. }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn migrating_beats_importing_on_one_slot() {
        let text =
            format!("{A} :0@0 myself,master - 0 0 0 connected [7-<-{B}] [7->-{A}] [7-<-{B}]");
        let line = NodeLine::parse(&text).unwrap();
        assert_eq!(line.migrations.len(), 1);
        assert_eq!(
            line.migrations.values().next(),
            Some(&Migration::Migrating { to: id(A) })
        );
    }

    #[test]
    fn file_rules() {
        let me = format!("{A} 127.0.0.1:1@2 myself,master - 0 0 3 connected 0-10");
        let other = format!("{B} 127.0.0.1:3@4 master - 0 0 2 connected 10-20");

        // Blank lines, CRLF, vars anywhere, unknown vars, any case.
        let text = format!(
            "\n{other}\r\n  \nVARS lastVoteEpoch 2 foo bar\n{me}\nvars currentepoch 9\n\n\n"
        );
        let conf = NodesConf::parse(&text).unwrap();
        assert_eq!(conf.nodes.len(), 2);
        assert_eq!((conf.current_epoch, conf.last_vote_epoch), (9, 2));
        assert_eq!(conf.myself().map(|n| n.id), Some(id(A)));
        assert_eq!(
            conf.to_string(),
            format!("{other}\n{me}\nvars currentEpoch 9 lastVoteEpoch 2\n")
        );

        // The first claimant of a slot keeps it.
        let map = conf.slot_map();
        assert_eq!(map.owner(Slot::new(10).unwrap()), Some(&id(B)));
        assert_eq!(map.slots_of(&id(A)).to_string(), "0-9");

        let err = |text: &str| NodesConf::parse(text).unwrap_err();
        assert_eq!(
            err(""),
            NodesConfError {
                line: 0,
                kind: NodesConfErrorKind::NoMyself
            }
        );
        assert_eq!(
            err(&format!("{other}\n")).kind,
            NodesConfErrorKind::NoMyself
        );
        assert_eq!(
            err(&format!("{me}\n{me}\n")).kind,
            NodesConfErrorKind::DuplicateNode(id(A))
        );
        let me_too = format!("{B} 127.0.0.1:3@4 myself,master - 0 0 2 connected");
        assert_eq!(
            err(&format!("{me}\n{me_too}\n")),
            NodesConfError {
                line: 2,
                kind: NodesConfErrorKind::SecondMyself
            }
        );
        assert_eq!(
            err(&format!("{me}\nvars currentEpoch\n")),
            NodesConfError {
                line: 2,
                kind: NodesConfErrorKind::VarsWithoutValue
            }
        );
        assert_eq!(
            err(&format!("{me}\nvars currentEpoch x\n")).kind,
            NodesConfErrorKind::VarsNumber {
                name: "currentEpoch",
                text: "x".into()
            }
        );
        let bad = err(&format!("{me}\n\n{A} 1.2.3.4:5@6 master -\n"));
        assert_eq!(bad.line, 3);
        assert_eq!(
            bad.to_string(),
            "line 3: a node line has at least 8 fields, this one has 4"
        );
    }

    #[test]
    fn cluster_nodes_reply() {
        let me = format!("{A} 127.0.0.1:1@2,h,shard-id={B} myself,master - 0 0 3 connected 0-10");
        let other = format!("{B} 127.0.0.1:3@4 slave {A} 0 0 3 connected");
        let nodes = parse_cluster_nodes(&format!("{me}\n{other}\n")).unwrap();
        assert_eq!(
            cluster_nodes_text(&nodes),
            format!("{A} 127.0.0.1:1@2,h myself,master - 0 0 3 connected 0-10\n{other}\n")
        );
        assert_eq!(parse_cluster_nodes("").unwrap(), vec![]);
        assert_eq!(
            parse_cluster_nodes(&format!("{other}\nvars currentEpoch 1 lastVoteEpoch 1\n"))
                .unwrap_err(),
            NodesConfError {
                line: 2,
                kind: NodesConfErrorKind::UnexpectedVars
            }
        );
    }
}
