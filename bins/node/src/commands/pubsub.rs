//! Pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE,
//! SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrodis_resp::{reply, Request};

use super::flags::*;
use super::{arg, spec, Ctx, Spec};
use crate::client::Client;
use crate::pubsub::{Kind, Subscriber};

pub(super) fn specs() -> Vec<Spec> {
    let sub = PUBSUB | NOSCRIPT | LOADING | STALE;
    vec![
        spec("subscribe", -2, sub, (0, 0, 0), subscribe),
        spec("unsubscribe", -1, sub, (0, 0, 0), unsubscribe),
        spec("psubscribe", -2, sub, (0, 0, 0), psubscribe),
        spec("punsubscribe", -1, sub, (0, 0, 0), punsubscribe),
        spec("ssubscribe", -2, sub, (1, -1, 1), ssubscribe),
        spec("sunsubscribe", -1, sub, (1, -1, 1), sunsubscribe),
        spec(
            "publish",
            3,
            PUBSUB | LOADING | STALE | FAST,
            (0, 0, 0),
            publish,
        ),
        spec(
            "spublish",
            3,
            PUBSUB | LOADING | STALE | FAST,
            (1, 1, 1),
            spublish,
        ),
        spec("pubsub", -2, PUBSUB | LOADING | STALE, (0, 0, 0), pubsub),
    ]
}

/// The reply names of each kind: (subscribe, unsubscribe, message).
fn names(kind: Kind) -> (&'static [u8], &'static [u8], &'static [u8]) {
    match kind {
        Kind::Channel => (b"subscribe", b"unsubscribe", b"message"),
        Kind::Pattern => (b"psubscribe", b"punsubscribe", b"pmessage"),
        Kind::Shard => (b"ssubscribe", b"sunsubscribe", b"smessage"),
    }
}

fn set_of(client: &mut Client, kind: Kind) -> &mut std::collections::BTreeSet<Bytes> {
    match kind {
        Kind::Channel => &mut client.channels,
        Kind::Pattern => &mut client.patterns,
        Kind::Shard => &mut client.shard_channels,
    }
}

/// Writes `[kind-name, channel, count]` as a push (RESP3) or array (RESP2).
fn confirmation(ctx: &mut Ctx<'_>, name: &[u8], channel: Option<&[u8]>, count: usize) {
    let proto = ctx.proto();
    reply::push_len(ctx.out(), 3, proto);
    ctx.bulk(name);
    match channel {
        Some(c) => ctx.bulk(c),
        None => ctx.null(),
    }
    ctx.uint(count);
}

fn update_meta(ctx: &mut Ctx<'_>) {
    let c = &ctx.client;
    c.meta
        .subscriptions
        .store(c.channels.len() + c.shard_channels.len(), Ordering::Relaxed);
    c.meta
        .psubscriptions
        .store(c.patterns.len(), Ordering::Relaxed);
}

fn do_subscribe(ctx: &mut Ctx<'_>, req: &Request, kind: Kind) {
    if ctx.client.multi.is_some() {
        ctx.error("ERR Command not allowed inside a transaction");
        return;
    }
    let who = Subscriber {
        client: ctx.client.id(),
        worker: ctx.client.meta.worker,
    };
    for name in req.args().skip(1) {
        let name = Bytes::copy_from_slice(name);
        if set_of(ctx.client, kind).insert(name.clone()) {
            ctx.shared.pubsub.subscribe(kind, &name, who);
        }
        let count = if kind == Kind::Shard {
            ctx.client.shard_channels.len()
        } else {
            ctx.client.channels.len() + ctx.client.patterns.len()
        };
        confirmation(ctx, names(kind).0, Some(&name), count);
    }
    update_meta(ctx);
}

fn do_unsubscribe(ctx: &mut Ctx<'_>, req: &Request, kind: Kind) {
    let targets: Vec<Bytes> = if req.len() > 1 {
        req.args().skip(1).map(Bytes::copy_from_slice).collect()
    } else {
        set_of(ctx.client, kind).iter().cloned().collect()
    };
    if targets.is_empty() {
        let count = if kind == Kind::Shard {
            ctx.client.shard_channels.len()
        } else {
            ctx.client.channels.len() + ctx.client.patterns.len()
        };
        confirmation(ctx, names(kind).1, None, count);
    }
    for name in targets {
        if set_of(ctx.client, kind).remove(&name) {
            ctx.shared.pubsub.unsubscribe(kind, &name, ctx.client.id());
        }
        let count = if kind == Kind::Shard {
            ctx.client.shard_channels.len()
        } else {
            ctx.client.channels.len() + ctx.client.patterns.len()
        };
        confirmation(ctx, names(kind).1, Some(&name), count);
    }
    update_meta(ctx);
}

