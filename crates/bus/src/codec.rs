//! Encoding and decoding whole messages, and framing them in a byte stream.
//!
//! Decoding applies the checks a Redis 7.0 node applies before it acts on a
//! message (signature, minimum length, version, the length each type calls
//! for, extension lengths), and a few more where Redis would read past the
//! message: an extension must hold its own 8-byte header, its full 32-bit
//! length must fit, and a hostname must be NUL-terminated.

use crate::errors::BusError;
use crate::layout::{self, field, header as hdr};
use crate::message::{Body, Gossip, Header, Message, MessageType, PingBody, PingExt};
use crate::types::{
    ClusterState, Epoch, MessageFlags, ModuleId, NodeFlags, NodeId, NodeIp, ReplOffset, SlotBitmap,
};

/// The four bytes every message starts with.
pub const SIGNATURE: [u8; 4] = *b"RCmb";

/// The protocol version Redis 7.0 speaks and accepts.
pub const PROTOCOL_VERSION: u16 = 1;

/// The least a message can be: its fixed header.
pub const MIN_MESSAGE_LEN: usize = hdr::LEN;

/// The length of the next message in `buf`, the start of a byte stream, once
/// its first 8 bytes are there: `Ok(None)` while fewer than 8 bytes are
/// buffered.
///
/// This is the check a Redis node makes before buffering a message: a wrong
/// signature, or a length below the fixed header, is an error after which the
/// stream cannot be framed any more (Redis closes the link). Any length up to
/// 4 GiB is accepted, as Redis does; nothing is allocated here, so a caller
/// that wants a lower limit compares the result with it.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, BusError> {
    let Some(prefix) = buf.get(..hdr::PREFIX_LEN) else {
        return Ok(None);
    };
    let signature: [u8; 4] = array(prefix, hdr::SIGNATURE)?;
    if signature != SIGNATURE {
        return Err(BusError::BadSignature { found: signature });
    }
    let len = u32_at(prefix, hdr::TOTAL_LEN)?;
    if (len as usize) < MIN_MESSAGE_LEN {
        return Err(BusError::TooShort { len });
    }
    Ok(Some(len as usize))
}

/// The next whole message at the start of `buf`, as a slice to pass to
/// [`decode`] and to consume from the buffer: `Ok(None)` until all its bytes
/// are there. Errors are those of [`frame_len`].
pub fn next_frame(buf: &[u8]) -> Result<Option<&[u8]>, BusError> {
    Ok(frame_len(buf)?.and_then(|len| buf.get(..len)))
}

/// Decodes one whole message: `buf` must hold exactly the bytes it
/// announces.
pub fn decode(buf: &[u8]) -> Result<Message, BusError> {
    let Some(len) = frame_len(buf)? else {
        return Err(BusError::LengthMismatch {
            declared: 0,
            actual: buf.len(),
        });
    };
    let totlen = len as u32;
    if len != buf.len() {
        return Err(BusError::LengthMismatch {
            declared: totlen,
            actual: buf.len(),
        });
    }
    let version = u16_at(buf, hdr::VERSION)?;
    if version != PROTOCOL_VERSION {
        return Err(BusError::UnsupportedVersion(version));
    }
    let type_code = u16_at(buf, hdr::TYPE)?;
    let kind = MessageType::from_u16(type_code).ok_or(BusError::UnknownType(type_code))?;
    let header = decode_header(buf)?;
    let body_bytes = buf.get(hdr::LEN..).unwrap_or_default();
    let wrong_len = |expected: u64| BusError::BodyLength {
        kind,
        len: totlen,
        expected,
    };
    let exact = |body_len: usize| {
        if body_bytes.len() == body_len {
            Ok(())
        } else {
            Err(wrong_len((hdr::LEN + body_len) as u64))
        }
    };
    let body = match kind {
        MessageType::Ping | MessageType::Pong | MessageType::Meet => {
            let ping = decode_ping(buf, &header, kind, totlen)?;
            match kind {
                MessageType::Ping => Body::Ping(ping),
                MessageType::Pong => Body::Pong(ping),
                _ => Body::Meet(ping),
            }
        }
        MessageType::Fail => {
            exact(layout::fail::LEN)?;
            Body::Fail {
                node: NodeId(array(body_bytes, layout::fail::NODE)?),
            }
        }
        MessageType::Publish | MessageType::PublishShard => {
            use layout::publish::{CHANNEL_LEN, DATA, MESSAGE_LEN};
            if body_bytes.len() < DATA {
                return Err(wrong_len((hdr::LEN + DATA) as u64));
            }
            let channel_len = u32_at(body_bytes, CHANNEL_LEN)? as usize;
            let message_len = u32_at(body_bytes, MESSAGE_LEN)? as usize;
            let expected = (hdr::LEN + DATA) as u64 + channel_len as u64 + message_len as u64;
            if expected != u64::from(totlen) {
                return Err(wrong_len(expected));
            }
            let channel = slice(body_bytes, DATA, channel_len)?.to_vec();
            let message = slice(body_bytes, DATA + channel_len, message_len)?.to_vec();
            if kind == MessageType::Publish {
                Body::Publish { channel, message }
            } else {
                Body::PublishShard { channel, message }
            }
        }
        MessageType::FailoverAuthRequest => {
            exact(0)?;
            Body::FailoverAuthRequest
        }
        MessageType::FailoverAuthAck => {
            exact(0)?;
            Body::FailoverAuthAck
        }
        MessageType::MfStart => {
            exact(0)?;
            Body::MfStart
        }
        MessageType::Update => {
            use layout::update::{CONFIG_EPOCH, LEN, NODE, SLOTS};
            exact(LEN)?;
            Body::Update {
                config_epoch: Epoch(u64_at(body_bytes, CONFIG_EPOCH)?),
                node: NodeId(array(body_bytes, NODE)?),
                slots: SlotBitmap::from_bytes(array(body_bytes, SLOTS)?),
            }
        }
        MessageType::Module => {
            use layout::module::{MODULE_ID, PAYLOAD, PAYLOAD_LEN, TYPE};
            if body_bytes.len() < PAYLOAD {
                return Err(wrong_len((hdr::LEN + PAYLOAD) as u64));
            }
            let payload_len = u32_at(body_bytes, PAYLOAD_LEN)? as usize;
            let expected = (hdr::LEN + PAYLOAD) as u64 + payload_len as u64;
            if expected != u64::from(totlen) {
                return Err(wrong_len(expected));
            }
            Body::Module {
                module_id: ModuleId(array(body_bytes, MODULE_ID)?),
                kind: u8_at(body_bytes, TYPE)?,
                payload: slice(body_bytes, PAYLOAD, payload_len)?.to_vec(),
            }
        }
    };
    Ok(Message { header, body })
}

