//! `ferrodis-cli`: the Ferrodis command-line client, used like `redis-cli`:
//! `ferrodis-cli [-h host] [-p port] [-c] [cmd [arg ...]]`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

const USAGE: &str = "\
Usage: ferrodis-cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -a <password>      Password to use when connecting to the server.
  -c                 Enable cluster mode (follow -ASK and -MOVED redirections).
  --help             Output this help and exit.
  --version          Output version and exit.
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-v" | "--version") => {
            println!("ferrodis-cli {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "ferrodis-cli: the client is not built yet in this version; \
                 see README.md for what works today"
            );
            ExitCode::FAILURE
        }
    }
}
