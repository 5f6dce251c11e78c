//! A cluster as the administration tool sees it: one [`ClusterNode`] per
//! reachable node, loaded from each node's own `CLUSTER NODES` line, and
//! the pure parts of reading that reply (addresses, flags, slots, the
//! configuration signature that tells whether nodes agree).

use crate::conn::{error_text, string_bytes, Conn, ConnectOptions};
use crate::error::{Error, Result};

/// Hash slots in a Redis Cluster.
pub const CLUSTER_SLOTS: usize = 16384;

/// Bus port = client port + this, unless the node says otherwise.
pub const BUS_PORT_INCR: u32 = 10000;

/// `ip:port[@bus_port][,hostname]` split as redis-cli splits it (the last
/// `@`, then the last `:`); `None` without a `:`.
pub fn parse_address(addr: &str) -> Option<(String, u16, Option<u16>)> {
    let (rest, bus) = match addr.rfind('@') {
        Some(at) => (&addr[..at], Some(atoi(&addr[at + 1..]))),
        None => (addr, None),
    };
    let colon = rest.rfind(':')?;
    let port = atoi(&rest[colon + 1..]);
    let bus = bus.map(|b| u16::try_from(b).unwrap_or(0));
    Some((
        rest[..colon].to_owned(),
        u16::try_from(port).unwrap_or(0),
        bus,
    ))
}