fn decode_header(buf: &[u8]) -> Result<Header, BusError> {
    Ok(Header {
        port: u16_at(buf, hdr::PORT)?,
        current_epoch: Epoch(u64_at(buf, hdr::CURRENT_EPOCH)?),
        config_epoch: Epoch(u64_at(buf, hdr::CONFIG_EPOCH)?),
        offset: ReplOffset(u64_at(buf, hdr::OFFSET)?),
        sender: NodeId(array(buf, hdr::SENDER)?),
        slots: SlotBitmap::from_bytes(array(buf, hdr::SLOTS)?),
        replicaof: NodeId(array(buf, hdr::REPLICAOF)?),
        ip: NodeIp(array(buf, hdr::IP)?),
        pport: u16_at(buf, hdr::PPORT)?,
        cport: u16_at(buf, hdr::CPORT)?,
        flags: NodeFlags(u16_at(buf, hdr::FLAGS)?),
        state: ClusterState(u8_at(buf, hdr::STATE)?),
        mflags: MessageFlags(array(buf, hdr::MFLAGS)?),
    })
}

/// The gossip entries, then (when the message flags say so) the extensions;
/// together they must fill the message exactly. Without `EXT_DATA` the
/// extension count is not looked at, as Redis does not look at it.
fn decode_ping(
    buf: &[u8],
    header: &Header,
    kind: MessageType,
    totlen: u32,
) -> Result<PingBody, BusError> {
    let count = usize::from(u16_at(buf, hdr::COUNT)?);
    let gossip_end = hdr::LEN + count * layout::gossip::LEN;
    if buf.len() < gossip_end {
        return Err(BusError::BodyLength {
            kind,
            len: totlen,
            expected: gossip_end as u64,
        });
    }
    let mut gossip = Vec::with_capacity(count);
    for i in 0..count {
        let entry = slice(buf, hdr::LEN + i * layout::gossip::LEN, layout::gossip::LEN)?;
        gossip.push(decode_gossip(entry)?);
    }
    let mut extensions = Vec::new();
    let mut pos = gossip_end;
    if header.mflags.contains(MessageFlags::EXT_DATA) {
        let n = u16_at(buf, hdr::EXTENSIONS)?;
        for index in 0..n {
            let rest = buf.get(pos..).unwrap_or_default();
            let ext_header =
                rest.get(..layout::ext::HEADER_LEN)
                    .ok_or(BusError::ExtensionMissing {
                        index,
                        remaining: rest.len(),
                    })?;
            let length = u32_at(ext_header, layout::ext::LENGTH)?;
            let ext_type = u16_at(ext_header, layout::ext::TYPE)?;
            let ext_len = length as usize;
            if ext_len < layout::ext::HEADER_LEN || ext_len % layout::ext::ALIGN != 0 {
                return Err(BusError::ExtensionLength { index, length });
            }
            let whole = rest.get(..ext_len).ok_or(BusError::ExtensionOverrun {
                index,
                length,
                remaining: rest.len(),
            })?;
            let data = whole.get(layout::ext::DATA..).unwrap_or_default();
            extensions.push(decode_ext(index, ext_type, data)?);
            pos += ext_len;
        }
    }
    if pos != buf.len() {
        return Err(BusError::BodyLength {
            kind,
            len: totlen,
            expected: pos as u64,
        });
    }
    Ok(PingBody { gossip, extensions })
}

