//! Errors of the operator commands (`CLUSTER MEET`, `ADDSLOTS`, `SETSLOT`,
//! ...) and of restoring a node from `nodes.conf`.
//!
//! Each `Display` is the error Redis 7.0.15 replies with, without the
//! leading `-`, so that a node can send it as it is. A few are checks the
//! state machine cannot make (it does not see the keyspace, and it takes
//! parsed arguments); they are here so that all the texts sit together, for
//! the node to return.

use thiserror::Error;

/// Why an operator command was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// `CLUSTER MEET` with an address that is not an IPv4 or IPv6 address,
    /// or a port out of 1..=65535.
    #[error("ERR Invalid node address specified: {ip}:{port}")]
    InvalidAddress {
        /// The address as given.
        ip: String,
        /// The client port as given.
        port: String,
    },
    /// `CLUSTER MEET` with a client port that is not an integer (the node
    /// checks this while parsing).
    #[error("ERR Invalid TCP base port specified: {0}")]
    InvalidPort(String),
    /// `CLUSTER MEET` with a bus port that is not an integer (the node
    /// checks this while parsing).
    #[error("ERR Invalid TCP bus port specified: {0}")]
    InvalidBusPort(String),
    /// A node id this node does not know (`FORGET`, `REPLICATE`, `REPLICAS`,
    /// `SETSLOT ... NODE`, `COUNT-FAILURE-REPORTS`). The node also returns
    /// it for an argument that is not a valid node id, as Redis does.
    #[error("ERR Unknown node {0}")]
    UnknownNode(String),
    /// `SETSLOT ... MIGRATING|IMPORTING` with an unknown node.
    #[error("ERR I don't know about node {0}")]
    DontKnowNode(String),
    /// `CLUSTER FORGET` of this node.
    #[error("ERR I tried hard but I can't forget myself...")]
    ForgetMyself,
    /// `CLUSTER FORGET` of this replica's master.
    #[error("ERR Can't forget my master!")]
    ForgetMyMaster,
    /// `CLUSTER REPLICATE` of this node.
    #[error("ERR Can't replicate myself")]
    ReplicateMyself,
    /// `CLUSTER REPLICATE` of a replica.
    #[error("ERR I can only replicate a master, not a replica.")]
    ReplicateReplica,
    /// `CLUSTER REPLICATE` on a master that serves slots (or, checked by the
    /// node, holds keys).
    #[error("ERR To set a master the node must be empty and without assigned slots.")]
    ReplicateNotEmpty,
    /// `ADDSLOTS`/`ADDSLOTSRANGE` of a slot that has an owner.
    #[error("ERR Slot {0} is already busy")]
    SlotBusy(u16),
    /// `DELSLOTS`/`DELSLOTSRANGE` of a slot that has none.
    #[error("ERR Slot {0} is already unassigned")]
    SlotUnassigned(u16),
    /// A slot given twice to `ADDSLOTS`/`DELSLOTS` (or their ranges).
    #[error("ERR Slot {0} specified multiple times")]
    SlotRepeated(u16),
    /// A slot argument that is not an integer in 0..=16383 (the node checks
    /// this while parsing).
    #[error("ERR Invalid or out of range slot")]
    InvalidSlot,
    /// `ADDSLOTSRANGE`/`DELSLOTSRANGE` with a range whose end comes before
    /// its start (the node checks this while parsing).
    #[error("ERR start slot number {start} is greater than end slot number {end}")]
    SlotRangeReversed {
        /// The first slot given.
        start: u16,
        /// The last slot given.
        end: u16,
    },
    /// `CLUSTER SETSLOT` on a replica.
    #[error("ERR Please use SETSLOT only with masters.")]
    SetSlotOnReplica,
    /// `SETSLOT ... MIGRATING` of a slot this node does not serve.
    #[error("ERR I'm not the owner of hash slot {0}")]
    NotSlotOwner(u16),
    /// `SETSLOT ... IMPORTING` of a slot this node serves.
    #[error("ERR I'm already the owner of hash slot {0}")]
    AlreadySlotOwner(u16),
    /// `SETSLOT ... MIGRATING|IMPORTING|NODE` naming a replica.
    #[error("ERR Target node is not a master")]
    TargetNotMaster,
    /// `SETSLOT ... NODE` giving away a slot that still holds keys here.
    #[error(
        "ERR Can't assign hashslot {0} to a different node while I still hold keys for this hash slot."
    )]
    SlotHasKeys(u16),
    /// `CLUSTER SETSLOT` with an unknown action or argument count (the node
    /// checks this while parsing).
    #[error("ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP")]
    SetSlotSyntax,
    /// `CLUSTER SET-CONFIG-EPOCH` with a negative epoch (the node checks
    /// this while parsing).
    #[error("ERR Invalid config epoch specified: {0}")]
    InvalidConfigEpoch(i64),
    /// `CLUSTER SET-CONFIG-EPOCH` on a node that knows another.
    #[error(
        "ERR The user can assign a config epoch only when the node does not know any other node."
    )]
    ConfigEpochKnowsOthers,
    /// `CLUSTER SET-CONFIG-EPOCH` on a node whose config epoch is not 0.
    #[error("ERR Node config epoch is already non-zero")]
    ConfigEpochNonZero,
    /// `CLUSTER REPLICAS` of a replica.
    #[error("ERR The specified node is not a master")]
    NotAMaster,
    /// `CLUSTER FLUSHSLOTS` while the keyspace holds keys (checked by the
    /// node).
    #[error("ERR DB must be empty to perform CLUSTER FLUSHSLOTS.")]
    FlushSlotsNotEmpty,
    /// `CLUSTER RESET` on a master holding keys (checked by the node).
    #[error("ERR CLUSTER RESET can't be called with master nodes containing keys")]
    ResetMasterWithKeys,
    /// `CLUSTER FAILOVER` on a master.
    #[error("ERR You should send CLUSTER FAILOVER to a replica")]
    FailoverOnMaster,
    /// `CLUSTER FAILOVER` on a replica that does not know its master.
    #[error("ERR I'm a replica but my master is unknown to me")]
    FailoverUnknownMaster,
    /// `CLUSTER FAILOVER` (no option) while the master is FAIL or has no
    /// link.
    #[error("ERR Master is down or failed, please use CLUSTER FAILOVER FORCE")]
    FailoverMasterDown,
    /// [`ClusterNode::from_nodes_conf`](super::ClusterNode::from_nodes_conf)
    /// on a file that does not describe one node as `myself` (Redis exits
    /// with "Unrecoverable error: corrupted cluster config file.").
    #[error("Unrecoverable error: corrupted cluster config file: {0}")]
    CorruptConfig(String),
}

