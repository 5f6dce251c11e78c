//! The Ferrodis cluster administration library behind `ferrodis-trib` and
//! `ferrodis-cli --cluster`: a blocking RESP connection ([`Conn`]), replies
//! formatted as `redis-cli` prints them ([`format`]), and more to come.
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

pub mod conn;
pub mod error;
pub mod format;

pub use conn::{Conn, ConnectOptions};
pub use error::{Error, Result};
