//! Which node serves a command in cluster mode: Redis' `getNodeByQuery`
//! rules over a snapshot of the slot map ([`RouteView`]), giving either
//! "run it here" or the redirection or error a client gets (`-MOVED`,
//! `-ASK`, `-CROSSSLOT`, `-TRYAGAIN`, `-CLUSTERDOWN`).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use ferrodis_slots::{key_slot, Migration, NodeId, Slot, SlotMap};

/// Where clients reach a node: the endpoint `-MOVED`/`-ASK` and
/// `CLUSTER SLOTS` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// The routing facts of one moment of the cluster state, shared by the
/// workers: rebuilt whenever the state changes, read on every keyed
/// command.
#[derive(Debug, Clone)]
pub(crate) struct RouteView {
    pub(crate) myself: NodeId,
    pub(crate) slots: SlotMap,
    /// Endpoints of the nodes that own slots or are named by migrations.
    pub(crate) endpoints: HashMap<NodeId, Endpoint>,
    /// `cluster_state:ok`.
    pub(crate) ok: bool,
    /// The master of this node, when it is a replica.
    pub(crate) master: Option<NodeId>,
    /// Slots this node imports although `slots` shows them migrating
    /// (both were set, as `redis-cli --cluster fix` does on a former
    /// owner that still holds keys): on a node that no longer owns such a
    /// slot Redis routes it as importing, so MIGRATE still runs there.
    pub(crate) also_importing: BTreeSet<Slot>,
}

impl RouteView {
    /// A view with no slot assigned (a fresh node), the cluster down.
    pub(crate) fn empty(myself: NodeId) -> RouteView {
        RouteView {
            myself,
            slots: SlotMap::new(),
            endpoints: HashMap::new(),
            ok: false,
            master: None,
            also_importing: BTreeSet::new(),
        }
    }
}

/// What a command is, as far as routing goes.
#[derive(Debug, Default)]
pub(crate) struct Query<'k> {
    /// Every key (and sharded channel) of the command, or of every
    /// command of the transaction for EXEC.
    pub(crate) keys: Vec<&'k [u8]>,
    /// The command, or a command of the transaction, writes.
    pub(crate) write: bool,
    /// The client sent ASKING just before (or the command implies it).
    pub(crate) asking: bool,
    /// The client sent READONLY.
    pub(crate) readonly: bool,
    /// SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE.
    pub(crate) pubsub_shard: bool,
    /// MIGRATE, which runs where the slot is open.
    pub(crate) migrate: bool,
    pub(crate) allow_reads_when_down: bool,
    pub(crate) allow_pubsub_shard_when_down: bool,
}

/// Why a command is not run here: Redis' error replies, without the `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Redirect {
    CrossSlot,
    TryAgain,
    Down,
    DownReadOnly,
    Unbound,
    Moved(u16, Endpoint),
    Ask(u16, Endpoint),
}

impl fmt::Display for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Redirect::CrossSlot => {
                f.write_str("CROSSSLOT Keys in request don't hash to the same slot")
            }
            Redirect::TryAgain => {
                f.write_str("TRYAGAIN Multiple keys request during rehashing of slot")
            }
            Redirect::Down => f.write_str("CLUSTERDOWN The cluster is down"),
            Redirect::DownReadOnly => {
                f.write_str("CLUSTERDOWN The cluster is down and only accepts read commands")
            }
            Redirect::Unbound => f.write_str("CLUSTERDOWN Hash slot not served"),
            Redirect::Moved(slot, e) => write!(f, "MOVED {slot} {e}"),
            Redirect::Ask(slot, e) => write!(f, "ASK {slot} {e}"),
        }
    }
}