fn decode_gossip(entry: &[u8]) -> Result<Gossip, BusError> {
    use layout::gossip::{CPORT, FLAGS, IP, NODE, PING_SENT, PONG_RECEIVED, PORT, PPORT};
    Ok(Gossip {
        node: NodeId(array(entry, NODE)?),
        ping_sent: u32_at(entry, PING_SENT)?,
        pong_received: u32_at(entry, PONG_RECEIVED)?,
        ip: NodeIp(array(entry, IP)?),
        port: u16_at(entry, PORT)?,
        cport: u16_at(entry, CPORT)?,
        flags: NodeFlags(u16_at(entry, FLAGS)?),
        pport: u16_at(entry, PPORT)?,
    })
}

fn decode_ext(index: u16, kind: u16, data: &[u8]) -> Result<PingExt, BusError> {
    if kind == PingExt::HOSTNAME {
        let end = data
            .iter()
            .position(|&b| b == 0)
            .ok_or(BusError::HostnameUnterminated { index })?;
        Ok(PingExt::Hostname(
            data.get(..end).unwrap_or_default().to_vec(),
        ))
    } else {
        Ok(PingExt::Other {
            kind,
            data: data.to_vec(),
        })
    }
}

/// The encoded message, as a Redis 7.0 node would send it.
pub fn encode(message: &Message) -> Result<Vec<u8>, BusError> {
    let mut out = Vec::new();
    encode_into(message, &mut out)?;
    Ok(out)
}

/// Appends the encoded message to `out`. On error nothing is appended.
pub fn encode_into(message: &Message, out: &mut Vec<u8>) -> Result<(), BusError> {
    let totlen = encoded_len(message)?;
    out.reserve(totlen as usize);
    let h = &message.header;
    let ping = message.body.ping();
    let (count, extensions) = match ping {
        Some(p) => (p.gossip.len() as u16, p.extensions.len() as u16),
        None => (0, 0),
    };
    let mut mflags = h.mflags;
    if ping.is_some_and(|p| !p.extensions.is_empty()) {
        mflags.insert(MessageFlags::EXT_DATA);
    }
    let start = out.len();
    out.extend_from_slice(&SIGNATURE);
    out.extend_from_slice(&totlen.to_be_bytes());
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(&h.port.to_be_bytes());
    out.extend_from_slice(&message.kind().as_u16().to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&h.current_epoch.0.to_be_bytes());
    out.extend_from_slice(&h.config_epoch.0.to_be_bytes());
    out.extend_from_slice(&h.offset.0.to_be_bytes());
    out.extend_from_slice(h.sender.as_bytes());
    out.extend_from_slice(h.slots.as_bytes());
    out.extend_from_slice(h.replicaof.as_bytes());
    out.extend_from_slice(&h.ip.0);
    out.extend_from_slice(&extensions.to_be_bytes());
    out.extend_from_slice(&[0; hdr::RESERVED_LEN]);
    out.extend_from_slice(&h.pport.to_be_bytes());
    out.extend_from_slice(&h.cport.to_be_bytes());
    out.extend_from_slice(&h.flags.0.to_be_bytes());
    out.push(h.state.0);
    out.extend_from_slice(&mflags.0);
    debug_assert_eq!(out.len() - start, hdr::LEN);
    match &message.body {
        Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => {
            for g in &p.gossip {
                out.extend_from_slice(g.node.as_bytes());
                out.extend_from_slice(&g.ping_sent.to_be_bytes());
                out.extend_from_slice(&g.pong_received.to_be_bytes());
                out.extend_from_slice(&g.ip.0);
                out.extend_from_slice(&g.port.to_be_bytes());
                out.extend_from_slice(&g.cport.to_be_bytes());
                out.extend_from_slice(&g.flags.0.to_be_bytes());
                out.extend_from_slice(&g.pport.to_be_bytes());
                out.extend_from_slice(&[0; 2]);
            }
            for ext in &p.extensions {
                let (kind, data, pad) = match ext {
                    PingExt::Hostname(name) => {
                        (PingExt::HOSTNAME, name, padding(name.len() + 1) + 1)
                    }
                    PingExt::Other { kind, data } => (*kind, data, 0),
                };
                let length = layout::ext::HEADER_LEN + data.len() + pad;
                out.extend_from_slice(&(length as u32).to_be_bytes());
                out.extend_from_slice(&kind.to_be_bytes());
                out.extend_from_slice(&[0; 2]);
                out.extend_from_slice(data);
                out.resize(out.len() + pad, 0);
            }
        }
        Body::Fail { node } => out.extend_from_slice(node.as_bytes()),
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
            out.extend_from_slice(&(message.len() as u32).to_be_bytes());
            out.extend_from_slice(channel);
            out.extend_from_slice(message);
        }
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {}
        Body::Update {
            config_epoch,
            node,
            slots,
        } => {
            out.extend_from_slice(&config_epoch.0.to_be_bytes());
            out.extend_from_slice(node.as_bytes());
            out.extend_from_slice(slots.as_bytes());
        }
        Body::Module {
            module_id,
            kind,
            payload,
        } => {
            out.extend_from_slice(&module_id.0);
            out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            out.push(*kind);
            out.extend_from_slice(payload);
        }
    }
    debug_assert_eq!((out.len() - start) as u64, u64::from(totlen));
    Ok(())
}

