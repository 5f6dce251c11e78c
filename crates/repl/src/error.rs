//! Why a replication link fails.

/// A replication link's failure, as the replica sees it; the node logs it
/// and reconnects.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplError {
    /// The master's reply to `PING` was an error other than the ones Redis
    /// tolerates (`-NOAUTH`, `-NOPERM`, `-ERR operation not permitted`).
    #[error("Error reply to PING from master: '{0}'")]
    Ping(String),
    /// `AUTH` with `masterauth`/`masteruser` was refused.
    #[error("Unable to AUTH to MASTER: {0}")]
    Auth(String),
    /// `PSYNC` was answered with an error that is not a retry.
    #[error("Unexpected reply to PSYNC from master: {0}")]
    Psync(String),
    /// The master said something this side cannot follow.
    #[error("Protocol error from master: {0}")]
    Protocol(String),
    /// A reply line went past the length Redis allows.
    #[error("Master reply line too long")]
    LineTooLong,
    /// A `+FULLRESYNC` carried a malformed id or offset.
    #[error("Master replied with wrong +FULLRESYNC syntax.")]
    FullResyncSyntax,
}
