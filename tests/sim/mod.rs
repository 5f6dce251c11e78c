//! A deterministic simulation of a whole Redis Cluster bus, in the manner
//! of FoundationDB's simulator and TigerBeetle's VOPR: 3 to 12
//! [`ferrodis_bus::cluster::ClusterNode`]s on one simulated clock and one
//! simulated network, with faults chosen by a seed. Every random choice
//! comes from one splitmix64 generator seeded by the run's seed (`rng`), and
//! events run in (time, sequence number) order from one queue, so a seed
//! replays exactly, event for event.
//!
//! # What is modelled
//!
//! - **Nodes** (`node`): each has an id, 127.0.0.1, client port 7000 + i
//!   and bus port 17000 + i, and a cluster cron tick every 100 ms (plus up
//!   to `tick_jitter` ms late). The world calls the node's `on_*` entry
//!   points and carries out the `Action`s it returns.
//! - **Connections** (`world`): `Connect` is a TCP connect with a SYN and a
//!   SYN-ACK, each taking the link's latency; the acceptor's `on_accept`
//!   when the SYN is answered, the connector's `on_connected` when the
//!   SYN-ACK arrives. A refused connect (dead process, rejecting partition)
//!   comes back as `on_closed`; an unanswered one (dead machine, dropping
//!   partition) retries its SYN at Linux's times and gives up at 127 s.
//!   `Send` puts the bytes on the connection, `Close` a FIN behind them.
//!   The receiver reassembles the byte stream and frames it with
//!   `next_frame`; with segmenting on, a message may arrive in two pieces.
//! - **Latency and reordering**: each pair of nodes has a latency, and each
//!   message adds jitter, so messages on different connections arrive in
//!   any order. Within one connection, bytes arrive in the order sent, as
//!   TCP guarantees: there is no reordering inside a stream.
//! - **Loss**: the bus runs over TCP, which does not lose bytes inside a
//!   stream; what fails is the connection. A lost message therefore resets
//!   its connection (both ends see it close; what was in flight is gone),
//!   and a reset fault does the same to a random open connection.
//! - **Partitions**: the nodes split into two sides: random sides, or a
//!   few nodes cut off from the rest, sometimes once the cluster has formed
//!   and for long enough that both sides must notice. A dropping partition
//!   holds bytes across it until it heals (TCP retransmits) and loses SYNs;
//!   a rejecting one resets the connections across it and refuses
//!   connects.
//! - **Crashes**: a process crash closes the node's connections (its peers
//!   see a FIN); a machine crash leaves them hanging. A crashed node either
//!   restarts, with the same address, from the `nodes.conf` it last asked
//!   to write (`take_save_request`, `to_nodes_conf`, printed and parsed
//!   again, `from_nodes_conf`), or stays dead; those that stay dead are at
//!   most a minority and never disconnect the operator's MEETs among the
//!   rest. A machine crash loses what was written without fsync (the node
//!   asks for fsync only where Redis does: epochs and slot owners, not
//!   ADDSLOTS or new nodes), so a node may come back with an older file.
//!   After a restart the operator checks the node as `redis-cli --cluster
//!   fix` would: it meets its peers again if it forgot them, and gives it
//!   back the slots it lost.
//! - **Pauses**: a stopped process (SIGSTOP, a long pause): its kernel
//!   still accepts connections and buffers bytes; it processes nothing and
//!   misses its ticks until it resumes.
//! - **Clock skew**: each node's clock is the simulated clock plus a fixed
//!   offset of up to ±500 ms, the skew Redis itself tolerates when it
//!   takes pong times from gossip.
//! - **The operator** (`plan`): MEETs in a star, a chain or a random tree,
//!   checked and repeated until both nodes know each other (a MEET lost to
//!   a fault is not retried by the cluster, and Redis 7.0 does not recover
//!   when only the receiving side times the handshake out); ADDSLOTS of
//!   contiguous ranges to a random subset of the nodes, sometimes leaving a
//!   range unassigned; REPLICATE for some of the nodes without slots; a
//!   resharding of up to 5 slots between two masters (SETSLOT IMPORTING,
//!   MIGRATING, NODE), which bumps the taker's epoch without agreement,
//!   once every node agrees on the slots and the epochs; after the faults,
//!   FORGET of some dead nodes without slots on every live node; sometimes
//!   `CLUSTER FAILOVER` on a replica. A REPLICATE whose master failed over
//!   meanwhile follows the shard to its new master, and a restarted node is
//!   given back only the slots the operator's record says it still serves.
//! - **Replication and failover**: each node has a replication offset
//!   (`set_repl_offset` before each tick). A master serving slots with
//!   `cluster_state:ok` accepts a write per tick (its offset grows) unless
//!   `PauseWrites` holds it; a replica takes its master's offset of the
//!   master's previous tick while the two can talk. Some seeds kill a master
//!   with replicas long enough for a replica to be elected, and restart it.
//!   The world follows the node's actions: `BecomeMaster` moves the slots
//!   the new master claims to it in the operator's record, `ReplicateFrom`
//!   changes who replicates whom; the liveness checks compare with that.
//!
//! A run has two phases: faults until the plan's calm, then a quiet network
//! on which the cluster must converge within the settle limit (ten node
//! timeouts plus 5 s of simulated time) and stay converged for two node
//! timeouts.
//!
//! # What is checked
//!
//! `check` lists the properties, each of which can fail (`tests` shows it
//! with nodes built to break them):
//!
//! - failover, as it happens: no two masters accept writes for a slot
//!   with one config epoch; a master on a side without a majority of the
//!   masters serving slots accepts no write once the partition has lasted
//!   `probe_delay`; an elected replica had the greatest offset among the
//!   replicas of its master that could hear it (checked on seeds without
//!   lost messages, link resets or pauses, where ranks are what the
//!   offsets say); a manual failover loses no write;
//! - invariants, after every event, on each node whose view changed: no
//!   two nodes ever claim a slot with one config epoch (but for an epoch
//!   taken without agreement, which the collision rule must then separate);
//!   epochs never go back; the current epoch is the greatest known; known
//!   nodes are real and at their addresses; flags make sense; replicas
//!   serve no slots;
//! - the node's contract with its caller: it sends only on connections it
//!   was told are up, closes only connections it holds, sends one whole
//!   message per `Send`, restarts from the `nodes.conf` it wrote, and the
//!   operator's commands succeed;
//! - timed properties, once a partition has lasted two node timeouts and a
//!   second: the nodes of a side without a majority of the masters serving
//!   slots report `cluster_state:fail`; and if the cluster was healthy when
//!   it began, every node suspects the nodes across and none on its side,
//!   and the side with every master serving slots still reports `ok`; two
//!   node timeouts later, a side whose masters can agree flags the nodes
//!   across FAIL;
//! - liveness, from the calm on, within the settle limit and then for two
//!   node timeouts: every live node knows every other, none suspected, no
//!   handshake is left, and no forgotten node came back through gossip; a
//!   dead node is FAIL wherever known when the masters left make a
//!   majority (PFAIL otherwise); every slot routes to its owner (one
//!   master per slot range, failovers included); one current epoch;
//!   distinct config epochs for the live masters, as everyone sees them;
//!   every node in its role (master, or replica of its master, as planned
//!   and as failovers changed it); `cluster_state:ok` exactly when every slot is
//!   assigned and no master with slots stays dead.
//!
//! # What is not modelled
//!
//! Clock drift (skew is a fixed offset) and clocks going backwards;
//! asymmetric partitions (A hears B, B does not hear A); more than two sides;
//! bytes corrupted in flight (TCP's checksum makes that rare; the codec's
//! own fuzz targets cover malformed input); the kernel writing back a
//! nodes.conf that was not fsynced (a machine crash loses it however old
//! it is); a node coming back under a new id or address; keys (a
//! resharding moves empty slots, all its commands at one instant); RESET
//! and BUMPEPOCH; FORCE and TAKEOVER failovers; the data itself (an offset
//! stands for it); Pub/Sub and module messages.
//!
//! # Growing it
//!
//! `node` is the only file that knows the state machine's API: a new
//! query becomes a field of `View` (an `Option` while some node cannot
//! report it), a new operator command a method of `SimNode` and a step of
//! `plan::Op`. Invariants and liveness properties are listed in `check`.
//!
//! # Layout
//!
//! `rng` (splitmix64), `plan` (what a seed does), `world` (clock, event
//! queue, network, hosts, the operator), `node` (the node under test and
//! its view), `check` (the properties), `trace` (the event notes), `tests`
//! (the harness' own tests).
//!
//! # Replaying a seed
//!
//! A failing seed prints its plan, the nodes' views and the last events.
//! `FERRODIS_SIM_SEED=<n> cargo test --test cluster_sim` runs that seed
//! alone and prints every event, ticks included; `FERRODIS_SIM_SEEDS=<count>`
//! runs more seeds than the default, and `FERRODIS_SIM_FIRST_SEED=<n>`
//! starts the range elsewhere. With `-- --nocapture` the run prints its
//! speed and how many seeds exercised each fault and check.

pub(crate) mod check;
pub(crate) mod node;
pub(crate) mod plan;
pub(crate) mod rng;
pub(crate) mod trace;
pub(crate) mod world;

#[cfg(test)]
mod tests;