/// The number of bytes [`encode`] writes for `message`, or why it cannot be
/// encoded: a count or length beyond its wire field, a hostname with a NUL,
/// an [`Other`](PingExt::Other) extension that would not decode as itself.
pub fn encoded_len(message: &Message) -> Result<u32, BusError> {
    let body: u64 = match &message.body {
        Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => {
            fits_u16("gossip count", p.gossip.len())?;
            fits_u16("extension count", p.extensions.len())?;
            let mut len = (p.gossip.len() * layout::gossip::LEN) as u64;
            for ext in &p.extensions {
                let ext_len = match ext {
                    PingExt::Hostname(name) => {
                        if name.contains(&0) {
                            return Err(BusError::HostnameNul);
                        }
                        layout::ext::HEADER_LEN + name.len() + 1 + padding(name.len() + 1)
                    }
                    PingExt::Other { kind, data } => {
                        if *kind == PingExt::HOSTNAME || data.len() % layout::ext::ALIGN != 0 {
                            return Err(BusError::BadExtension {
                                kind: *kind,
                                len: data.len(),
                            });
                        }
                        layout::ext::HEADER_LEN + data.len()
                    }
                };
                fits_u32("extension length", ext_len as u64)?;
                len += ext_len as u64;
            }
            len
        }
        Body::Fail { .. } => layout::fail::LEN as u64,
        Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
            fits_u32("channel length", channel.len() as u64)?;
            fits_u32("message length", message.len() as u64)?;
            (layout::publish::DATA + channel.len()) as u64 + message.len() as u64
        }
        Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => 0,
        Body::Update { .. } => layout::update::LEN as u64,
        Body::Module { payload, .. } => {
            fits_u32("module payload length", payload.len() as u64)?;
            (layout::module::PAYLOAD + payload.len()) as u64
        }
    };
    fits_u32("message length", hdr::LEN as u64 + body)
}

/// Zero bytes that bring `len` to a multiple of 8.
fn padding(len: usize) -> usize {
    (layout::ext::ALIGN - len % layout::ext::ALIGN) % layout::ext::ALIGN
}

fn fits_u16(what: &'static str, n: usize) -> Result<u16, BusError> {
    u16::try_from(n).map_err(|_| BusError::TooLarge {
        what,
        len: n as u64,
    })
}

fn fits_u32(what: &'static str, n: u64) -> Result<u32, BusError> {
    u32::try_from(n).map_err(|_| BusError::TooLarge { what, len: n })
}

fn slice(buf: &[u8], at: usize, len: usize) -> Result<&[u8], BusError> {
    at.checked_add(len)
        .and_then(|end| buf.get(at..end))
        .ok_or(BusError::Truncated { at, len: buf.len() })
}

fn array<const N: usize>(buf: &[u8], at: usize) -> Result<[u8; N], BusError> {
    slice(buf, at, N)?
        .try_into()
        .map_err(|_| BusError::Truncated { at, len: buf.len() })
}

fn u8_at(buf: &[u8], at: usize) -> Result<u8, BusError> {
    Ok(u8::from_be_bytes(array(buf, at)?))
}

fn u16_at(buf: &[u8], at: usize) -> Result<u16, BusError> {
    Ok(u16::from_be_bytes(array(buf, at)?))
}

fn u32_at(buf: &[u8], at: usize) -> Result<u32, BusError> {
    Ok(u32::from_be_bytes(array(buf, at)?))
}

fn u64_at(buf: &[u8], at: usize) -> Result<u64, BusError> {
    Ok(u64::from_be_bytes(array(buf, at)?))
}