fn subscribe(ctx: &mut Ctx<'_>, req: &Request) {
    do_subscribe(ctx, req, Kind::Channel);
}

fn unsubscribe(ctx: &mut Ctx<'_>, req: &Request) {
    do_unsubscribe(ctx, req, Kind::Channel);
}

fn psubscribe(ctx: &mut Ctx<'_>, req: &Request) {
    do_subscribe(ctx, req, Kind::Pattern);
}

fn punsubscribe(ctx: &mut Ctx<'_>, req: &Request) {
    do_unsubscribe(ctx, req, Kind::Pattern);
}

fn ssubscribe(ctx: &mut Ctx<'_>, req: &Request) {
    do_subscribe(ctx, req, Kind::Shard);
}

fn sunsubscribe(ctx: &mut Ctx<'_>, req: &Request) {
    do_unsubscribe(ctx, req, Kind::Shard);
}

fn publish(ctx: &mut Ctx<'_>, req: &Request) {
    let n = ctx
        .shared
        .pubsub
        .publish(ctx.shared, Kind::Channel, arg(req, 1), arg(req, 2));
    // In a cluster, every node delivers it to its own subscribers.
    if let Some(cluster) = &ctx.shared.cluster {
        let actions = cluster.node().publish(arg(req, 1), arg(req, 2));
        cluster.run(actions);
    }
    ctx.uint(n);
}

fn spublish(ctx: &mut Ctx<'_>, req: &Request) {
    let n = ctx
        .shared
        .pubsub
        .publish(ctx.shared, Kind::Shard, arg(req, 1), arg(req, 2));
    // In a cluster, the other nodes of the shard deliver it too.
    if let Some(cluster) = &ctx.shared.cluster {
        let actions = cluster.node().publish_shard(arg(req, 1), arg(req, 2));
        cluster.run(actions);
    }
    ctx.uint(n);
}

fn pubsub(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1).to_ascii_lowercase();
    let registry = &ctx.shared.pubsub;
    match (&sub[..], req.len()) {
        (b"channels" | b"shardchannels", 2 | 3) => {
            let kind = if sub == b"channels" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            let list = registry.channels(kind, req.arg(2));
            ctx.bulks(list.iter().map(|b| &b[..]));
        }
        (b"numsub" | b"shardnumsub", _) => {
            let kind = if sub == b"numsub" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            let channels: Vec<&[u8]> = req.args().skip(2).collect();
            ctx.array(channels.len() * 2);
            for c in channels {
                let n = ctx.shared.pubsub.numsub(kind, c);
                ctx.bulk(c);
                ctx.uint(n);
            }
        }
        (b"numpat", 2) => {
            let n = registry.numpat();
            ctx.uint(n);
        }
        (b"channels" | b"shardchannels" | b"numpat", _) => ctx.error(&format!(
            "ERR wrong number of arguments for 'pubsub|{}' command",
            String::from_utf8_lossy(&sub)
        )),
        _ => ctx.error(&format!(
            "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
            String::from_utf8_lossy(arg(req, 1))
        )),
    }
}

/// Frames a published message for `client` in its protocol.
pub(crate) fn deliver(
    client: &mut Client,
    kind: Kind,
    pattern: Option<&[u8]>,
    channel: &[u8],
    message: &[u8],
) {
    // The subscription may have ended while the message travelled.
    let subscribed = match kind {
        Kind::Channel => client.channels.contains(channel),
        Kind::Shard => client.shard_channels.contains(channel),
        Kind::Pattern => pattern.is_some_and(|p| client.patterns.contains(p)),
    };
    if !subscribed {
        return;
    }
    let out = &mut client.wbuf;
    let proto = client.proto;
    match pattern {
        Some(p) => {
            reply::push_len(out, 4, proto);
            reply::bulk(out, names(kind).2);
            reply::bulk(out, p);
        }
        None => {
            reply::push_len(out, 3, proto);
            reply::bulk(out, names(kind).2);
        }
    }
    reply::bulk(out, channel);
    reply::bulk(out, message);
}

/// Drops every subscription of a client (disconnect, RESET).
pub(crate) fn unsubscribe_all(ctx: &mut Ctx<'_>) {
    let id = ctx.client.id();
    for (kind, set) in [
        (Kind::Channel, std::mem::take(&mut ctx.client.channels)),
        (Kind::Pattern, std::mem::take(&mut ctx.client.patterns)),
        (Kind::Shard, std::mem::take(&mut ctx.client.shard_channels)),
    ] {
        for name in set {
            ctx.shared.pubsub.unsubscribe(kind, &name, id);
        }
    }
    update_meta(ctx);
}