/// C's `atoi`: leading blanks, an optional sign, then digits; 0 if none.
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for c in digits.bytes() {
        if !c.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(c - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// One line of `CLUSTER NODES`, split into its fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NodesLine {
    /// The node ID.
    pub name: String,
    /// `ip:port@cport[,hostname]`.
    pub addr: String,
    /// The comma-separated flags, in order.
    pub flags: Vec<String>,
    /// The master's ID for a replica (`-` otherwise).
    pub master_id: String,
    /// Milliseconds of the last ping sent.
    pub ping_sent: i64,
    /// Milliseconds of the last pong received.
    pub ping_recv: i64,
    /// The node's config epoch.
    pub config_epoch: u64,
    /// `connected` or `disconnected`.
    pub link_state: String,
    /// The slot fields: `0-5460`, `7`, `[93->-id]`, `[93-<-id]`.
    pub slots: Vec<String>,
}

impl NodesLine {
    /// Parses one line; `None` when it has fewer than three fields.
    pub fn parse(line: &str) -> Option<NodesLine> {
        let mut fields = line.split(' ');
        let name = fields.next()?.to_owned();
        let addr = fields.next()?.to_owned();
        let flags = fields.next()?;
        let master_id = fields.next().unwrap_or_default().to_owned();
        let ping_sent = atoi(fields.next().unwrap_or_default());
        let ping_recv = atoi(fields.next().unwrap_or_default());
        let config_epoch = u64::try_from(atoi(fields.next().unwrap_or_default())).unwrap_or(0);
        let link_state = fields.next().unwrap_or_default().to_owned();
        Some(NodesLine {
            name,
            addr,
            flags: flags
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            master_id,
            ping_sent,
            ping_recv,
            config_epoch,
            link_state,
            slots: fields
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Whether the flags include `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// The slots of a node, as a set of 16384 flags.
#[derive(Clone, PartialEq, Eq)]
pub struct SlotSet(Vec<bool>);

impl std::fmt::Debug for SlotSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotSet({})", self.ranges_string())
    }
}

impl Default for SlotSet {
    fn default() -> Self {
        SlotSet(vec![false; CLUSTER_SLOTS])
    }
}

impl SlotSet {
    /// Whether `slot` is in the set.
    pub fn contains(&self, slot: usize) -> bool {
        self.0.get(slot).copied().unwrap_or(false)
    }

    /// Adds `slot` (ignored when out of range); whether it was new.
    pub fn insert(&mut self, slot: usize) -> bool {
        match self.0.get_mut(slot) {
            Some(s) if !*s => {
                *s = true;
                true
            }
            _ => false,
        }
    }

    /// Removes `slot`; whether it was there.
    pub fn remove(&mut self, slot: usize) -> bool {
        match self.0.get_mut(slot) {
            Some(s) if *s => {
                *s = false;
                true
            }
            _ => false,
        }
    }

    /// How many slots are in the set.
    pub fn count(&self) -> usize {
        self.0.iter().filter(|&&s| s).count()
    }

    /// The slots in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(i, &s)| s.then_some(i))
    }

    /// `[0-5460],[5462]` as redis-cli prints a node's slots.
    pub fn ranges_string(&self) -> String {
        let mut out = String::new();
        let mut start: Option<usize> = None;
        let mut last = 0;
        for slot in self.iter().chain(std::iter::once(usize::MAX)) {
            match start {
                Some(_) if slot == last + 1 => last = slot,
                Some(s) => {
                    if !out.is_empty() {
                        out.push(',');
                    }
                    if s == last {
                        out.push_str(&format!("[{s}]"));
                    } else {
                        out.push_str(&format!("[{s}-{last}]"));
                    }
                    start = Some(slot);
                    last = slot;
                }
                None => {
                    start = Some(slot);
                    last = slot;
                }
            }
        }
        out
    }
}

/// A node of the cluster being administered.
#[derive(Debug, Default)]
pub struct ClusterNode {
    /// The node ID (empty until loaded).
    pub name: String,
    /// The host it is reached at.
    pub ip: String,
    /// Its client port.
    pub port: u16,
    /// Its cluster bus port.
    pub bus_port: u16,
    /// Its flags as `CLUSTER NODES` lists them.
    pub flags: Vec<String>,
    /// The master's ID, for a replica (or a replica to be).
    pub replicate: Option<String>,
    /// The slots it serves (or is to serve).
    pub slots: SlotSet,
    /// How many slots it serves.
    pub slots_count: usize,
    /// `(slot, destination id)` of slots it is migrating.
    pub migrating: Vec<(String, String)>,
    /// `(slot, source id)` of slots it is importing.
    pub importing: Vec<(String, String)>,
    /// How many known nodes replicate it.
    pub replicas_count: usize,
    /// Its config epoch.
    pub current_epoch: u64,
    /// Planned changes not yet sent to the node.
    pub dirty: bool,
    /// The connection, once open.
    pub conn: Option<Conn>,
}

impl ClusterNode {
    /// A node at `ip:port`, nothing loaded yet.
    pub fn new(ip: &str, port: u16, bus_port: Option<u16>) -> ClusterNode {
        let bus = bus_port
            .filter(|&b| b != 0)
            .unwrap_or_else(|| u16::try_from(u32::from(port) + BUS_PORT_INCR).unwrap_or(0));
        ClusterNode {
            ip: ip.to_owned(),
            port,
            bus_port: bus,
            ..ClusterNode::default()
        }
    }

    /// `ip:port`.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// Whether the node is a replica.
    pub fn is_replica(&self) -> bool {
        self.has_flag("slave")
    }

    /// Whether the flags include `flag`.
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    /// The flags without `myself`, comma-separated.
    pub fn flags_string(&self) -> String {
        self.flags
            .iter()
            .filter(|f| *f != "myself")
            .cloned()
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Opens the connection (authenticating with `opts`) if not open yet.
    pub fn connect(&mut self, opts: &ConnectOptions) -> Result<()> {
        if self.conn.is_none() {
            self.conn = Some(Conn::open(&self.ip, self.port, opts)?);
        }
        Ok(())
    }

    /// Sends a command and reads its reply (connect first).
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<ferrodis_resp::Frame> {
        match self.conn.as_mut() {
            Some(c) => c.call(args),
            None => Err(Error::Closed),
        }
    }

    /// A command whose reply must not be an error: [`Error::Reply`] if it is.
    pub fn call_ok<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<ferrodis_resp::Frame> {
        let reply = self.call(args)?;
        match error_text(&reply) {
            Some(message) => Err(Error::Reply {
                addr: self.addr(),
                message,
            }),
            None => Ok(reply),
        }
    }

    /// A command whose reply is a string (INFO, CLUSTER NODES).
    pub fn call_text(&mut self, args: &[&str], what: &'static str) -> Result<String> {
        let reply = self.call_ok(args)?;
        match string_bytes(&reply) {
            Some(b) => Ok(String::from_utf8_lossy(b).into_owned()),
            None => Err(Error::UnexpectedReply {
                addr: self.addr(),
                command: what,
            }),
        }
    }

    /// Whether `INFO` says `cluster_enabled:1`.
    pub fn is_cluster(&mut self) -> Result<bool> {
        let info = self.call_text(&["INFO"], "INFO")?;
        Ok(info_field(&info, "cluster_enabled").is_some_and(|v| atoi(v) != 0))
    }

    /// Whether the node holds no key in db0 and knows no other node.
    pub fn is_empty(&mut self) -> Result<bool> {
        let info = self.call_text(&["INFO"], "INFO")?;
        if info.contains("db0:") {
            return Ok(false);
        }
        let cinfo = self.call_text(&["CLUSTER", "INFO"], "CLUSTER INFO")?;
        Ok(info_field(&cinfo, "cluster_known_nodes").is_some_and(|v| atoi(v) == 1))
    }

    /// Loads this node's own line of `CLUSTER NODES` (ID, flags, slots,
    /// migrations), and returns the other nodes' lines when `friends`.
    pub fn load_info(&mut self, friends: bool) -> Result<Vec<NodesLine>> {
        let text = self.call_text(&["CLUSTER", "NODES"], "CLUSTER NODES")?;
        let mut others = Vec::new();
        for raw in text.split_terminator('\n') {
            let Some(line) = NodesLine::parse(raw) else {
                return Err(Error::UnexpectedReply {
                    addr: self.addr(),
                    command: "CLUSTER NODES",
                });
            };
            if parse_address(&line.addr).is_none() {
                return Err(Error::UnexpectedReply {
                    addr: self.addr(),
                    command: "CLUSTER NODES",
                });
            }
            if line.has_flag("myself") {
                self.apply_own_line(&line);
                if !friends {
                    break;
                }
            } else if friends {
                others.push(line);
            }
        }
        Ok(others)
    }

    /// Takes ID, flags, replication, epoch, slots and open slots from the
    /// node's own line.
    pub fn apply_own_line(&mut self, line: &NodesLine) {
        if let Some((_, _, Some(bus))) = parse_address(&line.addr) {
            self.bus_port = bus;
        }
        self.slots = SlotSet::default();
        self.slots_count = 0;
        self.migrating.clear();
        self.importing.clear();
        for def in &line.slots {
            if let Some(inner) = def.strip_prefix('[') {
                let inner = inner.strip_suffix(']').unwrap_or(inner);
                if let Some((slot, dst)) = inner.split_once("->-") {
                    self.migrating.push((slot.to_owned(), dst.to_owned()));
                } else if let Some((slot, src)) = inner.split_once("-<-") {
                    self.importing.push((slot.to_owned(), src.to_owned()));
                }
            } else if let Some((a, b)) = def.split_once('-') {
                let top = i64::try_from(CLUSTER_SLOTS).unwrap_or(i64::MAX) - 1;
                let (a, b) = (atoi(a).max(0), atoi(b).min(top));
                for s in a..=b {
                    if let Ok(s) = usize::try_from(s) {
                        self.slots.insert(s);
                    }
                }
            } else if !def.is_empty() {
                if let Ok(s) = usize::try_from(atoi(def)) {
                    self.slots.insert(s);
                }
            }
        }
        self.slots_count = self.slots.count();
        self.dirty = false;
        self.apply_line_common(line);
    }

    /// ID, flags, replication and epoch from any line about this node.
    pub fn apply_line_common(&mut self, line: &NodesLine) {
        self.name = line.name.clone();
        self.flags = line.flags.clone();
        if line.has_flag("slave") && !line.master_id.is_empty() {
            self.replicate = Some(line.master_id.clone());
        }
        self.current_epoch = line.config_epoch;
    }

    /// The node as the plan and the check print it (`clusterManagerNodeInfo`
    /// with no indent).
    pub fn info_string(&self) -> String {
        self.info_string_indented(0)
    }

    /// The node as `clusterManagerNodeInfo` prints it with `indent` spaces
    /// before each line (reshard's plan uses 4).
    pub fn info_string_indented(&self, indent: usize) -> String {
        let sp = " ".repeat(indent);
        let mut s = sp.clone();
        let role = if self.is_replica() { "S" } else { "M" };
        if self.dirty && self.replicate.is_some() {
            s.push_str(&format!("S: {} {}:{}", self.name, self.ip, self.port));
        } else {
            s.push_str(&format!(
                "{role}: {} {}:{}\n{sp}   slots:{} ({} slots) {}",
                self.name,
                self.ip,
                self.port,
                self.slots.ranges_string(),
                self.slots_count,
                self.flags_string()
            ));
        }
        if let Some(m) = &self.replicate {
            s.push_str(&format!("\n{sp}   replicates {m}"));
        } else if self.replicas_count > 0 {
            s.push_str(&format!(
                "\n{sp}   {} additional replica(s)",
                self.replicas_count
            ));
        }
        s
    }
}

/// The value of `field:` in an INFO-style text.
pub fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(str::trim_end)
    })
}

/// The signature of a node's view of slot ownership (redis-cli's
/// `clusterManagerGetConfigSignature`): for each node owning slots,
/// `id:ranges` with the ranges sorted, all sorted and joined by `|`.
/// Nodes agree about the configuration when their signatures are equal.
pub fn config_signature(cluster_nodes: &str) -> Option<String> {
    let mut configs = Vec::new();
    for raw in cluster_nodes.split_terminator('\n') {
        let fields: Vec<&str> = raw.split(' ').collect();
        if fields.len() < 9 {
            continue;
        }
        let mut slots: Vec<&str> = fields
            .iter()
            .skip(8)
            .copied()
            .filter(|s| !s.is_empty() && !s.starts_with('['))
            .collect();
        if slots.is_empty() {
            continue;
        }
        slots.sort_unstable();
        configs.push(format!("{}:{}", fields.first()?, slots.join(",")));
    }
    if configs.is_empty() {
        return None;
    }
    configs.sort_unstable();
    Some(configs.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODES: &str = "\
07c3 127.0.0.1:30004@40004 slave e7d1 0 1426238317239 4 connected
67ed 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
e7d1 127.0.0.1:30001@40001,host1 myself,master - 0 0 1 connected 0-5460 [5->-67ed] 7000
";

    #[test]
    fn addresses_split_as_redis_cli_splits_them() {
        assert_eq!(
            parse_address("127.0.0.1:30001@40001,host1"),
            Some(("127.0.0.1".into(), 30001, Some(40001)))
        );
        assert_eq!(parse_address("::1:7000"), Some(("::1".into(), 7000, None)));
        assert_eq!(parse_address("nohost"), None);
    }

    #[test]
    fn own_line_gives_slots_and_open_slots() {
        let mut node = ClusterNode::new("127.0.0.1", 30001, None);
        let line = NODES.lines().nth(2).and_then(NodesLine::parse).unwrap();
        node.apply_own_line(&line);
        assert_eq!(node.name, "e7d1");
        assert_eq!(node.slots_count, 5462);
        assert_eq!(node.slots.ranges_string(), "[0-5460],[7000]");
        assert_eq!(node.migrating, vec![("5".to_owned(), "67ed".to_owned())]);
        assert_eq!(node.flags_string(), "master");
        let replica = NodesLine::parse(NODES.lines().next().unwrap()).unwrap();
        let mut r = ClusterNode::new("127.0.0.1", 30004, None);
        r.apply_own_line(&replica);
        assert_eq!(r.replicate.as_deref(), Some("e7d1"));
        assert!(r.is_replica());
    }

    #[test]
    fn signatures_ignore_order_and_open_slots() {
        let sig = config_signature(NODES).unwrap();
        assert_eq!(sig, "67ed:5461-10922|e7d1:0-5460,7000");
        let reordered: String = NODES.lines().rev().map(|l| format!("{l}\n")).collect();
        assert_eq!(config_signature(&reordered).unwrap(), sig);
    }

    #[test]
    fn garbage_lines_do_not_panic() {
        for junk in [
            "",
            " ",
            "a b",
            "x y z w 1 2 3 connected 10-",
            "a b c - q q q q [",
            "@:@",
        ] {
            let _ = NodesLine::parse(junk);
            let _ = config_signature(junk);
            let _ = parse_address(junk);
            if let Some(l) = NodesLine::parse(junk) {
                ClusterNode::default().apply_own_line(&l);
            }
        }
    }
}