/// Decides where `q` runs. `has_key` tells whether this node holds a key
/// (asked only for a slot being migrated or imported). `Ok(())`: here.
pub(crate) fn route(
    view: &RouteView,
    q: &Query<'_>,
    has_key: impl Fn(&[u8]) -> bool,
) -> Result<(), Redirect> {
    let Some(first) = q.keys.first() else {
        // No key at all: served here in every case.
        return Ok(());
    };
    let slot = key_slot(first);
    let Some(owner) = view.slots.owner(slot) else {
        return Err(Redirect::Unbound);
    };
    let mine = *owner == view.myself;
    let migration = view.slots.migration(slot);
    let migrating = mine && matches!(migration, Some(Migration::Migrating { .. }));
    let importing = !migrating
        && (matches!(migration, Some(Migration::Importing { .. }))
            || view.also_importing.contains(&slot));
    let mut several = false;
    let (mut missing, mut existing) = (0usize, 0usize);
    for key in &q.keys {
        if key != first {
            if key_slot(key) != slot {
                return Err(Redirect::CrossSlot);
            }
            several = true;
        }
        if (migrating || importing) && !q.pubsub_shard {
            if has_key(key) {
                existing += 1;
            } else {
                missing += 1;
            }
        }
    }
    if !view.ok {
        if q.pubsub_shard {
            if !q.allow_pubsub_shard_when_down {
                return Err(Redirect::Down);
            }
        } else if !q.allow_reads_when_down {
            return Err(Redirect::Down);
        } else if q.write {
            return Err(Redirect::DownReadOnly);
        }
    }
    let n = slot.get();
    if (migrating || importing) && q.migrate {
        return Ok(());
    }
    if migrating && missing > 0 {
        if existing > 0 {
            return Err(Redirect::TryAgain);
        }
        let Some(Migration::Migrating { to }) = migration else {
            return Err(Redirect::TryAgain);
        };
        return Err(Redirect::Ask(n, endpoint(view, to)));
    }
    if importing && q.asking {
        return if several && missing > 0 {
            Err(Redirect::TryAgain)
        } else {
            Ok(())
        };
    }
    if (q.readonly || q.pubsub_shard) && !q.write && view.master.as_ref() == Some(owner) {
        return Ok(());
    }
    if mine {
        Ok(())
    } else {
        Err(Redirect::Moved(n, endpoint(view, owner)))
    }
}

