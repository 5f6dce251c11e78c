//! The typed model of a cluster bus message: a [`Header`] every message
//! carries and a [`Body`] per message type.
//!
//! Wire fields that follow from the body (total length, type, gossip count,
//! extension count) are not stored: [`encode`](crate::encode) computes them
//! and [`decode`](crate::decode) checks them.

use crate::types::{
    ClusterState, Epoch, MessageFlags, ModuleId, NodeFlags, NodeId, NodeIp, ReplOffset, SlotBitmap,
};

/// The message types of Redis 7.0, with their wire numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum MessageType {
    /// A heartbeat with gossip; the receiver answers with a PONG.
    Ping = 0,
    /// The answer to a PING or MEET, also broadcast to announce a change.
    Pong = 1,
    /// A PING that makes the receiver add the sender to its node table.
    Meet = 2,
    /// A node is agreed to have failed.
    Fail = 3,
    /// A Pub/Sub message, for every node.
    Publish = 4,
    /// A replica asks masters for their vote.
    FailoverAuthRequest = 5,
    /// A master gives its vote.
    FailoverAuthAck = 6,
    /// Another node's slots and config epoch, sent to a node whose view is
    /// stale.
    Update = 7,
    /// A replica asks its master to pause clients for a manual failover.
    MfStart = 8,
    /// A message of a module.
    Module = 9,
    /// A sharded Pub/Sub message, for the nodes of one shard.
    PublishShard = 10,
}

impl MessageType {
    /// The type with this wire number, if Redis 7.0 defines one.
    pub fn from_u16(n: u16) -> Option<MessageType> {
        Some(match n {
            0 => MessageType::Ping,
            1 => MessageType::Pong,
            2 => MessageType::Meet,
            3 => MessageType::Fail,
            4 => MessageType::Publish,
            5 => MessageType::FailoverAuthRequest,
            6 => MessageType::FailoverAuthAck,
            7 => MessageType::Update,
            8 => MessageType::MfStart,
            9 => MessageType::Module,
            10 => MessageType::PublishShard,
            _ => return None,
        })
    }

    /// The wire number.
    pub fn as_u16(self) -> u16 {
        self as u16
    }
}

/// The fixed header: the sender's view of itself, sent with every message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// The sender's client port (the TLS port when TLS is on).
    pub port: u16,
    /// The sender's current epoch.
    pub current_epoch: Epoch,
    /// The sender's config epoch, or its master's for a replica.
    pub config_epoch: Epoch,
    /// The sender's replication offset.
    pub offset: ReplOffset,
    /// The sender's node id.
    pub sender: NodeId,
    /// The slots the sender serves, or its master's for a replica.
    pub slots: SlotBitmap,
    /// The sender's master, or [`NodeId::NULL`] for a master.
    pub replicaof: NodeId,
    /// The address the sender announces, or empty: then the receiver takes
    /// the peer address of the connection.
    pub ip: NodeIp,
    /// The sender's plaintext client port, when `port` is TLS.
    pub pport: u16,
    /// The sender's cluster bus port.
    pub cport: u16,
    /// The sender's flags (Redis includes [`NodeFlags::MYSELF`]).
    pub flags: NodeFlags,
    /// The cluster state as the sender sees it.
    pub state: ClusterState,
    /// Message flags. [`encode`](crate::encode) adds
    /// [`MessageFlags::EXT_DATA`] when a PING, PONG or MEET has extensions.
    pub mflags: MessageFlags,
}

/// One message: the header and the type-specific body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The fixed header.
    pub header: Header,
    /// The body, which gives the message type.
    pub body: Body,
}

impl Message {
    /// The message type.
    pub fn kind(&self) -> MessageType {
        self.body.kind()
    }
}

