//! The administration commands, as `redis-cli --cluster` 7.0 runs them and
//! with the same report: `create`, `check`, `info`, `call`, `set-timeout`
//! (and, in `reshard`, `add-node`, `del-node`, `reshard`).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::ToSocketAddrs;
use std::time::Duration;

use crate::cluster::{parse_address, ClusterNode, NodesLine, CLUSTER_SLOTS};
use crate::conn::{error_text, ConnectOptions};
use crate::error::Error;
use crate::format;
use crate::output::{Level, Output};
use crate::rng::Rng;

/// The message for a host argument that is neither `ip:port` nor `ip port`.
pub const INVALID_HOST_ARG: &str = "[ERR] Invalid arguments: you need to pass either a valid \
address (ie. 120.0.0.1:7000) or space separated IP and port (ie. 120.0.0.1 7000)\n";

/// Options of the administration commands (both `--cluster-*` and
/// redis-trib spellings end up here).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// How to connect to every node.
    pub connect: ConnectOptions,
    /// `--cluster-replicas`: replicas per master for `create`.
    pub replicas: usize,
    /// `--cluster-yes`: do not ask before changing the cluster.
    pub yes: bool,
    /// `--cluster-only-masters` for `call`.
    pub only_masters: bool,
    /// `--cluster-only-replicas` for `call`.
    pub only_replicas: bool,
    /// `--cluster-search-multiple-owners` for `check`.
    pub search_multiple_owners: bool,
    /// Colour the report.
    pub color: bool,
    /// `--cluster-slave`: `add-node` adds a replica.
    pub slave: bool,
    /// `--cluster-master-id`: the master of the replica `add-node` adds.
    pub master_id: Option<String>,
    /// `--cluster-from`: reshard's source node IDs (comma-separated, or `all`).
    pub from: Option<String>,
    /// `--cluster-to`: reshard's receiving node ID.
    pub to: Option<String>,
    /// `--cluster-slots`: how many slots reshard moves (0: ask).
    pub slots: usize,
    /// `--cluster-timeout`: MIGRATE's timeout in ms (0: 60000).
    pub timeout_ms: u64,
    /// `--cluster-pipeline`: keys per MIGRATE (0: 10).
    pub pipeline: usize,
    /// `--cluster-replace`: overwrite keys the target already holds.
    pub replace: bool,
    /// `--legacy`: move keys with MIGRATE even between Ferrodis nodes
    /// (see [`crate::atomic`]).
    pub legacy: bool,
    /// Running `fix` (slot moves may then claim unserved slots).
    pub fix: bool,
    /// `--cluster-weight id=w ...` for rebalance.
    pub weights: Vec<String>,
    /// `--cluster-use-empty-masters` for rebalance.
    pub use_empty_masters: bool,
    /// `--cluster-threshold` (percent, default 2) for rebalance.
    pub threshold: Option<f32>,
    /// `--cluster-simulate`: rebalance prints what it would move.
    pub simulate: bool,
    /// `--cluster-copy`: import copies (MIGRATE ... COPY).
    pub copy: bool,
    /// `--cluster-from-user` / `--cluster-from-pass`: import's source login.
    pub from_user: Option<String>,
    /// See `from_user`.
    pub from_pass: Option<String>,
    /// `--cluster-fix-with-unreachable-masters`.
    pub fix_with_unreachable_masters: bool,
    /// How many seconds `create` waits for the nodes to agree before it
    /// gives up (`None`: forever, as redis-cli).
    pub join_timeout: Option<Duration>,
}

/// A subcommand and its positional arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// `create`, `check`, ...
    pub command: String,
    /// Its arguments (hosts, node IDs, a command to call).
    pub args: Vec<String>,
}

/// The subcommands, their arity (negative: at least) and usage, as
/// `redis-cli --cluster help` lists them.
pub const COMMANDS: &[(&str, i32, &str, &[&str])] = &[
    (
        "create",
        -2,
        "host1:port1 ... hostN:portN",
        &["replicas <arg>"],
    ),
    ("check", -1, HOST_ARGS, &["search-multiple-owners"]),
    ("info", -1, HOST_ARGS, &[]),
    (
        "fix",
        -1,
        HOST_ARGS,
        &["search-multiple-owners", "fix-with-unreachable-masters"],
    ),
    (
        "reshard",
        -1,
        HOST_ARGS,
        &[
            "from <arg>",
            "to <arg>",
            "slots <arg>",
            "yes",
            "timeout <arg>",
            "pipeline <arg>",
            "replace",
            "legacy",
        ],
    ),
    (
        "rebalance",
        -1,
        HOST_ARGS,
        &[
            "weight <node1=w1...nodeN=wN>",
            "use-empty-masters",
            "timeout <arg>",
            "simulate",
            "pipeline <arg>",
            "threshold <arg>",
            "replace",
            "legacy",
        ],
    ),
    (
        "add-node",
        2,
        "new_host:new_port existing_host:existing_port",
        &["slave", "master-id <arg>"],
    ),
    ("del-node", 2, "host:port node_id", &[]),
    (
        "call",
        -2,
        "host:port command arg arg .. arg",
        &["only-masters", "only-replicas"],
    ),
    ("set-timeout", 2, "host:port milliseconds", &[]),
    (
        "import",
        1,
        "host:port",
        &[
            "from <arg>",
            "from-user <arg>",
            "from-pass <arg>",
            "from-askpass",
            "copy",
            "replace",
        ],
    ),
    ("backup", 2, "host:port backup_directory", &[]),
    ("help", 0, "", &[]),
];

