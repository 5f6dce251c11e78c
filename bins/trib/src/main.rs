//! `ferrodis-trib`: the Ferrodis cluster administration tool, accepting both
//! `redis-trib.rb` and `redis-cli --cluster` spellings:
//! `ferrodis-trib create 127.0.0.1:7000 ... --replicas 1`.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::IsTerminal;
use std::process::ExitCode;

use ferrodis_trib::{args, local, manager, output};

const USAGE: &str = "\
Usage: ferrodis-trib <command> <arguments ...>

  create          host1:port1 ... hostN:portN
                  --replicas <arg>
  check           host:port
                  --search-multiple-owners
  info            host:port
  call            host:port command arg arg .. arg
                  --only-masters --only-replicas
  set-timeout     host:port milliseconds
  add-node        new_host:new_port existing_host:existing_port
                  --slave
                  --master-id <arg>
  del-node        host:port node_id
  fix             host:port
                  --search-multiple-owners
                  --fix-with-unreachable-masters
  reshard         host:port
                  --from <arg>
                  --to <arg>
                  --slots <arg>
                  --yes
                  --timeout <arg>
                  --pipeline <arg>
                  --replace
  rebalance       host:port
                  --weight <node1=w1...nodeN=wN>
                  --use-empty-masters
                  --timeout <arg>
                  --simulate
                  --pipeline <arg>
                  --threshold <arg>
                  --replace
  import          host:port
                  --from <arg>
                  --from-user <arg>
                  --from-pass <arg>
                  --copy
                  --replace
  backup          host:port backup_directory
  local start     [--masters <n>] [--replicas <n>] [--port <first port>]
                  [--host <ip>] [--dir <work dir>] [--node-binary <path>]
  local stop      [--dir <work dir>]
  help            (show this help)
  --version       (show the version)

Every --option is also accepted as --cluster-option (redis-cli's spelling).
Authentication: -a <password> (or --pass), --user <name>.
--yes (or REDISCLI_CLUSTER_YES=1) answers yes to the confirmation.
";

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match argv.first().map(String::as_str) {
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some("-v" | "--version") => {
            println!("ferrodis-trib {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let parsed = match args::parse(&argv) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut opts = parsed.options.clone();
    opts.color = std::io::stdout().is_terminal() && output::is_color_term();
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let mut out = output::Output::new(&mut stdout, &mut stderr, opts.color);
    let Some(inv) = parsed.invocation else {
        eprint!("{USAGE}");
        return ExitCode::FAILURE;
    };
    if !parsed.unused.is_empty() && inv.command != "local" {
        eprintln!(
            "Options of commands not available yet were ignored: {}",
            parsed.unused.join(" ")
        );
    }
    let ok = if inv.command == "local" {
        let result = match inv.args.first().map(String::as_str) {
            Some("start") => local::start(&parsed.local, &opts, &mut out).map(|_| ()),
            Some("stop") => local::stop(&parsed.local, &mut out).map(|_| ()),
            _ => {
                eprint!("{USAGE}");
                return ExitCode::FAILURE;
            }
        };
        match result {
            Ok(()) => true,
            Err(e) => {
                out.eprint(&format!("{e}\n"));
                false
            }
        }
    } else {
        manager::run(&inv, &opts, &mut out, &mut std::io::stdin())
    };
    out.flush();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
