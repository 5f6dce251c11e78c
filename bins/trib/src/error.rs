//! The errors of the trib library: connecting, talking RESP to a node, and
//! the cluster administration commands.

use std::io;

/// What can go wrong talking to a node or administering a cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection could not be made (`message` as `strerror` words
    /// it, without Rust's `(os error N)` suffix, as redis-cli prints it).
    #[error("Could not connect to Redis at {addr}: {message}")]
    Connect {
        /// `host:port` as given.
        addr: String,
        /// Why, in the C library's words.
        message: String,
    },
    /// A read or write on an open connection failed.
    #[error("{}", io_message(.0))]
    Io(#[from] io::Error),
    /// The server closed the connection.
    #[error("Server closed the connection")]
    Closed,
    /// The server sent bytes that are not RESP.
    #[error("{0}")]
    Protocol(#[from] ferrodis_resp::FrameError),
    /// `AUTH` was refused (the server's error text).
    #[error("AUTH failed: {0}")]
    Auth(String),
    /// A node answered a command with an error reply.
    #[error("Node {addr} replied with error:\n{message}")]
    Reply {
        /// `ip:port` of the node.
        addr: String,
        /// The error text.
        message: String,
    },
    /// A reply of an unexpected shape (`CLUSTER NODES` not a string, say).
    #[error("unexpected reply from {addr} to {command}")]
    UnexpectedReply {
        /// `ip:port` of the node.
        addr: String,
        /// The command, for the message.
        command: &'static str,
    },
    /// A `host:port` argument that is not one.
    #[error("Invalid address format: {0}")]
    InvalidAddress(String),
    /// Bad command-line usage; the text says what.
    #[error("{0}")]
    Usage(String),
    /// A local cluster could not be started or stopped; the text says why.
    #[error("{0}")]
    Local(String),
}

/// An I/O error in the C library's words: `Connection refused`, not
/// `Connection refused (os error 111)`.
pub fn io_message(e: &io::Error) -> String {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(at) if text.ends_with(')') => text[..at].to_owned(),
        _ => text,
    };
    match text.strip_prefix("failed to lookup address information: ") {
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// The result type of this library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_messages_drop_the_os_error_suffix() {
        let e = io::Error::from_raw_os_error(111);
        assert_eq!(io_message(&e), "Connection refused");
        let e = Error::Connect {
            addr: "127.0.0.1:1".into(),
            message: io_message(&e),
        };
        assert_eq!(
            e.to_string(),
            "Could not connect to Redis at 127.0.0.1:1: Connection refused"
        );
    }
}
