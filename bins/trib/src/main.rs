//! `ferrodis-trib`: the Ferrodis cluster administration tool, accepting both
//! `redis-trib.rb` and `redis-cli --cluster` spellings:
//! `ferrodis-trib create 127.0.0.1:7000 ... --replicas 1`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

const USAGE: &str = "\
Usage: ferrodis-trib <command> <arguments ...>

  create          host1:port1 ... hostN:portN
                  --replicas <arg>
  check           host:port
  info            host:port
  fix             host:port
  reshard         host:port
                  --from <arg> --to <arg> --slots <arg> --yes
                  --timeout <arg> --pipeline <arg> --replace
  rebalance       host:port
                  --weight <node1=w1...nodeN=wN> --use-empty-masters
                  --timeout <arg> --simulate --pipeline <arg> --threshold <arg>
  add-node        new_host:new_port existing_host:existing_port
                  --slave --master-id <arg>
  del-node        host:port node_id
  call            host:port command arg arg .. arg
  set-timeout     host:port milliseconds
  import          host:port
                  --from <arg> --copy --replace
  help            (show this help)
  --version       (show the version)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-v" | "--version") => {
            println!("ferrodis-trib {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!(
                "ferrodis-trib: cluster administration is not built yet in this \
                 version; see README.md for what works today"
            );
            ExitCode::FAILURE
        }
    }
}
