//! `ferrodis-node`: the Ferrodis server, started like `redis-server`:
//! `ferrodis-node [/path/to/redis.conf] [--name value ...]`. The server
//! lives in the library; the binary installs the allocator and runs it.

use std::process::ExitCode;

/// Every allocation is counted: `used_memory` (INFO) and the `maxmemory`
/// limit read the count.
#[global_allocator]
static GLOBAL: ferrodis_node::Counting = ferrodis_node::Counting;

fn main() -> ExitCode {
    ferrodis_node::main_entry()
}
