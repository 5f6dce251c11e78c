//! `ferrodis-node`: the Ferrodis server, started like `redis-server`:
//! `ferrodis-node [/path/to/redis.conf] [--name value ...]`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

const USAGE: &str = "\
Usage: ferrodis-node [/path/to/redis.conf] [options] [-]
       ferrodis-node -v or --version
       ferrodis-node -h or --help

Options take the names of redis.conf directives, each preceded by '--',
and override the configuration file:

       ferrodis-node --port 7000
       ferrodis-node /etc/redis/7000.conf --loglevel verbose
       ferrodis-node --port 7000 --cluster-enabled yes
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-v" | "--version") => {
            println!("ferrodis-node v={}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "ferrodis-node: the server is not built yet in this version; \
                 see README.md for what works today"
            );
            ExitCode::FAILURE
        }
    }
}
