//! Byte offsets and sizes of the cluster bus message, as Redis 7.0 lays it
//! out on the wire.
//!
//! Each constant names one row of the tables in `docs/formats/cluster-bus.md`.
//! Offsets in [`header`] count from the start of the message; those in the
//! other modules count from the start of their own section. Every integer on
//! the wire is big-endian, except the module id of a MODULE message, which is
//! copied as the sender's bytes.

/// The fixed part of every message (2256 bytes): signature, lengths, the
/// sender's view of itself.
pub mod header {
    /// `"RCmb"`, 4 bytes.
    pub const SIGNATURE: usize = 0;
    /// Length of the whole message in bytes, header included (u32).
    pub const TOTAL_LEN: usize = 4;
    /// Protocol version, always 1 (u16).
    pub const VERSION: usize = 8;
    /// The sender's client port (u16).
    pub const PORT: usize = 10;
    /// Message type, 0..=10 (u16).
    pub const TYPE: usize = 12;
    /// PING, PONG and MEET: number of gossip entries (u16).
    pub const COUNT: usize = 14;
    /// The sender's current epoch (u64).
    pub const CURRENT_EPOCH: usize = 16;
    /// The config epoch of the sender, or of its master for a replica (u64).
    pub const CONFIG_EPOCH: usize = 24;
    /// The sender's replication offset (u64).
    pub const OFFSET: usize = 32;
    /// The sender's node id, 40 bytes.
    pub const SENDER: usize = 40;
    /// Slots served by the sender (or its master), a 2048-byte bitmap.
    pub const SLOTS: usize = 80;
    /// The sender's master's node id, or 40 zero bytes for a master.
    pub const REPLICAOF: usize = 2128;
    /// The sender's announced IP, NUL-padded, 46 bytes; empty when the
    /// receiver should use the connection's peer address.
    pub const IP: usize = 2168;
    /// PING, PONG and MEET: number of ping extensions (u16).
    pub const EXTENSIONS: usize = 2214;
    /// Reserved, zero, 30 bytes.
    pub const RESERVED: usize = 2216;
    /// The sender's plaintext client port when `port` is TLS (u16).
    pub const PPORT: usize = 2246;
    /// The sender's cluster bus port (u16).
    pub const CPORT: usize = 2248;
    /// The sender's node flags (u16).
    pub const FLAGS: usize = 2250;
    /// Cluster state as the sender sees it: 0 ok, 1 fail (u8).
    pub const STATE: usize = 2252;
    /// Message flags, 3 bytes.
    pub const MFLAGS: usize = 2253;
    /// Where the type-specific body starts: the length of the fixed header,
    /// and the least any message can be.
    pub const LEN: usize = 2256;

    /// Size of the signature field.
    pub const SIGNATURE_LEN: usize = 4;
    /// Size of the reserved field.
    pub const RESERVED_LEN: usize = 30;
    /// Size of the message flags field.
    pub const MFLAGS_LEN: usize = 3;
    /// Bytes a stream reader needs before it knows a message's length:
    /// signature and total length.
    pub const PREFIX_LEN: usize = 8;
}

/// One gossip entry of a PING, PONG or MEET body (104 bytes); the body is
/// `count` of them, followed by the extensions.
pub mod gossip {
    /// The node's id, 40 bytes.
    pub const NODE: usize = 0;
    /// When the sender last pinged the node, Unix seconds (u32).
    pub const PING_SENT: usize = 40;
    /// When the sender last had a PONG from the node, Unix seconds (u32).
    pub const PONG_RECEIVED: usize = 44;
    /// The node's IP, NUL-padded, 46 bytes.
    pub const IP: usize = 48;
    /// The node's client port (u16).
    pub const PORT: usize = 94;
    /// The node's cluster bus port (u16).
    pub const CPORT: usize = 96;
    /// The node's flags as the sender sees them (u16).
    pub const FLAGS: usize = 98;
    /// The node's plaintext client port (u16).
    pub const PPORT: usize = 100;
    /// Reserved, zero (u16).
    pub const RESERVED: usize = 102;
    /// Size of one entry.
    pub const LEN: usize = 104;
}

/// One ping extension, after the gossip entries of a PING, PONG or MEET whose
/// message flags have `EXT_DATA`.
pub mod ext {
    /// Length of the whole extension, this 8-byte header included, a multiple
    /// of 8 (u32).
    pub const LENGTH: usize = 0;
    /// Extension type (u16).
    pub const TYPE: usize = 4;
    /// Reserved, zero (u16).
    pub const RESERVED: usize = 6;
    /// Where the extension's data starts.
    pub const DATA: usize = 8;
    /// Size of the extension header.
    pub const HEADER_LEN: usize = 8;
    /// Extensions are padded with zeros to a multiple of this.
    pub const ALIGN: usize = 8;
}

/// The FAIL body (40 bytes).
pub mod fail {
    /// The failing node's id, 40 bytes.
    pub const NODE: usize = 0;
    /// Size of the body.
    pub const LEN: usize = 40;
}

/// The PUBLISH and PUBLISHSHARD body: two lengths, then the channel and the
/// message bytes.
pub mod publish {
    /// Length of the channel name (u32).
    pub const CHANNEL_LEN: usize = 0;
    /// Length of the message (u32).
    pub const MESSAGE_LEN: usize = 4;
    /// The channel name, then at once the message.
    pub const DATA: usize = 8;
}

/// The UPDATE body (2096 bytes).
pub mod update {
    /// The config epoch of the node the update is about (u64).
    pub const CONFIG_EPOCH: usize = 0;
    /// That node's id, 40 bytes.
    pub const NODE: usize = 8;
    /// The slots that node serves, a 2048-byte bitmap.
    pub const SLOTS: usize = 48;
    /// Size of the body.
    pub const LEN: usize = 2096;
}

/// The MODULE body: a module id, a length, a type, then the payload.
pub mod module {
    /// The sending module's id, 8 bytes in the sender's byte order.
    pub const MODULE_ID: usize = 0;
    /// Length of the payload (u32).
    pub const PAYLOAD_LEN: usize = 8;
    /// The module's own message type (u8).
    pub const TYPE: usize = 12;
    /// Where the payload starts.
    pub const PAYLOAD: usize = 13;
}

/// Sizes of the fixed-size fields that appear in several places.
pub mod field {
    /// A node id: 40 characters, no terminator.
    pub const NODE_ID_LEN: usize = 40;
    /// An IP address field: up to 45 characters and a NUL.
    pub const IP_LEN: usize = 46;
    /// A slot bitmap: one bit for each of the 16384 slots.
    pub const SLOTS_LEN: usize = 2048;
}