// Keep the constants and the field sizes the encoder writes in step.
const _: () = {
    assert!(hdr::SENDER + field::NODE_ID_LEN == hdr::SLOTS);
    assert!(hdr::SLOTS + field::SLOTS_LEN == hdr::REPLICAOF);
    assert!(hdr::REPLICAOF + field::NODE_ID_LEN == hdr::IP);
    assert!(hdr::IP + field::IP_LEN == hdr::EXTENSIONS);
    assert!(hdr::EXTENSIONS + 2 == hdr::RESERVED);
    assert!(hdr::RESERVED + hdr::RESERVED_LEN == hdr::PPORT);
    assert!(hdr::MFLAGS + hdr::MFLAGS_LEN == hdr::LEN);
    assert!(layout::gossip::IP + field::IP_LEN == layout::gossip::PORT);
    assert!(layout::gossip::RESERVED + 2 == layout::gossip::LEN);
    assert!(layout::update::NODE + field::NODE_ID_LEN == layout::update::SLOTS);
    assert!(layout::update::SLOTS + field::SLOTS_LEN == layout::update::LEN);
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{ext, gossip};

    fn id(c: u8) -> NodeId {
        NodeId([c; 40])
    }

    fn header() -> Header {
        Header {
            port: 0x1b58,
            current_epoch: Epoch(0x0102_0304_0506_0708),
            config_epoch: Epoch(0x1112_1314_1516_1718),
            offset: ReplOffset(0x2122_2324_2526_2728),
            sender: id(b's'),
            slots: [0, 16383].into_iter().collect(),
            replicaof: id(b'r'),
            ip: NodeIp::new(b"10.1.2.3").unwrap(),
            pport: 0x3132,
            cport: 0x4142,
            flags: NodeFlags(0x5152),
            state: ClusterState::FAIL,
            mflags: MessageFlags([0x61, 0x62, 0x63]),
        }
    }

    fn ping(gossip: Vec<Gossip>, extensions: Vec<PingExt>) -> Message {
        Message {
            header: header(),
            body: Body::Ping(PingBody { gossip, extensions }),
        }
    }

    fn be16(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes(b[at..at + 2].try_into().unwrap())
    }

    fn be32(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn be64(b: &[u8], at: usize) -> u64 {
        u64::from_be_bytes(b[at..at + 8].try_into().unwrap())
    }

    fn set32(b: &mut [u8], at: usize, v: u32) {
        b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    }

    fn set16(b: &mut [u8], at: usize, v: u16) {
        b[at..at + 2].copy_from_slice(&v.to_be_bytes());
    }

    #[test]
    fn header_fields_sit_at_their_offsets_in_network_order() {
        let g = Gossip {
            node: id(b'g'),
            ping_sent: 0x7172_7374,
            pong_received: 0x8182_8384,
            ip: NodeIp::new(b"::1").unwrap(),
            port: 0x9192,
            cport: 0xa1a2,
            flags: NodeFlags(0xb1b2),
            pport: 0xc1c2,
        };
        let b = encode(&ping(vec![g], vec![])).unwrap();
        assert_eq!(b.len(), hdr::LEN + gossip::LEN);
        assert_eq!(&b[hdr::SIGNATURE..hdr::SIGNATURE + 4], b"RCmb");
        assert_eq!(be32(&b, hdr::TOTAL_LEN), (hdr::LEN + gossip::LEN) as u32);
        assert_eq!(be16(&b, hdr::VERSION), 1);
        assert_eq!(be16(&b, hdr::PORT), 0x1b58);
        assert_eq!(be16(&b, hdr::TYPE), 0);
        assert_eq!(be16(&b, hdr::COUNT), 1);
        assert_eq!(be64(&b, hdr::CURRENT_EPOCH), 0x0102_0304_0506_0708);
        assert_eq!(be64(&b, hdr::CONFIG_EPOCH), 0x1112_1314_1516_1718);
        assert_eq!(be64(&b, hdr::OFFSET), 0x2122_2324_2526_2728);
        assert_eq!(&b[hdr::SENDER..hdr::SENDER + 40], &[b's'; 40]);
        assert_eq!(b[hdr::SLOTS], 1);
        assert_eq!(b[hdr::SLOTS + 2047], 0x80);
        assert_eq!(&b[hdr::REPLICAOF..hdr::REPLICAOF + 40], &[b'r'; 40]);
        assert_eq!(&b[hdr::IP..hdr::IP + 9], b"10.1.2.3\0");
        assert_eq!(be16(&b, hdr::EXTENSIONS), 0);
        assert_eq!(&b[hdr::RESERVED..hdr::RESERVED + 30], &[0; 30]);
        assert_eq!(be16(&b, hdr::PPORT), 0x3132);
        assert_eq!(be16(&b, hdr::CPORT), 0x4142);
        assert_eq!(be16(&b, hdr::FLAGS), 0x5152);
        assert_eq!(b[hdr::STATE], 1);
        assert_eq!(&b[hdr::MFLAGS..hdr::MFLAGS + 3], &[0x61, 0x62, 0x63]);
        let e = &b[hdr::LEN..];
        assert_eq!(&e[gossip::NODE..gossip::NODE + 40], &[b'g'; 40]);
        assert_eq!(be32(e, gossip::PING_SENT), 0x7172_7374);
        assert_eq!(be32(e, gossip::PONG_RECEIVED), 0x8182_8384);
        assert_eq!(&e[gossip::IP..gossip::IP + 4], b"::1\0");
        assert_eq!(be16(e, gossip::PORT), 0x9192);
        assert_eq!(be16(e, gossip::CPORT), 0xa1a2);
        assert_eq!(be16(e, gossip::FLAGS), 0xb1b2);
        assert_eq!(be16(e, gossip::PPORT), 0xc1c2);
        assert_eq!(be16(e, gossip::RESERVED), 0);
    }

    #[test]
    fn bodies_sit_at_their_offsets() {
        let with = |body| {
            let b = encode(&Message {
                header: header(),
                body,
            })
            .unwrap();
            b[hdr::LEN..].to_vec()
        };
        let fail = with(Body::Fail { node: id(b'f') });
        assert_eq!(fail, vec![b'f'; layout::fail::LEN]);

        let publish = with(Body::Publish {
            channel: b"ch".to_vec(),
            message: b"hello".to_vec(),
        });
        assert_eq!(be32(&publish, layout::publish::CHANNEL_LEN), 2);
        assert_eq!(be32(&publish, layout::publish::MESSAGE_LEN), 5);
        assert_eq!(&publish[layout::publish::DATA..], b"chhello");

        let update = with(Body::Update {
            config_epoch: Epoch(7),
            node: id(b'u'),
            slots: [8].into_iter().collect(),
        });
        assert_eq!(update.len(), layout::update::LEN);
        assert_eq!(be64(&update, layout::update::CONFIG_EPOCH), 7);
        assert_eq!(
            &update[layout::update::NODE..layout::update::NODE + 40],
            &[b'u'; 40]
        );
        assert_eq!(update[layout::update::SLOTS + 1], 1);

        let module = with(Body::Module {
            module_id: ModuleId(*b"modid123"),
            kind: 9,
            payload: b"xyz".to_vec(),
        });
        assert_eq!(&module[layout::module::MODULE_ID..8], b"modid123");
        assert_eq!(be32(&module, layout::module::PAYLOAD_LEN), 3);
        assert_eq!(module[layout::module::TYPE], 9);
        assert_eq!(&module[layout::module::PAYLOAD..], b"xyz");

        for body in [
            Body::FailoverAuthRequest,
            Body::FailoverAuthAck,
            Body::MfStart,
        ] {
            assert!(with(body).is_empty());
        }
    }

    #[test]
    fn hostnames_end_with_a_nul_and_pad_to_eight() {
        for len in 0..=20 {
            let name = vec![b'h'; len];
            let b = encode(&ping(vec![], vec![PingExt::Hostname(name.clone())])).unwrap();
            let e = &b[hdr::LEN..];
            let padded = (len + 1).div_ceil(8) * 8;
            assert_eq!(e.len(), ext::HEADER_LEN + padded, "hostname of {len}");
            assert_eq!(be32(e, ext::LENGTH) as usize, e.len());
            assert_eq!(be16(e, ext::TYPE), PingExt::HOSTNAME);
            assert_eq!(be16(e, ext::RESERVED), 0);
            assert_eq!(&e[ext::DATA..ext::DATA + len], &name[..]);
            assert!(e[ext::DATA + len..].iter().all(|&b| b == 0));
            assert_eq!(be16(&b, hdr::EXTENSIONS), 1);
            assert_eq!(b[hdr::MFLAGS] & 4, 4, "EXT_DATA is set");
            let back = decode(&b).unwrap();
            assert_eq!(
                back.body.ping().unwrap().extensions,
                vec![PingExt::Hostname(name)]
            );
        }
    }

    #[test]
    fn framing() {
        let b = encode(&ping(vec![], vec![])).unwrap();
        for cut in 0..8 {
            assert_eq!(frame_len(&b[..cut]), Ok(None));
        }
        for cut in 8..b.len() {
            assert_eq!(frame_len(&b[..cut]), Ok(Some(b.len())));
            assert_eq!(next_frame(&b[..cut]), Ok(None));
            assert_eq!(
                decode(&b[..cut]),
                Err(BusError::LengthMismatch {
                    declared: b.len() as u32,
                    actual: cut
                })
            );
        }
        let mut two = b.clone();
        two.extend_from_slice(&b);
        assert_eq!(next_frame(&two), Ok(Some(&b[..])));
        assert_eq!(
            frame_len(b"RCmc\0\0\x08\xd0"),
            Err(BusError::BadSignature { found: *b"RCmc" })
        );
        assert_eq!(
            frame_len(b"RCmb\0\0\x08\xcf"),
            Err(BusError::TooShort { len: 2255 })
        );
        assert_eq!(
            frame_len(b"RCmb\xff\xff\xff\xff"),
            Ok(Some(u32::MAX as usize))
        );
        assert_eq!(
            decode(b"RCm"),
            Err(BusError::LengthMismatch {
                declared: 0,
                actual: 3
            })
        );
    }

    #[test]
    fn version_and_type_are_checked() {
        let mut b = encode(&ping(vec![], vec![])).unwrap();
        set16(&mut b, hdr::VERSION, 2);
        assert_eq!(decode(&b), Err(BusError::UnsupportedVersion(2)));
        set16(&mut b, hdr::VERSION, 1);
        set16(&mut b, hdr::TYPE, 11);
        assert_eq!(decode(&b), Err(BusError::UnknownType(11)));
    }

    fn body_length(kind: MessageType, len: usize, expected: u64) -> Result<Message, BusError> {
        Err(BusError::BodyLength {
            kind,
            len: len as u32,
            expected,
        })
    }

    /// `b` with `extra` bytes more (or fewer), the total length adjusted.
    fn resized(mut b: Vec<u8>, len: usize) -> Vec<u8> {
        b.resize(len, 0);
        set32(&mut b, hdr::TOTAL_LEN, len as u32);
        b
    }

    #[test]
    fn each_type_has_its_length() {
        let msg = |body| {
            encode(&Message {
                header: header(),
                body,
            })
            .unwrap()
        };
        let cases = [
            (msg(Body::Fail { node: id(b'f') }), MessageType::Fail),
            (
                msg(Body::FailoverAuthRequest),
                MessageType::FailoverAuthRequest,
            ),
            (msg(Body::FailoverAuthAck), MessageType::FailoverAuthAck),
            (msg(Body::MfStart), MessageType::MfStart),
            (
                msg(Body::Update {
                    config_epoch: Epoch(1),
                    node: id(b'u'),
                    slots: SlotBitmap::new(),
                }),
                MessageType::Update,
            ),
            (
                msg(Body::Publish {
                    channel: b"c".to_vec(),
                    message: b"m".to_vec(),
                }),
                MessageType::Publish,
            ),
            (
                msg(Body::PublishShard {
                    channel: vec![],
                    message: vec![],
                }),
                MessageType::PublishShard,
            ),
            (
                msg(Body::Module {
                    module_id: ModuleId::default(),
                    kind: 0,
                    payload: vec![1, 2, 3],
                }),
                MessageType::Module,
            ),
            (msg(Body::Pong(PingBody::default())), MessageType::Pong),
        ];
        for (b, kind) in cases {
            let len = b.len();
            assert_eq!(decode(&b).unwrap().kind(), kind);
            assert_eq!(
                decode(&resized(b.clone(), len + 1)),
                body_length(kind, len + 1, len as u64),
                "{kind:?} with a byte more"
            );
            if len > hdr::LEN {
                let short = resized(b.clone(), len - 1);
                assert!(
                    matches!(decode(&short), Err(BusError::BodyLength { kind: k, .. }) if k == kind),
                    "{kind:?} with a byte less: {:?}",
                    decode(&short)
                );
            }
        }
    }

    #[test]
    fn publish_lengths_cannot_overflow() {
        let b = encode(&Message {
            header: header(),
            body: Body::Publish {
                channel: vec![],
                message: vec![],
            },
        })
        .unwrap();
        let mut bad = b.clone();
        set32(&mut bad, hdr::LEN + layout::publish::CHANNEL_LEN, u32::MAX);
        set32(&mut bad, hdr::LEN + layout::publish::MESSAGE_LEN, 9);
        assert_eq!(
            decode(&bad),
            body_length(
                MessageType::Publish,
                b.len(),
                hdr::LEN as u64 + 8 + u64::from(u32::MAX) + 9
            )
        );
        // Too short to hold the two lengths.
        let short = resized(b, hdr::LEN + 4);
        assert_eq!(
            decode(&short),
            body_length(MessageType::Publish, hdr::LEN + 4, hdr::LEN as u64 + 8)
        );
    }

    #[test]
    fn gossip_count_must_match_the_length() {
        let b = encode(&ping(vec![Gossip::default(); 2], vec![])).unwrap();
        let mut more = b.clone();
        set16(&mut more, hdr::COUNT, 3);
        assert_eq!(
            decode(&more),
            body_length(
                MessageType::Ping,
                b.len(),
                (hdr::LEN + 3 * gossip::LEN) as u64
            )
        );
        let mut fewer = b.clone();
        set16(&mut fewer, hdr::COUNT, 1);
        assert_eq!(
            decode(&fewer),
            body_length(MessageType::Ping, b.len(), (hdr::LEN + gossip::LEN) as u64)
        );
        let mut most = b.clone();
        set16(&mut most, hdr::COUNT, u16::MAX);
        assert!(decode(&most).is_err());
    }

    /// A PING with one hostname extension, and where that extension starts.
    fn with_hostname() -> (Vec<u8>, usize) {
        let b = encode(&ping(vec![], vec![PingExt::Hostname(b"abc".to_vec())])).unwrap();
        (b, hdr::LEN)
    }

    #[test]
    fn extensions_are_checked() {
        let (b, at) = with_hostname();
        assert_eq!(b.len(), at + 16);

        let mut bad = b.clone();
        set32(&mut bad, at + ext::LENGTH, 12);
        assert_eq!(
            decode(&bad),
            Err(BusError::ExtensionLength {
                index: 0,
                length: 12
            })
        );
        set32(&mut bad, at + ext::LENGTH, 0);
        assert_eq!(
            decode(&bad),
            Err(BusError::ExtensionLength {
                index: 0,
                length: 0
            })
        );
        set32(&mut bad, at + ext::LENGTH, 24);
        assert_eq!(
            decode(&bad),
            Err(BusError::ExtensionOverrun {
                index: 0,
                length: 24,
                remaining: 16
            })
        );
        // A length whose low 16 bits look fine.
        set32(&mut bad, at + ext::LENGTH, 0x1_0010);
        assert!(matches!(
            decode(&bad),
            Err(BusError::ExtensionOverrun { .. })
        ));

        let mut two = b.clone();
        set16(&mut two, hdr::EXTENSIONS, 2);
        assert_eq!(
            decode(&two),
            Err(BusError::ExtensionMissing {
                index: 1,
                remaining: 0
            })
        );
        let mut none = b.clone();
        set16(&mut none, hdr::EXTENSIONS, 0);
        assert_eq!(
            decode(&none),
            body_length(MessageType::Ping, b.len(), hdr::LEN as u64)
        );

        let mut unterminated = b.clone();
        unterminated[at + ext::DATA..].copy_from_slice(b"abcdefgh");
        assert_eq!(
            decode(&unterminated),
            Err(BusError::HostnameUnterminated { index: 0 })
        );

        // Without EXT_DATA the extensions are not part of the message, and
        // their count is not looked at.
        let mut unflagged = b.clone();
        unflagged[hdr::MFLAGS] &= !4;
        assert_eq!(
            decode(&unflagged),
            body_length(MessageType::Ping, b.len(), hdr::LEN as u64)
        );
        let unflagged = resized(unflagged, hdr::LEN);
        assert_eq!(
            decode(&unflagged).unwrap().body,
            Body::Ping(PingBody::default())
        );
    }

    #[test]
    fn a_hostname_ends_at_its_nul_whatever_follows() {
        // As Redis reads it: "a." and a NUL, then bytes it never looks at,
        // in an extension longer than the name needs.
        let mut m = ping(
            vec![],
            vec![PingExt::Other {
                kind: 1,
                data: vec![0; 16],
            }],
        );
        m.header.mflags.insert(MessageFlags::EXT_DATA);
        let mut b = encode(&m).unwrap();
        set16(&mut b, hdr::LEN + ext::TYPE, PingExt::HOSTNAME);
        b[hdr::LEN + ext::DATA..hdr::LEN + ext::DATA + 12]
            .copy_from_slice(b"a.\0\0\x08\xd0test\0\0");
        let back = decode(&b).unwrap();
        assert_eq!(
            back.body.ping().unwrap().extensions,
            vec![PingExt::Hostname(b"a.".to_vec())]
        );
        let again = encode(&back).unwrap();
        assert_eq!(again.len(), b.len() - 8, "the least padding");
        assert_eq!(decode(&again).unwrap(), back);
    }

    #[test]
    fn other_extensions_are_kept() {
        let other = PingExt::Other {
            kind: 3,
            data: vec![7; 40],
        };
        let mut m = ping(vec![], vec![other, PingExt::Hostname(b"h".to_vec())]);
        m.header.mflags.insert(MessageFlags::EXT_DATA);
        let b = encode(&m).unwrap();
        assert_eq!(be32(&b, hdr::LEN), 48);
        assert_eq!(be16(&b, hdr::LEN + ext::TYPE), 3);
        assert_eq!(decode(&b).unwrap(), m);
    }

    #[test]
    fn encoding_refuses_what_would_not_decode_as_itself() {
        let m = ping(vec![], vec![PingExt::Hostname(b"a\0b".to_vec())]);
        assert_eq!(encode(&m), Err(BusError::HostnameNul));
        let m = ping(
            vec![],
            vec![PingExt::Other {
                kind: 1,
                data: vec![0; 7],
            }],
        );
        assert_eq!(encode(&m), Err(BusError::BadExtension { kind: 1, len: 7 }));
        let m = ping(
            vec![],
            vec![PingExt::Other {
                kind: PingExt::HOSTNAME,
                data: vec![0; 8],
            }],
        );
        assert!(matches!(
            encode(&m),
            Err(BusError::BadExtension { kind: 0, .. })
        ));
        let m = ping(vec![Gossip::default(); 65536], vec![]);
        assert_eq!(
            encode(&m),
            Err(BusError::TooLarge {
                what: "gossip count",
                len: 65536
            })
        );
        let mut out = b"kept".to_vec();
        assert!(encode_into(&m, &mut out).is_err());
        assert_eq!(out, b"kept");
    }

    #[test]
    fn ext_data_is_added_when_extensions_are_present() {
        let mut m = ping(vec![], vec![PingExt::Hostname(b"h".to_vec())]);
        m.header.mflags = MessageFlags::NONE;
        let back = decode(&encode(&m).unwrap()).unwrap();
        assert_eq!(back.header.mflags, MessageFlags::EXT_DATA);
        assert_eq!(back.body, m.body);
    }
}