#[cfg(test)]
mod tests {
    use super::ClusterError as E;

    /// Every text as Redis 7.0.15's `clusterCommand` replies it.
    #[test]
    fn texts_are_redis_texts() {
        let cases: Vec<(E, &str)> = vec![
            (
                E::InvalidAddress {
                    ip: "1.2.3".into(),
                    port: "7000".into(),
                },
                "ERR Invalid node address specified: 1.2.3:7000",
            ),
            (E::InvalidPort("x".into()), "ERR Invalid TCP base port specified: x"),
            (E::InvalidBusPort("y".into()), "ERR Invalid TCP bus port specified: y"),
            (E::UnknownNode("abc".into()), "ERR Unknown node abc"),
            (E::DontKnowNode("abc".into()), "ERR I don't know about node abc"),
            (E::ForgetMyself, "ERR I tried hard but I can't forget myself..."),
            (E::ForgetMyMaster, "ERR Can't forget my master!"),
            (E::ReplicateMyself, "ERR Can't replicate myself"),
            (
                E::ReplicateReplica,
                "ERR I can only replicate a master, not a replica.",
            ),
            (
                E::ReplicateNotEmpty,
                "ERR To set a master the node must be empty and without assigned slots.",
            ),
            (E::SlotBusy(5), "ERR Slot 5 is already busy"),
            (E::SlotUnassigned(6), "ERR Slot 6 is already unassigned"),
            (E::SlotRepeated(7), "ERR Slot 7 specified multiple times"),
            (E::InvalidSlot, "ERR Invalid or out of range slot"),
            (
                E::SlotRangeReversed { start: 9, end: 8 },
                "ERR start slot number 9 is greater than end slot number 8",
            ),
            (E::SetSlotOnReplica, "ERR Please use SETSLOT only with masters."),
            (E::NotSlotOwner(1), "ERR I'm not the owner of hash slot 1"),
            (E::AlreadySlotOwner(2), "ERR I'm already the owner of hash slot 2"),
            (E::TargetNotMaster, "ERR Target node is not a master"),
            (
                E::SlotHasKeys(3),
                "ERR Can't assign hashslot 3 to a different node while I still hold keys for this hash slot.",
            ),
            (
                E::SetSlotSyntax,
                "ERR Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP",
            ),
            (E::InvalidConfigEpoch(-1), "ERR Invalid config epoch specified: -1"),
            (
                E::ConfigEpochKnowsOthers,
                "ERR The user can assign a config epoch only when the node does not know any other node.",
            ),
            (E::ConfigEpochNonZero, "ERR Node config epoch is already non-zero"),
            (E::NotAMaster, "ERR The specified node is not a master"),
            (
                E::FlushSlotsNotEmpty,
                "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.",
            ),
            (
                E::ResetMasterWithKeys,
                "ERR CLUSTER RESET can't be called with master nodes containing keys",
            ),
            (
                E::FailoverOnMaster,
                "ERR You should send CLUSTER FAILOVER to a replica",
            ),
            (
                E::FailoverUnknownMaster,
                "ERR I'm a replica but my master is unknown to me",
            ),
            (
                E::FailoverMasterDown,
                "ERR Master is down or failed, please use CLUSTER FAILOVER FORCE",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }
}
