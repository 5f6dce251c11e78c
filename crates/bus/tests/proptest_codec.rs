//! Properties of the codec over arbitrary messages and arbitrary bytes:
//! messages survive a round trip, no input makes the decoder panic, whatever
//! it accepts it can encode again, and a cut message is never taken for a
//! whole one.

use ferrodis_bus::{
    decode, encode, encoded_len, frame_len, next_frame, Body, ClusterState, Epoch, Gossip, Header,
    Message, MessageFlags, ModuleId, NodeFlags, NodeId, NodeIp, PingBody, PingExt, ReplOffset,
    SlotBitmap,
};
use proptest::collection::vec;
use proptest::prelude::*;

fn node_id() -> impl Strategy<Value = NodeId> {
    prop_oneof![
        Just(NodeId::NULL),
        "[0-9a-f]{40}".prop_map(|s| s.parse().unwrap()),
        vec(any::<u8>(), 40).prop_map(|v| NodeId(v.try_into().unwrap())),
    ]
}

fn node_ip() -> impl Strategy<Value = NodeIp> {
    prop_oneof![
        Just(NodeIp::EMPTY),
        "[0-9.]{7,15}|[0-9a-f:]{2,45}".prop_map(|s| NodeIp::new(s.as_bytes()).unwrap()),
        vec(any::<u8>(), 46).prop_map(|v| NodeIp(v.try_into().unwrap())),
    ]
}

fn slots() -> impl Strategy<Value = SlotBitmap> {
    prop_oneof![
        Just(SlotBitmap::new()),
        vec(0..16384u16, 0..20).prop_map(|s| s.into_iter().collect()),
        vec(any::<u8>(), 2048).prop_map(|v| SlotBitmap::from_bytes(v.try_into().unwrap())),
    ]
}

fn header() -> impl Strategy<Value = Header> {
    (
        (any::<u16>(), any::<u64>(), any::<u64>(), any::<u64>()),
        (node_id(), slots(), node_id(), node_ip()),
        (
            any::<u16>(),
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<[u8; 3]>(),
        ),
    )
        .prop_map(
            |(
                (port, current, config, offset),
                (sender, slots, replicaof, ip),
                (pport, cport, flags, state, mflags),
            )| Header {
                port,
                current_epoch: Epoch(current),
                config_epoch: Epoch(config),
                offset: ReplOffset(offset),
                sender,
                slots,
                replicaof,
                ip,
                pport,
                cport,
                flags: NodeFlags(flags),
                state: ClusterState(state),
                mflags: MessageFlags(mflags),
            },
        )
}

fn gossip() -> impl Strategy<Value = Gossip> {
    (
        node_id(),
        any::<u32>(),
        any::<u32>(),
        node_ip(),
        (any::<u16>(), any::<u16>(), any::<u16>(), any::<u16>()),
    )
        .prop_map(
            |(node, ping_sent, pong_received, ip, (port, cport, flags, pport))| Gossip {
                node,
                ping_sent,
                pong_received,
                ip,
                port,
                cport,
                flags: NodeFlags(flags),
                pport,
            },
        )
}

fn ping_ext() -> impl Strategy<Value = PingExt> {
    prop_oneof![
        vec(1..=255u8, 0..40).prop_map(PingExt::Hostname),
        (1..=u16::MAX, vec(any::<[u8; 8]>(), 0..4)).prop_map(|(kind, words)| PingExt::Other {
            kind,
            data: words.concat(),
        }),
    ]
}

fn ping_body() -> impl Strategy<Value = PingBody> {
    (vec(gossip(), 0..5), vec(ping_ext(), 0..4))
        .prop_map(|(gossip, extensions)| PingBody { gossip, extensions })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..64)
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        ping_body().prop_map(Body::Ping),
        ping_body().prop_map(Body::Pong),
        ping_body().prop_map(Body::Meet),
        node_id().prop_map(|node| Body::Fail { node }),
        (bytes(), bytes()).prop_map(|(channel, message)| Body::Publish { channel, message }),
        (bytes(), bytes()).prop_map(|(channel, message)| Body::PublishShard { channel, message }),
        Just(Body::FailoverAuthRequest),
        Just(Body::FailoverAuthAck),
        (any::<u64>(), node_id(), slots()).prop_map(|(epoch, node, slots)| Body::Update {
            config_epoch: Epoch(epoch),
            node,
            slots
        }),
        Just(Body::MfStart),
        (any::<[u8; 8]>(), any::<u8>(), bytes()).prop_map(|(id, kind, payload)| {
            Body::Module {
                module_id: ModuleId(id),
                kind,
                payload,
            }
        }),
    ]
}

