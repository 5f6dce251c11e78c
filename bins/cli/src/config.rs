//! The command line of `ferrodis-cli`, read with redis-cli's rules: options
//! first, then the command and its arguments; `--cluster <subcommand>`
//! hands over to the administration commands of `ferrodis-trib`.

use ferrodis_trib::manager::{Invocation, Options as ClusterOptions};

/// How replies are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// redis-cli's terminal form: `(integer) 1`, `1) "a"`.
    Standard,
    /// The raw form (the default when standard output is not a terminal).
    Raw,
    /// `--csv`.
    Csv,
}

/// Everything the command line says.
#[derive(Debug, Clone)]
pub struct Config {
    /// `-h`.
    pub host: String,
    /// `-p`.
    pub port: u16,
    /// `-a` / `--pass` (or `REDISCLI_AUTH`).
    pub password: Option<String>,
    /// `--user`.
    pub user: Option<String>,
    /// `-n`.
    pub db: i64,
    /// `-r` (negative: forever).
    pub repeat: i64,
    /// `-i`, in seconds.
    pub interval: f64,
    /// The output form.
    pub output: OutputMode,
    /// Print RESP3 push messages that arrive beside replies.
    pub push_output: bool,
    /// `-3`.
    pub resp3: bool,
    /// `-2`.
    pub resp2: bool,
    /// `-x`: the last argument is read from standard input.
    pub stdin_last_arg: bool,
    /// `--pipe`.
    pub pipe: bool,
    /// `--pipe-timeout` in seconds (0: wait forever).
    pub pipe_timeout: u64,
    /// `-e`: exit with status 1 on an error reply.
    pub set_errcode: bool,
    /// `-c`: follow `-MOVED` and `-ASK`.
    pub cluster_mode: bool,
    /// `-d`: separator between aggregate items in raw output.
    pub mb_delim: Vec<u8>,
    /// `-D`: separator after each reply in raw output.
    pub cmd_delim: Vec<u8>,
    /// `--no-auth-warning`.
    pub no_auth_warning: bool,
    /// `--cluster <subcommand> ...`.
    pub cluster_command: Option<Invocation>,
    /// The `--cluster-*` options.
    pub cluster_options: ClusterOptions,
    /// The command and its arguments, when given.
    pub command: Vec<String>,
}

impl Config {
    /// The defaults, with the output form chosen by whether standard
    /// output is a terminal (`FAKETTY` set counts as one).
    pub fn new(stdout_is_tty: bool) -> Config {
        Config {
            host: "127.0.0.1".to_owned(),
            port: 6379,
            password: None,
            user: None,
            db: 0,
            repeat: 1,
            interval: 0.0,
            output: if stdout_is_tty {
                OutputMode::Standard
            } else {
                OutputMode::Raw
            },
            push_output: stdout_is_tty,
            resp3: false,
            resp2: false,
            stdin_last_arg: false,
            pipe: false,
            pipe_timeout: 30,
            set_errcode: false,
            cluster_mode: false,
            mb_delim: b"\n".to_vec(),
            cmd_delim: b"\n".to_vec(),
            no_auth_warning: false,
            cluster_command: None,
            cluster_options: ClusterOptions::default(),
            command: Vec::new(),
        }
    }
}

/// What the command line asks for besides running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Run with the configuration.
    Run,
    /// `--help`: print the usage, exit 0.
    Help,
    /// `-v`/`--version`.
    Version,
    /// A usage error: print the text on standard error, exit 1.
    Error(String),
}

/// C's `atoi`.
fn atoi(s: &str) -> i64 {
    ferrodis_trib::cluster::atoi(s)
}

/// C's `atof`, for `-i` (leading number, else 0).
fn atof(s: &str) -> f64 {
    let t = s.trim_start();
    let end = t
        .char_indices()
        .take_while(|(i, c)| {
            c.is_ascii_digit() || *c == '.' || (*i == 0 && (*c == '-' || *c == '+'))
        })
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    t[..end].parse().unwrap_or(0.0)
}

