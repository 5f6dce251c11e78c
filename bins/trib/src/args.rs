//! The command line of `ferrodis-trib`: `<command> <args...> [options]`,
//! with redis-trib.rb's option spellings (`--replicas`, `--yes`, `--slave`,
//! `--master-id`, `--from`, `--to`, `--slots`, ...) and redis-cli's
//! `--cluster-*` ones, which mean the same.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::local::LocalOptions;
use crate::manager::{Invocation, Options};

/// A parsed `ferrodis-trib` command line.
#[derive(Debug, Clone, Default)]
pub struct TribArgs {
    /// The subcommand and its positional arguments.
    pub invocation: Option<Invocation>,
    /// Options of the cluster commands.
    pub options: Options,
    /// Options of `local start` / `local stop`.
    pub local: LocalOptions,
    /// Options given that only the commands not available yet use
    /// (`--from`, `--slots`, ...), by name, for the message.
    pub unused: Vec<String>,
}

/// Options that take a value (after `--`, or after `--cluster-`).
const VALUED: &[&str] = &[
    "replicas",
    "master-id",
    "from",
    "to",
    "slots",
    "timeout",
    "pipeline",
    "threshold",
    "from-user",
    "from-pass",
    "pass",
    "user",
    "masters",
    "port",
    "host",
    "dir",
    "node-binary",
    "node-timeout",
    "join-timeout",
];

/// Options that are flags.
const FLAGS: &[&str] = &[
    "yes",
    "slave",
    "use-empty-masters",
    "simulate",
    "replace",
    "legacy",
    "copy",
    "only-masters",
    "only-replicas",
    "search-multiple-owners",
    "fix-with-unreachable-masters",
    "auto-weights",
    "from-askpass",
];

fn number<T: std::str::FromStr>(name: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| Error::Usage(format!("Invalid value for --{name}: '{v}'")))
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<TribArgs> {
    let mut out = TribArgs::default();
    let mut positional: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        i += 1;
        let name = if arg == "-a" {
            Some("pass")
        } else if let Some(rest) = arg.strip_prefix("--cluster-") {
            Some(rest)
        } else if positional.first().is_some_and(|c| c == "call") && positional.len() >= 3 {
            // After `call host:port cmd`, only our own options are options.
            arg.strip_prefix("--")
                .filter(|n| FLAGS.contains(n) || VALUED.contains(n))
        } else {
            arg.strip_prefix("--")
        };
        let Some(name) = name else {
            positional.push(arg.clone());
            continue;
        };
        if name == "weight" {
            while let Some(w) = args
                .get(i)
                .filter(|w| !w.starts_with("--") && w.contains('='))
            {
                out.options.weights.push(w.clone());
                i += 1;
            }
            continue;
        }
        if FLAGS.contains(&name) {
            match name {
                "yes" => out.options.yes = true,
                "only-masters" => out.options.only_masters = true,
                "only-replicas" => out.options.only_replicas = true,
                "search-multiple-owners" => out.options.search_multiple_owners = true,
                "slave" => out.options.slave = true,
                "copy" => out.options.copy = true,
                "use-empty-masters" => out.options.use_empty_masters = true,
                "simulate" => out.options.simulate = true,
                "fix-with-unreachable-masters" => out.options.fix_with_unreachable_masters = true,
                "replace" => out.options.replace = true,
                "legacy" => out.options.legacy = true,
                other => out.unused.push(format!("--{other}")),
            }
            continue;
        }
        if !VALUED.contains(&name) {
            return Err(Error::Usage(format!(
                "Unrecognized option or bad number of args for: '{arg}'"
            )));
        }
        let Some(value) = args.get(i) else {
            return Err(Error::Usage(format!(
                "Unrecognized option or bad number of args for: '{arg}'"
            )));
        };
        i += 1;
        match name {
            "replicas" => {
                let n: usize = number(name, value)?;
                out.options.replicas = n;
                out.local.replicas = n;
            }
            "master-id" => out.options.master_id = Some(value.clone()),
            "from" => out.options.from = Some(value.clone()),
            "to" => out.options.to = Some(value.clone()),
            "slots" => out.options.slots = number(name, value)?,
            "timeout" => out.options.timeout_ms = number(name, value)?,
            "pipeline" => out.options.pipeline = number(name, value)?,
            "from-user" => out.options.from_user = Some(value.clone()),
            "from-pass" => out.options.from_pass = Some(value.clone()),
            "threshold" => out.options.threshold = Some(number(name, value)?),
            "pass" => out.options.connect.password = Some(value.clone()),
            "user" => out.options.connect.user = Some(value.clone()),
            "masters" => out.local.masters = number(name, value)?,
            "port" => out.local.port = number(name, value)?,
            "host" => out.local.host = value.clone(),
            "dir" => out.local.dir = PathBuf::from(value),
            "node-binary" => out.local.node_binary = Some(PathBuf::from(value)),
            "node-timeout" => out.local.node_timeout_ms = number(name, value)?,
            "join-timeout" => {
                let secs: u64 = number(name, value)?;
                out.options.join_timeout = Some(Duration::from_secs(secs));
            }
            other => out.unused.push(format!("--{other} {value}")),
        }
    }
    if std::env::var("REDISCLI_CLUSTER_YES").is_ok_and(|v| v == "1") {
        out.options.yes = true;
    }
    let mut positional = positional.into_iter();
    if let Some(command) = positional.next() {
        out.invocation = Some(Invocation {
            command,
            args: positional.collect(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> TribArgs {
        parse(&s.split_whitespace().map(str::to_owned).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn both_spellings_mean_the_same() {
        for line in [
            "create a:1 b:2 c:3 --replicas 1 --yes",
            "create a:1 b:2 c:3 --cluster-replicas 1 --cluster-yes",
            "create --replicas 1 a:1 b:2 c:3 --yes",
        ] {
            let a = p(line);
            let inv = a.invocation.unwrap();
            assert_eq!(inv.command, "create");
            assert_eq!(inv.args, vec!["a:1", "b:2", "c:3"]);
            assert_eq!(a.options.replicas, 1);
            assert!(a.options.yes);
        }
        let a = p("add-node a:1 b:2 --slave --master-id abc");
        assert!(a.unused.is_empty());
        assert!(a.options.slave);
        assert_eq!(a.options.master_id.as_deref(), Some("abc"));
        for line in [
            "reshard a:1 --from x,y --to z --slots 10 --yes --pipeline 5 --timeout 900",
            "reshard a:1 --cluster-from x,y --cluster-to z --cluster-slots 10 --cluster-yes \
             --cluster-pipeline 5 --cluster-timeout 900",
        ] {
            let a = p(line);
            assert!(a.unused.is_empty());
            let o = a.options;
            assert_eq!(o.from.as_deref(), Some("x,y"));
            assert_eq!(o.to.as_deref(), Some("z"));
            assert_eq!(
                (o.slots, o.pipeline, o.timeout_ms, o.yes),
                (10, 5, 900, true)
            );
        }
    }

    #[test]
    fn call_keeps_dashed_arguments() {
        let a = p("call a:1 incrby k -1 --only-masters");
        let inv = a.invocation.unwrap();
        assert_eq!(inv.args, vec!["a:1", "incrby", "k", "-1"]);
        assert!(a.options.only_masters);
    }

    #[test]
    fn unknown_options_are_errors() {
        let args = vec!["check".to_owned(), "a:1".to_owned(), "--bogus".to_owned()];
        assert!(parse(&args).is_err());
        let args = vec!["create".to_owned(), "--replicas".to_owned()];
        assert!(parse(&args).is_err());
    }
}