/// Messages as they are on the wire: a PING, PONG or MEET with extensions
/// has the EXT_DATA flag (the encoder adds it).
fn message() -> impl Strategy<Value = Message> {
    (header(), body()).prop_map(|(mut header, body)| {
        if body.ping().is_some_and(|p| !p.extensions.is_empty()) {
            header.mflags.insert(MessageFlags::EXT_DATA);
        }
        Message { header, body }
    })
}

/// Whatever decodes encodes again, and that encoding decodes to the same
/// message.
fn check_accepted(input: &[u8]) -> Result<(), TestCaseError> {
    let frame = frame_len(input);
    match decode(input) {
        Ok(message) => {
            prop_assert_eq!(frame, Ok(Some(input.len())));
            let again = encode(&message).expect("a decoded message encodes");
            // Only a hostname padded beyond what it needs encodes shorter.
            prop_assert!(again.len() <= input.len());
            prop_assert_eq!(decode(&again).expect("its encoding decodes"), message);
        }
        Err(_) => {
            let _ = next_frame(input);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn messages_round_trip(m in message()) {
        let bytes = encode(&m).unwrap();
        prop_assert_eq!(encoded_len(&m).unwrap() as usize, bytes.len());
        prop_assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
        prop_assert_eq!(decode(&bytes).unwrap(), m.clone());
        // Encoding is a function of the message.
        let mut appended = b"prefix".to_vec();
        ferrodis_bus::encode_into(&m, &mut appended).unwrap();
        prop_assert_eq!(&appended[6..], &bytes[..]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..3000)) {
        check_accepted(&input)?;
    }

    #[test]
    fn arbitrary_bytes_behind_a_plausible_prefix_never_panic(
        kind in 0..12u16,
        count in 0..3u16,
        extensions in 0..3u16,
        mflags in any::<u8>(),
        tail in vec(any::<u8>(), 0..600),
    ) {
        // A header that passes the first checks, so the body parsers run.
        let mut input = encode(&Message {
            header: Header::default(),
            body: Body::MfStart,
        })
        .unwrap();
        input.extend_from_slice(&tail);
        let len = input.len() as u32;
        input[4..8].copy_from_slice(&len.to_be_bytes());
        input[12..14].copy_from_slice(&kind.to_be_bytes());
        input[14..16].copy_from_slice(&count.to_be_bytes());
        input[2214..2216].copy_from_slice(&extensions.to_be_bytes());
        input[2253] = mflags;
        check_accepted(&input)?;
    }

    #[test]
    fn mutated_messages_never_panic(
        m in message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        fix_length in any::<bool>(),
    ) {
        let mut input = encode(&m).unwrap();
        for (at, byte) in edits {
            let i = at.index(input.len());
            input[i] = byte;
        }
        if fix_length {
            let len = input.len() as u32;
            input[4..8].copy_from_slice(&len.to_be_bytes());
        }
        check_accepted(&input)?;
    }

    #[test]
    fn cut_messages_are_incomplete_not_whole(m in message(), cut in any::<prop::sample::Index>()) {
        let bytes = encode(&m).unwrap();
        let cut = cut.index(bytes.len());
        let prefix = &bytes[..cut];
        prop_assert_eq!(next_frame(prefix), Ok(None));
        prop_assert_eq!(frame_len(prefix), Ok((cut >= 8).then_some(bytes.len())));
        prop_assert!(decode(prefix).is_err());
    }

    #[test]
    fn a_stream_frames_in_any_chunks(
        messages in vec(message(), 1..4),
        chunk in 1..3000usize,
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(|m| encode(m).unwrap()).collect();
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(frame) = next_frame(&buf).unwrap() {
                let len = frame.len();
                got.push(decode(frame).unwrap());
                buf.drain(..len);
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(got, messages);
    }
}