/// The type-specific part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// PING: gossip and extensions.
    Ping(PingBody),
    /// PONG: gossip and extensions.
    Pong(PingBody),
    /// MEET: gossip and extensions.
    Meet(PingBody),
    /// FAIL: `node` has failed.
    Fail {
        /// The failed node.
        node: NodeId,
    },
    /// PUBLISH: a Pub/Sub message.
    Publish {
        /// The channel.
        channel: Vec<u8>,
        /// The message.
        message: Vec<u8>,
    },
    /// PUBLISHSHARD: a sharded Pub/Sub message.
    PublishShard {
        /// The shard channel.
        channel: Vec<u8>,
        /// The message.
        message: Vec<u8>,
    },
    /// FAILOVER_AUTH_REQUEST: the sending replica asks for a vote; the
    /// header's epochs, slots and [`MessageFlags::FORCEACK`] say for what.
    FailoverAuthRequest,
    /// FAILOVER_AUTH_ACK: the sending master votes for the receiver.
    FailoverAuthAck,
    /// UPDATE: `node` serves `slots` at `config_epoch`.
    Update {
        /// The node's config epoch.
        config_epoch: Epoch,
        /// The node the update is about.
        node: NodeId,
        /// The slots it serves.
        slots: SlotBitmap,
    },
    /// MFSTART: the sending replica asks its master to start a manual
    /// failover.
    MfStart,
    /// MODULE: a message from a module to its peers.
    Module {
        /// The sending module.
        module_id: ModuleId,
        /// The module's message type.
        kind: u8,
        /// The payload.
        payload: Vec<u8>,
    },
}

impl Body {
    /// The message type of this body.
    pub fn kind(&self) -> MessageType {
        match self {
            Body::Ping(_) => MessageType::Ping,
            Body::Pong(_) => MessageType::Pong,
            Body::Meet(_) => MessageType::Meet,
            Body::Fail { .. } => MessageType::Fail,
            Body::Publish { .. } => MessageType::Publish,
            Body::PublishShard { .. } => MessageType::PublishShard,
            Body::FailoverAuthRequest => MessageType::FailoverAuthRequest,
            Body::FailoverAuthAck => MessageType::FailoverAuthAck,
            Body::Update { .. } => MessageType::Update,
            Body::MfStart => MessageType::MfStart,
            Body::Module { .. } => MessageType::Module,
        }
    }

    /// The gossip and extensions of a PING, PONG or MEET.
    pub fn ping(&self) -> Option<&PingBody> {
        match self {
            Body::Ping(ping) | Body::Pong(ping) | Body::Meet(ping) => Some(ping),
            _ => None,
        }
    }
}

/// The body of a PING, PONG or MEET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PingBody {
    /// What the sender knows of some other nodes.
    pub gossip: Vec<Gossip>,
    /// Extensions (Redis 7.0 sends a hostname when one is announced).
    pub extensions: Vec<PingExt>,
}

/// One gossip entry: the sender's view of another node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gossip {
    /// The node.
    pub node: NodeId,
    /// When the sender last pinged it, in Unix seconds (0: no ping
    /// outstanding).
    pub ping_sent: u32,
    /// When the sender last had a PONG from it, in Unix seconds.
    pub pong_received: u32,
    /// Its address.
    pub ip: NodeIp,
    /// Its client port.
    pub port: u16,
    /// Its cluster bus port.
    pub cport: u16,
    /// Its flags as the sender sees them.
    pub flags: NodeFlags,
    /// Its plaintext client port.
    pub pport: u16,
}

/// A ping extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingExt {
    /// Type 0: the hostname the sender announces (`cluster-announce-hostname`).
    /// On the wire it ends with a NUL and zeros up to a multiple of 8.
    Hostname(Vec<u8>),
    /// Any other type, which Redis 7.0 skips (later versions define more):
    /// its data, a multiple of 8 bytes, kept as it is.
    Other {
        /// The extension type.
        kind: u16,
        /// The data after the 8-byte extension header.
        data: Vec<u8>,
    },
}

impl PingExt {
    /// The wire number of the hostname extension.
    pub const HOSTNAME: u16 = 0;

    /// The extension's type number.
    pub fn kind(&self) -> u16 {
        match self {
            PingExt::Hostname(_) => PingExt::HOSTNAME,
            PingExt::Other { kind, .. } => *kind,
        }
    }
}
