//! `resp/`: decoding a pipelined stream of `SET key:<n> <16-byte value>`
//! requests and encoding the replies, with Ferrodis and with the
//! `redis-protocol` crate on the same bytes.

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput};
use ferrodis_resp::{reply, Frame, FrameDecoder, Request, RequestDecoder};
use redis_protocol::resp2::decode::decode_bytes_mut;
use redis_protocol::resp2::encode::extend_encode;
use redis_protocol::resp2::types::BytesFrame;
use std::hint::black_box;

/// Commands in the pipelined stream.
const PIPELINE: usize = 1000;

/// `PIPELINE` requests as a client library sends them.
fn set_stream() -> Vec<u8> {
    let mut out = Vec::new();
    for n in 0..PIPELINE {
        let key = format!("key:{n}");
        let value = format!("{:016}", n * 7919);
        out.extend(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n$16\r\n{value}\r\n",
                key.len()
            )
            .bytes(),
        );
    }
    out
}

/// The replies a server sends for a mixed pipeline: `+OK`, integers, bulks.
enum Reply {
    Ok,
    Int(i64),
    Bulk(Bytes),
}

fn replies() -> Vec<Reply> {
    (0..PIPELINE)
        .map(|n| match n % 3 {
            0 => Reply::Ok,
            1 => Reply::Int(n as i64 * 31),
            _ => Reply::Bulk(Bytes::from(format!("{:016}", n))),
        })
        .collect()
}

pub(crate) fn benches(c: &mut Criterion) {
    let stream = set_stream();
    let mut group = c.benchmark_group("resp/decode_set_pipeline");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    // What the node does: one reused `Request` per connection.
    group.bench_function("ferrodis", |b| {
        let mut decoder = RequestDecoder::default();
        let mut request = Request::default();
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                while decoder.decode_into(buf, &mut request).expect("valid") {
                    black_box(&request);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("ferrodis-vec", |b| {
        let mut decoder = RequestDecoder::default();
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                while let Some(args) = decoder.decode(buf).expect("valid") {
                    black_box(args);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("ferrodis-frames", |b| {
        let mut decoder = FrameDecoder::default();
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                while let Some(frame) = decoder.decode(buf).expect("valid") {
                    black_box(frame);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.bench_function("redis-protocol", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&stream[..]),
            |buf| {
                while let Some((frame, _, _)) = decode_bytes_mut(buf).expect("valid") {
                    black_box(frame);
                }
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let replies = replies();
    let mut group = c.benchmark_group("resp/encode_replies");
    group.throughput(Throughput::Elements(PIPELINE as u64));
    let mut out = BytesMut::with_capacity(64 * 1024);
    group.bench_function("ferrodis", |b| {
        b.iter(|| {
            out.clear();
            for r in &replies {
                match r {
                    Reply::Ok => reply::ok(&mut out),
                    Reply::Int(n) => reply::integer(&mut out, *n),
                    Reply::Bulk(v) => reply::bulk(&mut out, v),
                }
            }
            black_box(&out);
        })
    });
    group.bench_function("ferrodis-frames", |b| {
        b.iter(|| {
            out.clear();
            for r in &replies {
                let frame = match r {
                    Reply::Ok => Frame::Simple(Bytes::from_static(b"OK")),
                    Reply::Int(n) => Frame::Integer(*n),
                    Reply::Bulk(v) => Frame::Bulk(v.clone()),
                };
                frame.encode(&mut out);
            }
            black_box(&out);
        })
    });
    group.bench_function("redis-protocol", |b| {
        b.iter(|| {
            out.clear();
            for r in &replies {
                let frame = match r {
                    Reply::Ok => BytesFrame::SimpleString(Bytes::from_static(b"OK")),
                    Reply::Int(n) => BytesFrame::Integer(*n),
                    Reply::Bulk(v) => BytesFrame::BulkString(v.clone()),
                };
                extend_encode(&mut out, &frame, false).expect("encodable");
            }
            black_box(&out);
        })
    });
    group.finish();
}

pub(crate) fn print_ratios() {
    crate::print_ratio(
        "resp/decode_set_pipeline",
        "ferrodis",
        "redis-protocol",
        "Ferrodis decodes faster by",
    );
    crate::print_ratio(
        "resp/decode_set_pipeline",
        "ferrodis-vec",
        "redis-protocol",
        "Ferrodis decoding into a new Vec per request is faster by",
    );
    crate::print_ratio(
        "resp/decode_set_pipeline",
        "ferrodis-frames",
        "redis-protocol",
        "Ferrodis' frame decoder is faster by",
    );
    crate::print_ratio(
        "resp/encode_replies",
        "ferrodis",
        "redis-protocol",
        "Ferrodis encodes faster by",
    );
    crate::print_ratio(
        "resp/encode_replies",
        "ferrodis-frames",
        "redis-protocol",
        "Ferrodis' frame encoder is faster by",
    );
}
