//! `backup host:port backup_directory`, as `redis-cli --cluster backup`
//! 7.0 does it: the cluster check, then every master's RDB fetched over
//! the replication handshake (`SYNC`) into
//! `redis-node-<ip>-<port>-<id>.rdb`, and `nodes.json` describing every
//! node (name, host, port, replicate, slots as `[first,last]` ranges,
//! slots_count, flags, current_epoch, and cluster_errors / migrating /
//! importing when there are any).

use std::fs::File;
use std::io::Write;

use crate::cluster::ClusterNode;
use crate::conn::Conn;
use crate::manager::Manager;
use crate::output::{Level, Output};

/// The length of the end-of-payload mark of a diskless transfer
/// (`$EOF:<40 bytes>`).
const EOF_MARK_SIZE: usize = 40;

/// `dir/` + `name`, adding the slash only when `dir` lacks one.
fn in_dir(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The node's entry of `nodes.json`, field for field as redis-cli writes it.
pub fn node_json(node: &ClusterNode, error_count: usize) -> String {
    let replicate = match &node.replicate {
        Some(id) => format!("\"{id}\""),
        None => "null".to_owned(),
    };
    let mut ranges: Vec<String> = Vec::new();
    let mut start: Option<usize> = None;
    let mut last = 0usize;
    for slot in node.slots.iter() {
        match start {
            Some(_) if slot == last + 1 => {}
            Some(s) => {
                ranges.push(range_json(s, last));
                start = Some(slot);
            }
            None => start = Some(slot),
        }
        last = slot;
    }
    if let Some(s) = start {
        ranges.push(range_json(s, last));
    }
    let mut json = format!(
        "  {{\n    \"name\": \"{}\",\n    \"host\": \"{}\",\n    \"port\": {},\n    \
         \"replicate\": {},\n    \"slots\": [{}],\n    \"slots_count\": {},\n    \
         \"flags\": \"{}\",\n    \"current_epoch\": {}",
        node.name,
        node.ip,
        node.port,
        replicate,
        ranges.join(","),
        node.slots_count,
        node.flags_string(),
        node.current_epoch
    );
    if error_count > 0 {
        json.push_str(&format!(",\n    \"cluster_errors\": {error_count}"));
    }
    let pairs = |list: &[(String, String)]| {
        list.iter()
            .map(|(slot, other)| format!("\"{slot}\": \"{other}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    if !node.migrating.is_empty() {
        json.push_str(&format!(
            ",\n    \"migrating\": {{{}}}",
            pairs(&node.migrating)
        ));
    }
    if !node.importing.is_empty() {
        json.push_str(&format!(
            ",\n    \"importing\": {{{}}}",
            pairs(&node.importing)
        ));
    }
    json.push_str("\n  }");
    json
}

fn range_json(first: usize, last: usize) -> String {
    if first == last {
        format!("[{first}]")
    } else {
        format!("[{first},{last}]")
    }
}

/// Why fetching one RDB failed: the text redis-cli prints before exiting.
type FetchError = String;

/// Reads the `$<len>` (or `$EOF:<mark>`) line that answers `SYNC`, skipping
/// the newlines a master sends while it prepares the payload.
fn sync_header(conn: &mut Conn) -> Result<Vec<u8>, FetchError> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match conn.read_raw(&mut byte) {
            Ok(1) => {}
            _ => return Err("Error reading bulk length while SYNCing\n".to_owned()),
        }
        match byte {
            [b'\n'] if line.is_empty() => {}
            [b'\n'] => break,
            [b] => line.push(b),
        }
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(line)
}

/// Sends `SYNC` on `conn` and writes the payload into `path`.
fn fetch_rdb(conn: &mut Conn, path: &str, out: &mut Output<'_>) -> Result<(), FetchError> {
    if conn.write_raw(b"SYNC\r\n").is_err() {
        return Err("Error writing to master\n".to_owned());
    }
    let header = sync_header(conn)?;
    if header.first() == Some(&b'-') {
        return Err(format!(
            "SYNC with master failed: {}\n",
            String::from_utf8_lossy(&header)
        ));
    }
    let rest = header.get(1..).unwrap_or_default();
    let mark: Option<Vec<u8>> = rest
        .strip_prefix(b"EOF:")
        .filter(|m| m.len() >= EOF_MARK_SIZE)
        .and_then(|m| m.get(..EOF_MARK_SIZE))
        .map(<[u8]>::to_vec);
    let mut remaining: u64 = match &mark {
        Some(_) => u64::MAX,
        None => String::from_utf8_lossy(rest).trim().parse().unwrap_or(0),
    };
    if mark.is_some() {
        out.eprint(&format!(
            "SYNC sent to master, writing bytes of bulk transfer until EOF marker to '{path}'\n"
        ));
    } else {
        out.eprint(&format!(
            "SYNC sent to master, writing {remaining} bytes to '{path}'\n"
        ));
    }
    let mut file =
        File::create(path).map_err(|e| format!("Error opening '{path}': {}\n", os_text(&e)))?;
    let mut buf = [0u8; 4096];
    let mut written: u64 = 0;
    let mut tail: Vec<u8> = Vec::with_capacity(EOF_MARK_SIZE * 2);
    while remaining > 0 {
        let want = usize::try_from(remaining.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = match conn.read_raw(buf.get_mut(..want).unwrap_or_default()) {
            Ok(n) if n > 0 => n,
            _ => return Err("I/O Error reading RDB payload from socket\n".to_owned()),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        file.write_all(chunk)
            .map_err(|e| format!("Error writing data to file: {}\n", os_text(&e)))?;
        remaining -= n as u64;
        written += n as u64;
        if let Some(m) = &mark {
            tail.extend_from_slice(chunk);
            if tail.len() > EOF_MARK_SIZE {
                tail.drain(..tail.len() - EOF_MARK_SIZE);
            }
            if tail == *m {
                break;
            }
        }
    }
    if mark.is_some() {
        let len = written.saturating_sub(EOF_MARK_SIZE as u64);
        if let Err(e) = file.set_len(len) {
            out.eprint(&format!("ftruncate failed: {}.\n", os_text(&e)));
        }
        out.eprint(&format!(
            "Transfer finished with success after {len} bytes\n"
        ));
    } else {
        out.eprint("Transfer finished with success.\n");
    }
    file.sync_all()
        .map_err(|e| format!("Fail to fsync '{path}': {}\n", os_text(&e)))?;
    Ok(())
}

/// The OS's text for an I/O error, without Rust's ` (os error N)`.
fn os_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(at) => s.get(..at).unwrap_or(&s).to_owned(),
        None => s,
    }
}

impl Manager<'_, '_> {
    /// `backup host:port backup_directory`.
    pub fn backup(&mut self, args: &[String]) -> bool {
        if !self.load_from_args(args.get(..1).unwrap_or_default()) {
            return false;
        }
        let no_issues = self.check_cluster(false);
        let error_count = if no_issues { 0 } else { self.errors.len() };
        let dir = args.get(1).cloned().unwrap_or_default();
        let mut entries = Vec::new();
        let mut nodes = std::mem::take(&mut self.nodes);
        let mut failed = None;
        for node in &mut nodes {
            entries.push(node_json(node, error_count));
            if node.replicate.is_some() {
                continue;
            }
            self.out.log(
                Level::Info,
                &format!(">>> Node {}:{} -> Saving RDB...\n", node.ip, node.port),
            );
            self.out.flush();
            let path = in_dir(
                &dir,
                &format!("redis-node-{}-{}-{}.rdb", node.ip, node.port, node.name),
            );
            let result = match node.conn.as_mut() {
                Some(conn) => fetch_rdb(conn, &path, self.out),
                None => Err(format!(
                    "Could not connect to Redis at {}:{}\n",
                    node.ip, node.port
                )),
            };
            // The connection carried a replication stream: never reuse it.
            node.conn = None;
            if let Err(e) = result {
                failed = Some(e);
                break;
            }
        }
        self.nodes = nodes;
        if let Some(e) = failed {
            // redis-cli exits at once with status 1 on a failed transfer.
            self.out.flush();
            self.out.eprint(&e);
            return false;
        }
        let json = format!("[\n{}\n]", entries.join(",\n"));
        let json_path = in_dir(&dir, "nodes.json");
        self.out.flush();
        self.out.log(
            Level::Info,
            &format!("Saving cluster configuration to: {json_path}\n"),
        );
        let saved = File::create(&json_path).and_then(|mut f| f.write_all(json.as_bytes()));
        if saved.is_err() {
            self.out.log(
                Level::Err,
                &format!("Could not save nodes to: {json_path}\n"),
            );
            self.out.log(Level::Ok, "[ERR] Failed to back cluster!\n");
            return false;
        }
        if !no_issues {
            self.out.log(
                Level::Warn,
                "*** Cluster seems to have some problems, please be aware of it if you're going to restore this backup.\n",
            );
        }
        self.out
            .log(Level::Ok, &format!("[OK] Backup created into: {dir}\n"));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_entry_has_redis_cli_fields() {
        let mut n = ClusterNode::new("127.0.0.1", 7000, None);
        n.name = "abc".into();
        n.flags = vec!["myself".into(), "master".into()];
        for s in [0, 1, 2, 5] {
            n.slots.insert(s);
        }
        n.slots_count = 4;
        n.current_epoch = 3;
        n.migrating = vec![("5".into(), "def".into())];
        let j = node_json(&n, 0);
        assert_eq!(
            j,
            "  {\n    \"name\": \"abc\",\n    \"host\": \"127.0.0.1\",\n    \"port\": 7000,\n    \
             \"replicate\": null,\n    \"slots\": [[0,2],[5]],\n    \"slots_count\": 4,\n    \
             \"flags\": \"master\",\n    \"current_epoch\": 3,\n    \"migrating\": {\"5\": \"def\"}\n  }"
        );
        assert!(node_json(&n, 2).contains(",\n    \"cluster_errors\": 2"));
    }

    #[test]
    fn paths_get_one_slash() {
        assert_eq!(in_dir("/a/", "x"), "/a/x");
        assert_eq!(in_dir("/a", "x"), "/a/x");
    }
}
