//! The Ferrodis cluster administration library behind `ferrodis-trib` and
//! `ferrodis-cli --cluster`: a blocking RESP connection ([`Conn`]), replies
//! formatted as `redis-cli` prints them ([`format`]), and the
//! `redis-cli --cluster` commands ([`manager`]) with their exact report,
//! plus a local cluster for trying things out ([`local`]).
//!
//! It talks RESP only, so it administers Ferrodis and Redis nodes alike.
//!
//! ```no_run
//! use ferrodis_trib::Conn;
//! let mut conn = Conn::connect("127.0.0.1", 7000, None)?;
//! let reply = conn.call(&["CLUSTER", "INFO"])?;
//! # Ok::<(), ferrodis_trib::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod args;
pub mod atomic;
pub mod backup;
pub mod cluster;
pub mod conn;
pub mod error;
pub mod fix;
pub mod format;
pub mod local;
pub mod manager;
pub mod output;
pub mod plan;
pub mod reshard;
pub mod rng;

pub use conn::{Conn, ConnectOptions};
pub use error::{Error, Result};
pub use manager::{Invocation, Options};
pub use output::Output;
