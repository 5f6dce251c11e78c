//! The pub/sub registry shared by all workers: who listens to which channel
//! or pattern. Messages travel to each subscriber's worker, which frames
//! them in the subscriber's protocol (RESP2 array or RESP3 push).

use std::collections::HashMap;

use bytes::Bytes;
use parking_lot::RwLock;

use crate::shared::{Shared, WorkerMsg};

/// A subscribed client: its id and the worker that owns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Subscriber {
    pub(crate) client: u64,
    pub(crate) worker: usize,
}

/// Which kind of subscription a message answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE.
    Pattern,
    /// SSUBSCRIBE / SPUBLISH (sharded channels).
    Shard,
}

#[derive(Debug, Default)]
pub(crate) struct Registry {
    channels: RwLock<HashMap<Bytes, Vec<Subscriber>>>,
    shard_channels: RwLock<HashMap<Bytes, Vec<Subscriber>>>,
    patterns: RwLock<HashMap<Bytes, Vec<Subscriber>>>,
}

impl Registry {
    fn map(&self, kind: Kind) -> &RwLock<HashMap<Bytes, Vec<Subscriber>>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Shard => &self.shard_channels,
            Kind::Pattern => &self.patterns,
        }
    }

    pub(crate) fn subscribe(&self, kind: Kind, name: &Bytes, who: Subscriber) {
        let mut map = self.map(kind).write();
        let subs = map.entry(name.clone()).or_default();
        if !subs.contains(&who) {
            subs.push(who);
        }
    }

    pub(crate) fn unsubscribe(&self, kind: Kind, name: &[u8], client: u64) {
        let mut map = self.map(kind).write();
        if let Some(subs) = map.get_mut(name) {
            subs.retain(|s| s.client != client);
            if subs.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Sends `message` on `channel` to every subscriber; returns how many
    /// received it.
    pub(crate) fn publish(
        &self,
        shared: &Shared,
        kind: Kind,
        channel: &[u8],
        message: &[u8],
    ) -> usize {
        let channel = Bytes::copy_from_slice(channel);
        let message = Bytes::copy_from_slice(message);
        let workers = shared.workers.read();
        let mut count = 0;
        let direct = if kind == Kind::Shard {
            Kind::Shard
        } else {
            Kind::Channel
        };
        if let Some(subs) = self.map(direct).read().get(&channel[..]) {
            for s in subs {
                if let Some(w) = workers.get(s.worker) {
                    w.send(WorkerMsg::Publish {
                        client: s.client,
                        kind: direct,
                        pattern: None,
                        channel: channel.clone(),
                        message: message.clone(),
                    });
                    count += 1;
                }
            }
        }
        if kind == Kind::Channel {
            for (pattern, subs) in self.patterns.read().iter() {
                if !ferrodis_store::glob::glob_match(pattern, &channel, false) {
                    continue;
                }
                for s in subs {
                    if let Some(w) = workers.get(s.worker) {
                        w.send(WorkerMsg::Publish {
                            client: s.client,
                            kind: Kind::Pattern,
                            pattern: Some(pattern.clone()),
                            channel: channel.clone(),
                            message: message.clone(),
                        });
                        count += 1;
                    }
                }
            }
        }
        count
    }

    /// Active channels (with at least one subscriber) matching `pattern`.
    pub(crate) fn channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.map(kind)
            .read()
            .keys()
            .filter(|c| pattern.map_or(true, |p| ferrodis_store::glob::glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    /// Subscriber count of a channel.
    pub(crate) fn numsub(&self, kind: Kind, channel: &[u8]) -> usize {
        self.map(kind).read().get(channel).map_or(0, Vec::len)
    }

    /// Number of distinct patterns subscribed to.
    pub(crate) fn numpat(&self) -> usize {
        self.patterns.read().len()
    }
}

/// Publishes the store's keyspace events on Redis' channels:
/// `__keyspace@<db>__:<key>` (message: the event) when `K` is enabled and
/// `__keyevent@<db>__:<event>` (message: the key) when `E` is.
#[derive(Debug)]
pub(crate) struct KeyspacePublisher {
    pub(crate) shared: std::sync::Weak<Shared>,
}

impl ferrodis_store::notify::Notify for KeyspacePublisher {
    fn notify(&self, db: usize, class_of: u32, event: &str, key: &[u8]) {
        use ferrodis_store::notify::class;
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        if class_of & (class::EXPIRED | class::EVICTED) != 0 {
            crate::persist::propagate::deleted(&shared, db, key);
        }
        let mask = shared
            .store
            .settings()
            .notify_mask
            .load(std::sync::atomic::Ordering::Relaxed);
        if mask & class_of == 0 {
            return;
        }
        if mask & class::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{db}__:").into_bytes();
            channel.extend_from_slice(key);
            shared
                .pubsub
                .publish(&shared, Kind::Channel, &channel, event.as_bytes());
        }
        if mask & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{db}__:{event}");
            shared
                .pubsub
                .publish(&shared, Kind::Channel, channel.as_bytes(), key);
        }
    }
}

/// Applies `notify-keyspace-events` to the store.
pub(crate) fn apply_notify_flags(shared: &Shared) {
    let flags = shared
        .config
        .read()
        .get_str("notify-keyspace-events")
        .unwrap_or_default()
        .to_owned();
    let mask = ferrodis_store::notify::parse_flags(&flags).unwrap_or(0);
    shared
        .store
        .settings()
        .notify_mask
        .store(mask, std::sync::atomic::Ordering::Relaxed);
}