const HOST_ARGS: &str = "<host:port> or <host> <port> - separated by either colon or space";

/// The subcommand list, as `redis-cli --cluster help` prints it.
pub fn help_text() -> String {
    let mut s = String::from("Cluster Manager Commands:\n");
    for (name, _, args, options) in COMMANDS {
        s.push_str(&format!("  {name:<15}{args}\n"));
        for o in *options {
            s.push_str(&format!("{:15}  --cluster-{o}\n", ""));
        }
    }
    s.push_str(
        "\nFor check, fix, reshard, del-node, set-timeout, info, rebalance, call, import, \
backup you can specify the host and port of any working node in the cluster.\n",
    );
    s.push_str("\nCluster Manager Options:\n");
    s.push_str(&format!(
        "  {:<15}{}\n",
        "--cluster-yes", "Automatic yes to cluster commands prompts"
    ));
    s.push('\n');
    s
}

/// Runs one subcommand; whether it succeeded (the exit status). `input`
/// answers the confirmation question when `--cluster-yes` is not given.
pub fn run(inv: &Invocation, opts: &Options, out: &mut Output<'_>, input: &mut dyn Read) -> bool {
    let Some(&(_, arity, _, _)) = COMMANDS.iter().find(|c| c.0 == inv.command) else {
        out.eprint("Unknown --cluster subcommand\n");
        return false;
    };
    let argc = i32::try_from(inv.args.len()).unwrap_or(i32::MAX);
    if (arity > 0 && argc != arity) || (arity < 0 && argc < -arity) {
        out.eprint("[ERR] Wrong number of arguments for specified --cluster sub command\n");
        return false;
    }
    let mut fix_opts = opts.clone();
    fix_opts.fix = inv.command == "fix";
    let mut m = Manager::new(&fix_opts, out);
    match inv.command.as_str() {
        "create" => m.create(&inv.args, input),
        "check" | "fix" => m.check(&inv.args),
        "info" => m.info(&inv.args),
        "call" => m.call(&inv.args),
        "set-timeout" => m.set_timeout(&inv.args),
        "add-node" => m.add_node(&inv.args),
        "del-node" => m.del_node(&inv.args),
        "reshard" => m.reshard(&inv.args, input),
        "rebalance" => m.rebalance(&inv.args),
        "import" => m.import(&inv.args),
        "backup" => m.backup(&inv.args),
        "help" => {
            m.out.print(&help_text());
            false
        }
        other => {
            m.out.eprint(&format!(
                "The '{other}' subcommand is not available in this version \
                 (available: create, check, info, fix, call, set-timeout, add-node, del-node, reshard, rebalance, import, backup).\n"
            ));
            false
        }
    }
}

/// Reads the answer to a confirmation question as redis-cli does: one read
/// of at most 4 bytes, accepted when they start with `yes`.
pub fn read_yes(input: &mut dyn Read) -> bool {
    let mut buf = [0u8; 4];
    match input.read(&mut buf) {
        Ok(n) if n >= 3 => buf.starts_with(b"yes"),
        _ => false,
    }
}

/// `ip:port` or `ip port` from the first arguments.
pub fn host_from_args(args: &[String]) -> Option<(String, u16)> {
    let (ip, port) = match args {
        [one] => {
            let (ip, port, _) = parse_address(one)?;
            (ip, port)
        }
        [ip, port, ..] => (
            ip.clone(),
            u16::try_from(crate::cluster::atoi(port)).unwrap_or(0),
        ),
        [] => return None,
    };
    if ip.is_empty() || port == 0 {
        None
    } else {
        Some((ip, port))
    }
}

/// The state of one administration run: the nodes loaded, the errors met.
pub struct Manager<'o, 'w> {
    /// The nodes, the one given first.
    pub nodes: Vec<ClusterNode>,
    /// Errors found by the check, in order.
    pub errors: Vec<String>,
    /// Masters that could not be reached while loading.
    pub unreachable_masters: usize,
    /// `fix` refused to go on (redis-cli exits there).
    pub aborted: bool,
    pub(crate) opts: &'o Options,
    pub(crate) out: &'o mut Output<'w>,
    rng: Rng,
}