/// Reads `args` (without the program name) into `cfg`.
pub fn parse(args: &[String], cfg: &mut Config) -> Parsed {
    let mut i = 0;
    let n = args.len();
    while i < n {
        let arg = args[i].as_str();
        let has_value = i + 1 < n;
        let value = |i: usize| args.get(i + 1).cloned().unwrap_or_default();
        let mut consumed = 1;
        match arg {
            "-h" if has_value => {
                cfg.host = value(i);
                consumed = 2;
            }
            "-h" | "--help" => return Parsed::Help,
            "-x" => cfg.stdin_last_arg = true,
            "-p" if has_value => {
                cfg.port = u16::try_from(atoi(&value(i))).unwrap_or(0);
                consumed = 2;
            }
            "-r" if has_value => {
                cfg.repeat = atoi(&value(i));
                consumed = 2;
            }
            "-i" if has_value => {
                cfg.interval = atof(&value(i));
                consumed = 2;
            }
            "-n" if has_value => {
                cfg.db = atoi(&value(i));
                consumed = 2;
            }
            "--no-auth-warning" => cfg.no_auth_warning = true,
            "-a" | "--pass" if has_value => {
                cfg.password = Some(value(i));
                consumed = 2;
            }
            "--user" if has_value => {
                cfg.user = Some(value(i));
                consumed = 2;
            }
            "--raw" => cfg.output = OutputMode::Raw,
            "--no-raw" => cfg.output = OutputMode::Standard,
            "--csv" => cfg.output = OutputMode::Csv,
            "--pipe" => cfg.pipe = true,
            "--pipe-timeout" if has_value => {
                cfg.pipe_timeout = u64::try_from(atoi(&value(i))).unwrap_or(0);
                consumed = 2;
            }
            "-c" => cfg.cluster_mode = true,
            "-d" if has_value => {
                cfg.mb_delim = value(i).into_bytes();
                consumed = 2;
            }
            "-D" if has_value => {
                cfg.cmd_delim = value(i).into_bytes();
                consumed = 2;
            }
            "-e" => cfg.set_errcode = true,
            "-2" => cfg.resp2 = true,
            "-3" => cfg.resp3 = true,
            "-v" | "--version" => return Parsed::Version,
            "--cluster" if has_value => {
                if cfg.cluster_command.is_some() {
                    return Parsed::Help;
                }
                let cmd = value(i);
                let mut j = i + 2;
                while j < n && !args[j].starts_with('-') {
                    j += 1;
                }
                cfg.cluster_command = Some(Invocation {
                    command: cmd,
                    args: args[i + 2..j].to_vec(),
                });
                consumed = j - i;
            }
            "--cluster" => return Parsed::Help,
            "--cluster-only-masters" => cfg.cluster_options.only_masters = true,
            "--cluster-only-replicas" => cfg.cluster_options.only_replicas = true,
            "--cluster-yes" => cfg.cluster_options.yes = true,
            "--cluster-search-multiple-owners" => {
                cfg.cluster_options.search_multiple_owners = true;
            }
            "--cluster-replicas" if has_value => {
                cfg.cluster_options.replicas = usize::try_from(atoi(&value(i))).unwrap_or(0);
                consumed = 2;
            }
            "--cluster-slave" => cfg.cluster_options.slave = true,
            "--cluster-replace" => cfg.cluster_options.replace = true,
            "--cluster-master-id" if has_value => {
                cfg.cluster_options.master_id = Some(value(i));
                consumed = 2;
            }
            "--cluster-from" if has_value => {
                cfg.cluster_options.from = Some(value(i));
                consumed = 2;
            }
            "--cluster-to" if has_value => {
                cfg.cluster_options.to = Some(value(i));
                consumed = 2;
            }
            "--cluster-slots" if has_value => {
                cfg.cluster_options.slots = usize::try_from(atoi(&value(i))).unwrap_or(0);
                consumed = 2;
            }
            "--cluster-timeout" if has_value => {
                cfg.cluster_options.timeout_ms = u64::try_from(atoi(&value(i))).unwrap_or(0);
                consumed = 2;
            }
            "--cluster-pipeline" if has_value => {
                cfg.cluster_options.pipeline = usize::try_from(atoi(&value(i))).unwrap_or(0);
                consumed = 2;
            }
            "--cluster-threshold" if has_value => {
                cfg.cluster_options.threshold = value(i).trim().parse().ok();
                consumed = 2;
            }
            "--cluster-from-user" if has_value => {
                cfg.cluster_options.from_user = Some(value(i));
                consumed = 2;
            }
            "--cluster-from-pass" if has_value => {
                cfg.cluster_options.from_pass = Some(value(i));
                consumed = 2;
            }
            "--cluster-weight" => {
                let mut j = i + 1;
                while j < n && !args[j].starts_with("--") && args[j].contains('=') {
                    cfg.cluster_options.weights.push(args[j].clone());
                    j += 1;
                }
                consumed = j - i;
            }
            "--cluster-from-askpass" => {}
            "--cluster-copy" => cfg.cluster_options.copy = true,
            "--cluster-simulate" => cfg.cluster_options.simulate = true,
            "--cluster-use-empty-masters" => cfg.cluster_options.use_empty_masters = true,
            "--cluster-fix-with-unreachable-masters" => {
                cfg.cluster_options.fix_with_unreachable_masters = true;
            }
            _ if cfg.cluster_command.is_some() && !arg.starts_with('-') => {
                if let Some(inv) = cfg.cluster_command.as_mut() {
                    if inv.args.is_empty() {
                        let mut j = i;
                        while j < n && !args[j].starts_with('-') {
                            j += 1;
                        }
                        inv.args = args[i..j].to_vec();
                        consumed = (j - i).max(1);
                    }
                }
            }
            _ if arg.starts_with('-') => {
                return Parsed::Error(format!(
                    "Unrecognized option or bad number of args for: '{arg}'\n"
                ));
            }
            _ => break,
        }
        i += consumed;
    }
    cfg.command = args[i.min(n)..].to_vec();
    if cfg.resp2 && cfg.resp3 {
        return Parsed::Error("Options -2 and -3 are mutually exclusive.\n".to_owned());
    }
    if cfg.password.is_none() {
        cfg.password = std::env::var("REDISCLI_AUTH").ok();
    }
    if std::env::var("REDISCLI_CLUSTER_YES").is_ok_and(|v| v == "1") {
        cfg.cluster_options.yes = true;
    }
    Parsed::Run
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(line: &str) -> Config {
        let mut cfg = Config::new(false);
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        assert_eq!(parse(&args, &mut cfg), Parsed::Run);
        cfg
    }

    #[test]
    fn options_then_the_command() {
        let c = p("-p 7000 -n 2 --no-raw -c set foo bar");
        assert_eq!(c.port, 7000);
        assert_eq!(c.db, 2);
        assert_eq!(c.output, OutputMode::Standard);
        assert!(c.cluster_mode);
        assert_eq!(c.command, vec!["set", "foo", "bar"]);
        let c = p("set -p 7000");
        assert_eq!(c.command, vec!["set", "-p", "7000"]);
        assert_eq!(c.port, 6379);
    }

    #[test]
    fn cluster_subcommands_take_their_arguments() {
        let c = p("--cluster create a:1 b:2 c:3 --cluster-replicas 1 --cluster-yes");
        let inv = c.cluster_command.unwrap();
        assert_eq!(inv.command, "create");
        assert_eq!(inv.args, vec!["a:1", "b:2", "c:3"]);
        assert_eq!(c.cluster_options.replicas, 1);
        assert!(c.cluster_options.yes);
        assert!(c.command.is_empty());
    }

    #[test]
    fn unknown_options_are_refused() {
        let mut cfg = Config::new(false);
        let args = vec!["--bogus".to_owned()];
        assert_eq!(
            parse(&args, &mut cfg),
            Parsed::Error("Unrecognized option or bad number of args for: '--bogus'\n".into())
        );
        assert_eq!(atof("0.5s"), 0.5);
    }
}
