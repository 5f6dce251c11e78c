//! `ferrodis-cli`, a `redis-cli` compatible client, as a library: the
//! command line ([`config`]), a session that sends commands and prints
//! replies exactly as redis-cli 7.0 does ([`session`]), the interactive
//! loop ([`repl`]) and pipe mode ([`pipe`]). `--cluster` runs the
//! administration commands of [`ferrodis_trib`].
#![forbid(unsafe_code)]

pub mod config;
pub mod pipe;
pub mod repl;
pub mod session;

use std::io::{IsTerminal, Read, Write};

use config::{Config, Parsed};
use session::{Exit, Session};

/// The usage text (`--help`).
pub const USAGE: &str = "\
Usage: ferrodis-cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 6379).
  -a <password>      Password to use when connecting to the server.
                     You can also use the REDISCLI_AUTH environment
                     variable to pass this password more safely.
  --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
  --pass <password>  Alias of -a.
  -r <repeat>        Execute specified command N times.
  -i <interval>      When -r is used, waits <interval> seconds per command.
  -n <db>            Database number.
  -2                 Start session in RESP2 protocol mode.
  -3                 Start session in RESP3 protocol mode.
  -x                 Read last argument from STDIN.
  -d <delimiter>     Delimiter between response bulks for raw formatting (default: \\n).
  -D <delimiter>     Delimiter between responses for raw formatting (default: \\n).
  -c                 Enable cluster mode (follow -ASK and -MOVED redirections).
  -e                 Return exit error code when command execution fails.
  --raw              Use raw formatting for replies (default when STDOUT is
                     not a tty).
  --no-raw           Force formatted output even when STDOUT is not a tty.
  --csv              Output in CSV format.
  --pipe             Transfer raw Redis protocol from stdin to server.
  --pipe-timeout <n> In --pipe mode, abort with error if after sending all data.
                     no reply is received within <n> seconds.
                     Default timeout: 30. Use 0 to wait forever.
  --no-auth-warning  Don't show warning message when using password on command
                     line interface.
  --cluster <command> [args...] [opts...]
                     Cluster Manager command and arguments (see below).
  --help             Output this help and exit.
  --version          Output version and exit.

Cluster Manager Commands:
  Use --cluster help to list all available cluster manager commands.

Examples:
  ferrodis-cli -p 7000 set foo bar
  ferrodis-cli -c -p 7000 < commands.txt
  ferrodis-cli --pipe < protocol.bin
  ferrodis-cli --cluster create 127.0.0.1:7000 127.0.0.1:7001 127.0.0.1:7002

When no command is given, ferrodis-cli starts in interactive mode.
";

/// Runs the client with `args` (without the program name); the exit
/// status.
pub fn run(args: &[String]) -> i32 {
    let stdout_tty = std::io::stdout().is_terminal() || std::env::var_os("FAKETTY").is_some();
    let mut cfg = Config::new(stdout_tty);
    match config::parse(args, &mut cfg) {
        Parsed::Run => {}
        Parsed::Help => {
            print_out(USAGE);
            return 0;
        }
        Parsed::Version => {
            print_out(&format!("ferrodis-cli {}\n", env!("CARGO_PKG_VERSION")));
            return 0;
        }
        Parsed::Error(text) => {
            print_err(&text);
            return 1;
        }
    }
    if !cfg.no_auth_warning && cfg.password.is_some() && std::env::var_os("REDISCLI_AUTH").is_none()
    {
        print_err(
            "Warning: Using a password with '-a' or '-u' option on the command line interface may not be safe.\n",
        );
    }
    if let Some(inv) = cfg.cluster_command.clone() {
        let mut opts = cfg.cluster_options.clone();
        opts.connect.password = cfg.password.clone();
        opts.connect.user = cfg.user.clone();
        opts.color = std::io::stdout().is_terminal() && ferrodis_trib::output::is_color_term();
        let (mut o, mut e) = (std::io::stdout(), std::io::stderr());
        let mut out = ferrodis_trib::Output::new(&mut o, &mut e, opts.color);
        let ok = ferrodis_trib::manager::run(&inv, &opts, &mut out, &mut std::io::stdin());
        out.flush();
        return i32::from(!ok);
    }
    let mut session = Session::new(
        cfg,
        Box::new(std::io::stdout()),
        Box::new(std::io::stderr()),
    );
    if session.cfg.pipe {
        if !session.connect(false, false) {
            return 1;
        }
        let timeout = session.cfg.pipe_timeout;
        return match session.take_conn() {
            Some(conn) => pipe::run(conn, timeout),
            None => 1,
        };
    }
    if session.cfg.command.is_empty() {
        session.connect(false, false);
        return repl::run(&mut session, std::io::stdin().is_terminal());
    }
    session.connect(false, true);
    let mut argv: Vec<Vec<u8>> = session
        .cfg
        .command
        .iter()
        .map(|a| a.clone().into_bytes())
        .collect();
    if session.cfg.stdin_last_arg {
        let mut data = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut data);
        argv.push(data);
    }
    let repeat = session.cfg.repeat;
    match session.issue(&argv, repeat) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(Exit(code)) => code,
    }
}

fn print_out(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn print_err(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