impl<'o, 'w> Manager<'o, 'w> {
    /// A manager with no node loaded.
    pub fn new(opts: &'o Options, out: &'o mut Output<'w>) -> Manager<'o, 'w> {
        Manager {
            nodes: Vec::new(),
            errors: Vec::new(),
            unreachable_masters: 0,
            aborted: false,
            opts,
            out,
            rng: Rng::from_time(),
        }
    }

    /// A random index below `n` (0 when `n` is 0).
    pub(crate) fn random_index(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.rng.next_u64() % n as u64) as usize
        }
    }

    pub(crate) fn node_by_name(&self, name: &str) -> Option<usize> {
        let lower = name.to_ascii_lowercase();
        self.nodes.iter().position(|n| n.name == lower)
    }

    /// Connects to `node`, printing why not (redis-cli's words) on failure.
    fn connect(&mut self, node: &mut ClusterNode) -> bool {
        match node.connect(&self.opts.connect) {
            Ok(()) => true,
            Err(Error::Auth(msg)) => {
                self.out.reply_error(&node.addr(), &msg);
                false
            }
            Err(e @ Error::Connect { .. }) => {
                self.out.eprint(&format!("{e}\n"));
                false
            }
            Err(e) => {
                self.out.eprint(&format!(
                    "Could not connect to Redis at {}: {e}\n",
                    node.addr()
                ));
                false
            }
        }
    }

    fn report(&mut self, node: &ClusterNode, e: &Error) {
        match e {
            Error::Reply { message, .. } => self.out.reply_error(&node.addr(), message),
            other => self.out.eprint(&format!("Error: {other}\n")),
        }
    }

    /// Loads the whole cluster as `node` sees it (`clusterManagerLoadInfoFromNode`).
    pub fn load_from(&mut self, mut node: ClusterNode) -> bool {
        if node.conn.is_none() && !self.connect(&mut node) {
            return false;
        }
        match node.is_cluster() {
            Ok(true) => {}
            Ok(false) => {
                self.out.log(
                    Level::Err,
                    &format!(
                        "[ERR] Node {} is not configured as a cluster node.\n",
                        node.addr()
                    ),
                );
                return false;
            }
            Err(Error::Reply { message, .. }) => {
                self.out.log(
                    Level::Err,
                    &format!("[ERR] Node {} {message}\n", node.addr()),
                );
                return false;
            }
            Err(e) => {
                self.report(&node, &e);
                return false;
            }
        }
        let friends = match node.load_info(true) {
            Ok(f) => f,
            Err(e) => {
                self.report(&node, &e);
                return false;
            }
        };
        self.nodes.clear();
        self.nodes.push(node);
        for line in friends {
            let seen_bad = ["noaddr", "disconnected", "fail"]
                .iter()
                .any(|f| line.has_flag(f));
            let (ip, port, bus) = parse_address(&line.addr).unwrap_or_default();
            let mut friend = ClusterNode::new(&ip, port, bus);
            friend.apply_line_common(&line);
            let ok = !ip.is_empty() && port != 0 && self.connect(&mut friend) && {
                match friend.load_info(false) {
                    Ok(_) => {
                        let bad_now = ["noaddr", "disconnected", "fail"]
                            .iter()
                            .any(|f| friend.has_flag(f));
                        !(seen_bad || bad_now)
                    }
                    Err(_) => {
                        self.out.log(
                            Level::Err,
                            &format!("[ERR] Unable to load info for node {}\n", friend.addr()),
                        );
                        false
                    }
                }
            };
            if ok {
                self.nodes.push(friend);
            } else if !line.has_flag("slave") {
                self.unreachable_masters += 1;
            }
        }
        for i in 0..self.nodes.len() {
            let Some(master) = self.nodes.get(i).and_then(|n| n.replicate.clone()) else {
                continue;
            };
            match self.node_by_name(&master) {
                Some(m) => {
                    if let Some(m) = self.nodes.get_mut(m) {
                        m.replicas_count += 1;
                    }
                }
                None => {
                    let addr = self.nodes.get(i).map(ClusterNode::addr).unwrap_or_default();
                    self.out.log(
                        Level::Warn,
                        &format!(
                            "*** WARNING: {addr} claims to be slave of unknown node ID {master}.\n"
                        ),
                    );
                }
            }
        }
        true
    }

    pub(crate) fn load_from_args(&mut self, args: &[String]) -> bool {
        let Some((ip, port)) = host_from_args(args) else {
            self.out.eprint(INVALID_HOST_ARG);
            return false;
        };
        self.load_from(ClusterNode::new(&ip, port, None))
    }

    /// Prints every node (`clusterManagerShowNodes`).
    pub fn show_nodes(&mut self) {
        for i in 0..self.nodes.len() {
            let text = self
                .nodes
                .get(i)
                .map(ClusterNode::info_string)
                .unwrap_or_default();
            self.out.print(&format!("{text}\n"));
        }
    }

    /// Keys, slots and replicas per master (`clusterManagerShowClusterInfo`).
    pub fn show_cluster_info(&mut self) {
        let mut masters = 0;
        let mut keys: i64 = 0;
        for i in 0..self.nodes.len() {
            let (is_master, name) = match self.nodes.get(i) {
                Some(n) => (!n.is_replica(), n.name.clone()),
                None => continue,
            };
            if !is_master || name.is_empty() {
                continue;
            }
            let replicas = self
                .nodes
                .iter()
                .filter(|n| n.is_replica() && n.replicate.as_deref() == Some(name.as_str()))
                .count();
            let Some(node) = self.nodes.get_mut(i) else {
                continue;
            };
            let dbsize = match node.call(&["DBSIZE"]) {
                Ok(ferrodis_resp::Frame::Integer(n)) if n >= 0 => n,
                Ok(other) => {
                    let msg = error_text(&other).unwrap_or_default();
                    let addr = node.addr();
                    self.out.reply_error(&addr, &msg);
                    return;
                }
                Err(_) => {
                    let addr = node.addr();
                    self.out.reply_error(&addr, "");
                    return;
                }
            };
            let short: String = name.chars().take(8).collect();
            let line = format!(
                "{}:{} ({short}...) -> {dbsize} keys | {} slots | {replicas} slaves.\n",
                node.ip, node.port, node.slots_count
            );
            self.out.print(&line);
            masters += 1;
            keys += dbsize;
        }
        self.out.log(
            Level::Ok,
            &format!("[OK] {keys} keys in {masters} masters.\n"),
        );
        let per_slot = keys as f32 / CLUSTER_SLOTS as f32;
        self.out
            .print(&format!("{per_slot:.2} keys per slot on average.\n"));
    }

    fn on_error(&mut self, err: String) {
        self.out.log(Level::Err, &format!("{err}\n"));
        self.errors.push(err);
    }

    /// Whether every node reports the same slot owners.
    pub fn is_config_consistent(&mut self) -> bool {
        if self.nodes.len() <= 1 {
            return true;
        }
        let mut first: Option<String> = None;
        for node in &mut self.nodes {
            let Ok(text) = node.call_text(&["CLUSTER", "NODES"], "CLUSTER NODES") else {
                return false;
            };
            let Some(sig) = crate::cluster::config_signature(&text) else {
                return false;
            };
            match &first {
                None => first = Some(sig),
                Some(f) if *f != sig => return false,
                Some(_) => {}
            }
        }
        true
    }

    /// The cluster check (`clusterManagerCheckCluster`, without fixing).
    pub fn check_cluster(&mut self, quiet: bool) -> bool {
        let Some(first) = self.nodes.first() else {
            return false;
        };
        let addr = first.addr();
        self.out.log(
            Level::Info,
            &format!(">>> Performing Cluster Check (using node {addr})\n"),
        );
        let mut result = true;
        if !quiet {
            self.show_nodes();
        }
        if self.is_config_consistent() {
            self.out.log(
                Level::Ok,
                "[OK] All nodes agree about slots configuration.\n",
            );
        } else {
            self.on_error("[ERR] Nodes don't agree about configuration!".to_owned());
            result = false;
        }
        self.out.log(Level::Info, ">>> Check for open slots...\n");
        let mut open: BTreeMap<u32, String> = BTreeMap::new();
        let mut warnings = Vec::new();
        for n in &self.nodes {
            for (list, state) in [(&n.migrating, "migrating"), (&n.importing, "importing")] {
                if list.is_empty() {
                    continue;
                }
                let slots: Vec<&str> = list.iter().map(|(s, _)| s.as_str()).collect();
                for (s, other) in list {
                    open.insert(
                        u32::try_from(crate::cluster::atoi(s)).unwrap_or(0),
                        other.clone(),
                    );
                }
                warnings.push(format!(
                    "[WARNING] Node {} has slots in {state} state {}.",
                    n.addr(),
                    slots.join(",")
                ));
            }
        }
        for w in warnings {
            self.on_error(w);
        }
        if !open.is_empty() {
            result = false;
            let list: Vec<String> = open.keys().map(u32::to_string).collect();
            self.out.log(
                Level::Err,
                &format!(
                    "[WARNING] The following slots are open: {}.\n",
                    list.join(",")
                ),
            );
            if self.opts.fix {
                for &slot in open.keys() {
                    match self.fix_open_slot(slot as usize) {
                        crate::fix::FixOutcome::Done => result = true,
                        crate::fix::FixOutcome::Failed => {
                            result = false;
                            break;
                        }
                        crate::fix::FixOutcome::Refused => {
                            self.aborted = true;
                            return false;
                        }
                    }
                }
            }
        }
        self.out.log(Level::Info, ">>> Check slots coverage...\n");
        let mut covered = vec![false; CLUSTER_SLOTS];
        for n in &self.nodes {
            for s in n.slots.iter() {
                if let Some(c) = covered.get_mut(s) {
                    *c = true;
                }
            }
        }
        if covered.iter().all(|&c| c) {
            self.out.log(
                Level::Ok,
                &format!("[OK] All {CLUSTER_SLOTS} slots covered.\n"),
            );
        } else {
            self.on_error(format!(
                "[ERR] Not all {CLUSTER_SLOTS} slots are covered by nodes.\n"
            ));
            result = false;
            if self.opts.fix {
                match self.fix_slots_coverage(&covered) {
                    Ok(fixed) if fixed > 0 => result = true,
                    Ok(_) | Err(crate::fix::FixOutcome::Failed | crate::fix::FixOutcome::Done) => {}
                    Err(crate::fix::FixOutcome::Refused) => {
                        self.aborted = true;
                        return false;
                    }
                }
            }
        }
        if self.opts.search_multiple_owners {
            result &= self.check_multiple_owners();
        }
        result
    }

    fn check_multiple_owners(&mut self) -> bool {
        self.out
            .log(Level::Info, ">>> Check for multiple slot owners...\n");
        let mut result = true;
        let mut found = 0;
        for slot in 0..CLUSTER_SLOTS {
            let mut owners = Vec::new();
            for n in &mut self.nodes {
                if n.is_replica() {
                    continue;
                }
                if n.slots.contains(slot) {
                    owners.push(n.addr());
                } else {
                    let s = slot.to_string();
                    if let Ok(ferrodis_resp::Frame::Integer(c)) =
                        n.call(&["CLUSTER", "COUNTKEYSINSLOT", s.as_str()])
                    {
                        if c > 0 {
                            owners.push(n.addr());
                        }
                    }
                }
            }
            if owners.len() > 1 {
                result = false;
                found += 1;
                self.out.log(
                    Level::Err,
                    &format!("[WARNING] Slot {slot} has {} owners:\n", owners.len()),
                );
                for o in owners {
                    self.out.log(Level::Err, &format!("    {o}\n"));
                }
            }
        }
        if found == 0 {
            self.out.log(Level::Ok, "[OK] No multiple owners found.\n");
        }
        result
    }

    /// `info host:port`.
    pub fn info(&mut self, args: &[String]) -> bool {
        if !self.load_from_args(args) {
            return false;
        }
        self.show_cluster_info();
        true
    }

    /// `check host:port`.
    pub fn check(&mut self, args: &[String]) -> bool {
        if !self.load_from_args(args) {
            return false;
        }
        self.show_cluster_info();
        self.check_cluster(false)
    }

    /// `call host:port command args...`: the command on every node.
    pub fn call(&mut self, args: &[String]) -> bool {
        if !self.load_from_args(args.get(..1).unwrap_or_default()) {
            return false;
        }
        let cmd = args.get(1..).unwrap_or_default();
        self.out.log(Level::Info, ">>> Calling");
        let mut line = String::new();
        for a in cmd {
            line.push(' ');
            line.push_str(a);
        }
        line.push('\n');
        self.out.print(&line);
        let mut nodes = std::mem::take(&mut self.nodes);
        for n in &mut nodes {
            if self.opts.only_masters && n.replicate.is_some() {
                continue;
            }
            if self.opts.only_replicas && n.replicate.is_none() {
                continue;
            }
            if n.conn.is_none() && !self.connect(n) {
                continue;
            }
            match n.call(cmd) {
                Ok(reply) => {
                    self.out.print(&format!("{}: ", n.addr()));
                    self.out.print_bytes(&format::raw(&reply, b"\n"));
                    self.out.print("\n");
                }
                Err(_) => self.out.print(&format!("{}: Failed!\n", n.addr())),
            }
        }
        self.nodes = nodes;
        true
    }

    /// `set-timeout host:port ms`: `cluster-node-timeout` on every node,
    /// saved with `CONFIG REWRITE`.
    pub fn set_timeout(&mut self, args: &[String]) -> bool {
        let Some((ip, port)) = host_from_args(args.get(..1).unwrap_or_default()) else {
            self.out.eprint(INVALID_HOST_ARG);
            return false;
        };
        let timeout = crate::cluster::atoi(args.get(1).map(String::as_str).unwrap_or_default());
        if timeout < 100 {
            self.out
                .eprint("Setting a node timeout of less than 100 milliseconds is a bad idea.\n");
            return false;
        }
        if !self.load_from(ClusterNode::new(&ip, port, None)) {
            return false;
        }
        self.out.log(
            Level::Info,
            ">>> Reconfiguring node timeout in every cluster node...\n",
        );
        let (mut ok, mut failed) = (0, 0);
        let value = timeout.to_string();
        let mut nodes = std::mem::take(&mut self.nodes);
        for n in &mut nodes {
            let result = n
                .call_ok(&["CONFIG", "SET", "cluster-node-timeout", value.as_str()])
                .and_then(|_| n.call_ok(&["CONFIG", "REWRITE"]));
            match result {
                Ok(_) => {
                    self.out.log(
                        Level::Warn,
                        &format!("*** New timeout set for {}\n", n.addr()),
                    );
                    ok += 1;
                }
                Err(e) => {
                    let msg = match e {
                        Error::Reply { message, .. } => message,
                        _ => String::new(),
                    };
                    self.out.log(
                        Level::Err,
                        &format!("ERR setting node-timeout for {}: {msg}\n", n.addr()),
                    );
                    failed += 1;
                }
            }
        }
        self.nodes = nodes;
        self.out.log(
            Level::Info,
            &format!(">>> New node timeout set. {ok} OK, {failed} ERR.\n"),
        );
        true
    }

    /// `create host:port...`: plans masters and replicas, asks, then
    /// assigns slots, joins the nodes and checks the result.
    pub fn create(&mut self, args: &[String], input: &mut dyn Read) -> bool {
        for addr in args {
            let Some((ip, port, _)) = parse_address(addr) else {
                self.out
                    .eprint(&format!("Invalid address format: {addr}\n"));
                return false;
            };
            let mut node = ClusterNode::new(&ip, port, None);
            if !self.connect(&mut node) {
                return false;
            }
            match node.is_cluster() {
                Ok(true) => {}
                Ok(false) => {
                    self.out.log(
                        Level::Err,
                        &format!(
                            "[ERR] Node {} is not configured as a cluster node.\n",
                            node.addr()
                        ),
                    );
                    return false;
                }
                Err(e) => {
                    let msg = match e {
                        Error::Reply { message, .. } => message,
                        other => other.to_string(),
                    };
                    self.out
                        .log(Level::Err, &format!("[ERR] Node {} {msg}\n", node.addr()));
                    return false;
                }
            }
            if let Err(e) = node.load_info(false) {
                self.report(&node, &e);
                return false;
            }
            match node.is_empty() {
                Ok(true) => {}
                Ok(false) => {
                    self.out.log(
                        Level::Err,
                        &format!(
                            "[ERR] Node {} is not empty. Either the node already knows other \
                             nodes (check with CLUSTER NODES) or contains some key in database 0.\n",
                            node.addr()
                        ),
                    );
                    return false;
                }
                Err(e) => {
                    let msg = match e {
                        Error::Reply { message, .. } => message,
                        other => other.to_string(),
                    };
                    self.out
                        .log(Level::Err, &format!("[ERR] Node {} {msg}\n", node.addr()));
                    return false;
                }
            }
            self.nodes.push(node);
        }
        let replicas = self.opts.replicas;
        let node_len = self.nodes.len();
        let masters_count = node_len / (replicas + 1);
        if masters_count < 3 {
            self.out.log(
                Level::Err,
                &format!(
                    "*** ERROR: Invalid configuration for cluster creation.\n\
                     *** Redis Cluster requires at least 3 master nodes.\n\
                     *** This is not possible with {node_len} nodes and {replicas} replicas per node."
                ),
            );
            self.out.log(
                Level::Err,
                &format!(
                    "\n*** At least {} nodes are required.\n",
                    3 * (replicas + 1)
                ),
            );
            return false;
        }
        self.out.log(
            Level::Info,
            &format!(">>> Performing hash slots allocation on {node_len} nodes...\n"),
        );
        let plan = crate::plan::allocate(&self.nodes, replicas);
        for line in &plan.lines {
            self.out.print(line);
        }
        for (i, slots) in &plan.master_slots {
            if let Some(n) = self.nodes.get_mut(*i) {
                n.slots = slots.clone();
                n.slots_count = slots.count();
                n.dirty = true;
            }
        }
        for (replica, master) in &plan.replica_of {
            let name = self.nodes.get(*master).map(|m| m.name.clone());
            if let (Some(name), Some(r)) = (name, self.nodes.get_mut(*replica)) {
                r.replicate = Some(name);
                r.dirty = true;
            }
        }
        self.optimize_anti_affinity(&plan.ip_groups);
        self.show_nodes();
        if !self.confirm("Can I set the above configuration?", input) {
            return true;
        }
        self.apply_plan()
    }

    fn confirm(&mut self, question: &str, input: &mut dyn Read) -> bool {
        if self.opts.yes {
            return true;
        }
        self.out
            .print(&format!("{question} (type 'yes' to accept): "));
        self.out.flush();
        read_yes(input)
    }

    /// Sends the planned configuration of one node: slots to a master,
    /// `CLUSTER REPLICATE` to a replica. `Ok(false)` when nothing was dirty.
    fn flush_node_config(node: &mut ClusterNode) -> Result<bool, Error> {
        if !node.dirty {
            return Ok(false);
        }
        if let Some(master) = node.replicate.clone() {
            node.call_ok(&["CLUSTER", "REPLICATE", master.as_str()])?;
        } else {
            let mut cmd = vec!["CLUSTER".to_owned(), "ADDSLOTS".to_owned()];
            cmd.extend(node.slots.iter().map(|s| s.to_string()));
            if cmd.len() == 2 {
                return Ok(false);
            }
            node.call_ok(&cmd)?;
        }
        node.dirty = false;
        Ok(true)
    }

    fn apply_plan(&mut self) -> bool {
        let mut nodes = std::mem::take(&mut self.nodes);
        for node in &mut nodes {
            let result = Self::flush_node_config(node);
            if node.dirty && node.replicate.is_none() && !matches!(result, Ok(true)) {
                if let Err(Error::Reply { message, .. }) = &result {
                    self.out.reply_error(&node.addr(), message);
                }
                self.nodes = nodes;
                return false;
            }
        }
        self.out
            .log(Level::Info, ">>> Nodes configuration updated\n");
        self.out.log(
            Level::Info,
            ">>> Assign a different config epoch to each node\n",
        );
        for (epoch, node) in nodes.iter_mut().enumerate() {
            let e = (epoch + 1).to_string();
            let _ = node.call(&["cluster", "set-config-epoch", e.as_str()]);
        }
        self.out.log(
            Level::Info,
            ">>> Sending CLUSTER MEET messages to join the cluster\n",
        );
        let Some((first_ip, first_port, first_bus)) =
            nodes.first().map(|f| (f.ip.clone(), f.port, f.bus_port))
        else {
            return false;
        };
        let resolved = (first_ip.as_str(), first_port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .map(|a| a.ip().to_string());
        let Some(meet_ip) = resolved else {
            self.out.eprint(&format!(
                "Invalid IP address or hostname specified: {first_ip}\n"
            ));
            return false;
        };
        for node in nodes.iter_mut().skip(1) {
            let port = first_port.to_string();
            let bus = first_bus.to_string();
            let reply = if u32::from(first_bus)
                == u32::from(first_port) + crate::cluster::BUS_PORT_INCR
                || first_bus == 0
            {
                node.call(&["cluster", "meet", meet_ip.as_str(), port.as_str()])
            } else {
                node.call(&[
                    "cluster",
                    "meet",
                    meet_ip.as_str(),
                    port.as_str(),
                    bus.as_str(),
                ])
            };
            match reply {
                Ok(r) => {
                    if let Some(msg) = error_text(&r) {
                        self.out.reply_error(&node.addr(), &msg);
                        return false;
                    }
                }
                Err(_) => {
                    self.out.eprint("Failed to send CLUSTER MEET command.\n");
                    return false;
                }
            }
        }
        self.nodes = nodes;
        std::thread::sleep(Duration::from_secs(1));
        if !self.wait_for_cluster_join() {
            return false;
        }
        let mut nodes = std::mem::take(&mut self.nodes);
        for node in &mut nodes {
            if !node.dirty {
                continue;
            }
            let result = Self::flush_node_config(node);
            if !matches!(result, Ok(true)) && node.replicate.is_none() {
                if let Err(Error::Reply { message, .. }) = &result {
                    self.out.reply_error(&node.addr(), message);
                }
                return false;
            }
        }
        let mut first = nodes.into_iter().next();
        let Some(mut first) = first.take() else {
            return false;
        };
        let _ = first.conn.take();
        let first = ClusterNode::new(&first.ip, first.port, Some(first.bus_port));
        if !self.load_from(first) {
            return false;
        }
        self.check_cluster(false);
        true
    }

    /// Waits until all nodes agree on the configuration, a dot a second;
    /// after a while, says which links are down. False only when
    /// [`Options::join_timeout`] runs out.
    pub(crate) fn wait_for_cluster_join(&mut self) -> bool {
        self.out.print("Waiting for the cluster to join\n");
        self.out.flush();
        let started = std::time::Instant::now();
        let check_after = 20 + (self.nodes.len() as f32 * 0.15) as u32;
        let mut counter = 0;
        while !self.is_config_consistent() {
            self.out.print(".");
            self.out.flush();
            std::thread::sleep(Duration::from_secs(1));
            if self
                .opts
                .join_timeout
                .is_some_and(|t| started.elapsed() > t)
            {
                self.out.print("\n");
                self.out
                    .log(Level::Err, "[ERR] The nodes did not agree in time.\n");
                return false;
            }
            counter += 1;
            if counter > check_after {
                self.report_unreachable();
                counter = 0;
            }
        }
        self.out.print("\n");
        true
    }

    fn report_unreachable(&mut self) {
        let mut down: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for n in &mut self.nodes {
            let Ok(text) = n.call_text(&["CLUSTER", "NODES"], "CLUSTER NODES") else {
                continue;
            };
            for line in text.lines().filter_map(NodesLine::parse) {
                if line.has_flag("myself") {
                    continue;
                }
                if line.has_flag("disconnected")
                    || line.link_state.contains("disconnected")
                    || line.has_flag("handshake")
                {
                    down.entry(line.addr.clone()).or_default().push(n.addr());
                }
            }
        }
        if down.is_empty() {
            return;
        }
        self.out.print("\n");
        self.out.log(
            Level::Err,
            &format!("Warning: {} node(s) may be unreachable\n", down.len()),
        );
        for (addr, from) in down {
            match parse_address(&addr) {
                Some((ip, _, Some(bus))) if bus != 0 => self.out.log(
                    Level::Err,
                    &format!(" - The port {bus} of node {ip} may be unreachable from:\n"),
                ),
                _ => self.out.log(
                    Level::Err,
                    &format!(" - Node {addr} may be unreachable from:\n"),
                ),
            }
            for f in from {
                self.out.log(Level::Err, &format!("   {f}\n"));
            }
            self.out.log(
                Level::Err,
                "Cluster bus ports must be reachable by every node.\nRemember that cluster bus \
                 ports are different from standard instance ports.\n",
            );
        }
    }

    /// The anti-affinity score of the planned replicas (10000 for each
    /// replica on its master's host, 1 for replicas of one master sharing
    /// a host) and the replicas to blame.
    fn anti_affinity(&self, ip_groups: &[Vec<usize>]) -> (usize, Vec<usize>) {
        crate::plan::anti_affinity_score(&self.nodes, ip_groups)
    }

    /// Swaps the masters of random offending replicas while that does not
    /// make the score worse (`clusterManagerOptimizeAntiAffinity`).
    fn optimize_anti_affinity(&mut self, ip_groups: &[Vec<usize>]) {
        let (score, _) = self.anti_affinity(ip_groups);
        if score == 0 {
            return;
        }
        self.out.log(
            Level::Info,
            ">>> Trying to optimize slaves allocation for anti-affinity\n",
        );
        let mut maxiter = 500 * self.nodes.len();
        while maxiter > 0 {
            let (score, offenders) = self.anti_affinity(ip_groups);
            if score == 0 || offenders.is_empty() {
                break;
            }
            let first = offenders
                .get(self.rng.below(offenders.len()))
                .copied()
                .unwrap_or(0);
            let others: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| i != first && self.nodes.get(i).is_some_and(|n| n.replicate.is_some()))
                .collect();
            if others.is_empty() {
                break;
            }
            let second = others
                .get(self.rng.below(others.len()))
                .copied()
                .unwrap_or(0);
            let a = self.nodes.get(first).and_then(|n| n.replicate.clone());
            let b = self.nodes.get(second).and_then(|n| n.replicate.clone());
            self.set_replicate(first, b.clone());
            self.set_replicate(second, a.clone());
            let (new_score, _) = self.anti_affinity(ip_groups);
            if new_score > score {
                self.set_replicate(first, a);
                self.set_replicate(second, b);
            }
            maxiter -= 1;
        }
        let (score, _) = self.anti_affinity(ip_groups);
        if score == 0 {
            self.out
                .log(Level::Ok, "[OK] Perfect anti-affinity obtained!\n");
        } else if score >= 10000 {
            self.out.log(
                Level::Warn,
                "[WARNING] Some slaves are in the same host as their master\n",
            );
        } else {
            self.out.log(
                Level::Warn,
                "[WARNING] Some slaves of the same master are in the same host\n",
            );
        }
    }

    fn set_replicate(&mut self, i: usize, master: Option<String>) {
        if let Some(n) = self.nodes.get_mut(i) {
            n.replicate = master;
            n.dirty = true;
        }
    }
}