/// A node's endpoint; an unknown one (never in a consistent view) as the
/// empty host with port 0, which clients then fail to reach.
fn endpoint(view: &RouteView, id: &NodeId) -> Endpoint {
    view.endpoints.get(id).cloned().unwrap_or(Endpoint {
        host: String::new(),
        port: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrodis_slots::{Slot, SlotSet};

    fn id(c: char) -> NodeId {
        NodeId::parse(&c.to_string().repeat(40)).expect("id")
    }

    fn ep(port: u16) -> Endpoint {
        Endpoint {
            host: "127.0.0.1".into(),
            port,
        }
    }

    /// Myself (a) owns 0-8191, b owns 8192-16383.
    fn view() -> RouteView {
        let mut v = RouteView::empty(id('a'));
        let lower: SlotSet = "0-8191".parse().expect("range");
        let upper: SlotSet = "8192-16383".parse().expect("range");
        v.slots.assign_all(&lower, id('a'));
        v.slots.assign_all(&upper, id('b'));
        v.endpoints.insert(id('a'), ep(7000));
        v.endpoints.insert(id('b'), ep(7001));
        v.ok = true;
        v
    }

    fn q<'k>(keys: &[&'k str]) -> Query<'k> {
        Query {
            keys: keys.iter().map(|k| k.as_bytes()).collect(),
            ..Query::default()
        }
    }

    fn slot(k: &str) -> u16 {
        key_slot(k.as_bytes()).get()
    }

    #[test]
    fn errors_print_as_redis_prints_them() {
        assert_eq!(
            Redirect::Moved(3999, ep(6381)).to_string(),
            "MOVED 3999 127.0.0.1:6381"
        );
        assert_eq!(Redirect::Ask(1, ep(1)).to_string(), "ASK 1 127.0.0.1:1");
        assert_eq!(
            Redirect::CrossSlot.to_string(),
            "CROSSSLOT Keys in request don't hash to the same slot"
        );
    }

    #[test]
    fn keys_here_run_keys_elsewhere_move() {
        let v = view();
        // "hello" is slot 866 (mine), "foo" 12182 (b's).
        assert_eq!(route(&v, &q(&["hello"]), |_| true), Ok(()));
        assert_eq!(
            route(&v, &q(&["foo"]), |_| true),
            Err(Redirect::Moved(12182, ep(7001)))
        );
        assert_eq!(route(&v, &q(&[]), |_| true), Ok(()));
        assert_eq!(
            route(&v, &q(&["hello", "foo"]), |_| true),
            Err(Redirect::CrossSlot)
        );
        assert_eq!(
            route(&v, &q(&["{foo}a", "{foo}b"]), |_| true),
            Err(Redirect::Moved(12182, ep(7001)))
        );
        assert_eq!(route(&v, &q(&["x{hello}", "hello"]), |_| true), Ok(()));
    }

    #[test]
    fn unassigned_slots_and_a_down_cluster() {
        let mut v = view();
        v.slots.unassign(Slot::new(866).expect("slot"));
        assert_eq!(route(&v, &q(&["hello"]), |_| true), Err(Redirect::Unbound));
        let mut v = view();
        v.ok = false;
        assert_eq!(route(&v, &q(&["hello"]), |_| true), Err(Redirect::Down));
        let read = Query {
            allow_reads_when_down: true,
            ..q(&["hello"])
        };
        assert_eq!(route(&v, &read, |_| true), Ok(()));
        let write = Query {
            write: true,
            allow_reads_when_down: true,
            ..q(&["hello"])
        };
        assert_eq!(route(&v, &write, |_| true), Err(Redirect::DownReadOnly));
    }

    #[test]
    fn migrating_slot_asks_for_missing_keys() {
        let mut v = view();
        let s = Slot::new(slot("hello")).expect("slot");
        v.slots
            .set_migration(s, Migration::Migrating { to: id('b') });
        assert_eq!(route(&v, &q(&["hello"]), |_| true), Ok(()));
        assert_eq!(
            route(&v, &q(&["hello"]), |_| false),
            Err(Redirect::Ask(866, ep(7001)))
        );
        // Some keys here, some gone: try again later.
        assert_eq!(
            route(&v, &q(&["{hello}a", "{hello}b"]), |k| k == b"{hello}a"),
            Err(Redirect::TryAgain)
        );
    }

    #[test]
    fn importing_slot_needs_asking() {
        let mut v = view();
        let s = Slot::new(slot("foo")).expect("slot");
        v.slots
            .set_migration(s, Migration::Importing { from: id('b') });
        assert_eq!(
            route(&v, &q(&["foo"]), |_| false),
            Err(Redirect::Moved(12182, ep(7001)))
        );
        let asking = Query {
            asking: true,
            ..q(&["foo"])
        };
        assert_eq!(route(&v, &asking, |_| false), Ok(()));
        let several = Query {
            asking: true,
            ..q(&["{foo}a", "{foo}b"])
        };
        assert_eq!(route(&v, &several, |_| false), Err(Redirect::TryAgain));
        assert_eq!(route(&v, &several, |_| true), Ok(()));
    }

    #[test]
    fn migrate_runs_on_a_former_owner_both_migrating_and_importing() {
        // As `redis-cli --cluster fix` leaves a former owner with keys:
        // migrating to b (shown), importing from b, slot now b's.
        let mut v = view();
        let s = Slot::new(slot("foo")).expect("slot");
        v.slots
            .set_migration(s, Migration::Migrating { to: id('b') });
        let migrate = Query {
            migrate: true,
            ..q(&["foo"])
        };
        assert_eq!(
            route(&v, &migrate, |_| true),
            Err(Redirect::Moved(12182, ep(7001)))
        );
        v.also_importing.insert(s);
        assert_eq!(route(&v, &migrate, |_| true), Ok(()));
        let asking = Query {
            asking: true,
            ..q(&["foo"])
        };
        assert_eq!(route(&v, &asking, |_| true), Ok(()));
    }

    #[test]
    fn readonly_replicas_serve_their_masters_reads() {
        let mut v = view();
        v.myself = id('c');
        v.master = Some(id('b'));
        let read = Query {
            readonly: true,
            ..q(&["foo"])
        };
        assert_eq!(route(&v, &read, |_| true), Ok(()));
        let write = Query {
            readonly: true,
            write: true,
            ..q(&["foo"])
        };
        assert_eq!(
            route(&v, &write, |_| true),
            Err(Redirect::Moved(12182, ep(7001)))
        );
        assert_eq!(
            route(&v, &q(&["foo"]), |_| true),
            Err(Redirect::Moved(12182, ep(7001)))
        );
    }
}
