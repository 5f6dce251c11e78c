//! `local start` / `local stop`: a whole cluster on this machine, for
//! trying things out. Each node runs from a generated `cluster-enabled yes`
//! configuration file in its own directory under the work directory
//! (`<dir>/<port>/node.conf`, with its `nodes.conf`, log and pidfile
//! there), daemonized; `stop` signals the PIDs in the pidfiles.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::manager::{self, Invocation, Options};
use crate::output::{Level, Output};

/// What `local start` starts and where.
#[derive(Debug, Clone)]
pub struct LocalOptions {
    /// Masters to create.
    pub masters: usize,
    /// Replicas per master.
    pub replicas: usize,
    /// The first node's port; the others follow.
    pub port: u16,
    /// The address the nodes bind and announce.
    pub host: String,
    /// The work directory.
    pub dir: PathBuf,
    /// The server program (`ferrodis-node` by default; `redis-server`
    /// works too).
    pub node_binary: Option<PathBuf>,
    /// `cluster-node-timeout` in milliseconds.
    pub node_timeout_ms: u64,
}

impl Default for LocalOptions {
    fn default() -> Self {
        LocalOptions {
            masters: 3,
            replicas: 1,
            port: 7000,
            host: "127.0.0.1".to_owned(),
            dir: PathBuf::from("ferrodis-cluster"),
            node_binary: None,
            node_timeout_ms: 5000,
        }
    }
}

/// The name of each node's configuration file in its directory.
pub const CONFIG_FILE: &str = "node.conf";
/// The name of each node's pidfile in its directory.
pub const PID_FILE: &str = "node.pid";
/// The name of each node's log file in its directory.
pub const LOG_FILE: &str = "node.log";

/// The server program to run: the one asked for, else `ferrodis-node`
/// next to this program, else `ferrodis-node` on the `PATH`.
pub fn node_binary(asked: Option<&Path>) -> PathBuf {
    if let Some(p) = asked {
        return p.to_path_buf();
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("ferrodis-node")));
    match beside {
        Some(p) if p.is_file() => p,
        _ => PathBuf::from("ferrodis-node"),
    }
}

/// The configuration file of one node, in redis.conf syntax.
pub fn node_config(host: &str, port: u16, dir: &Path, timeout_ms: u64) -> String {
    let d = dir.display();
    format!(
        "# Written by ferrodis-trib local start.\n\
         port {port}\n\
         bind {host}\n\
         cluster-enabled yes\n\
         cluster-config-file nodes.conf\n\
         cluster-node-timeout {timeout_ms}\n\
         dir \"{d}\"\n\
         daemonize yes\n\
         pidfile \"{d}/{PID_FILE}\"\n\
         logfile \"{d}/{LOG_FILE}\"\n\
         save \"\"\n\
         appendonly no\n"
    )
}

fn local_err(msg: String) -> Error {
    Error::Local(msg)
}

fn answers_ping(host: &str, port: u16) -> bool {
    let Ok(mut c) = Conn::connect(host, port, Some(Duration::from_millis(500))) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    matches!(c.call(&["PING"]), Ok(ferrodis_resp::Frame::Simple(_)))
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Starts the nodes, creates the cluster (unless the nodes already form
/// it, from an earlier start in the same directory) and says how to
/// connect.
pub fn start(opts: &LocalOptions, cluster: &Options, out: &mut Output<'_>) -> Result<()> {
    if opts.masters < 3 {
        return Err(local_err(
            "A cluster needs at least 3 masters (--masters 3 or more).".to_owned(),
        ));
    }
    let total = opts.masters * (opts.replicas + 1);
    let last = u32::from(opts.port) + u32::try_from(total).unwrap_or(u32::MAX) - 1;
    if last + crate::cluster::BUS_PORT_INCR > u32::from(u16::MAX) {
        return Err(local_err(format!(
            "Ports {}..={last} (and their bus ports, +10000) do not fit.",
            opts.port
        )));
    }
    std::fs::create_dir_all(&opts.dir)
        .map_err(|e| local_err(format!("Cannot create {}: {e}", opts.dir.display())))?;
    let dir = opts
        .dir
        .canonicalize()
        .map_err(|e| local_err(format!("Cannot use {}: {e}", opts.dir.display())))?;
    let binary = node_binary(opts.node_binary.as_deref());
    let ports: Vec<u16> = (0..total)
        .filter_map(|i| u16::try_from(usize::from(opts.port) + i).ok())
        .collect();
    out.log(
        Level::Info,
        &format!(
            ">>> Starting {total} nodes ({} masters, {} replicas each) with {} in {}\n",
            opts.masters,
            opts.replicas,
            binary.display(),
            dir.display()
        ),
    );
    for &port in &ports {
        start_node(&binary, &dir, &opts.host, port, opts.node_timeout_ms)?;
        out.print(&format!("Node {}:{port} started\n", opts.host));
    }
    let known = Conn::connect(&opts.host, opts.port, Some(Duration::from_secs(2)))
        .and_then(|mut c| c.call(&["CLUSTER", "INFO"]))
        .ok()
        .and_then(|f| {
            crate::conn::string_bytes(&f).map(|b| String::from_utf8_lossy(b).into_owned())
        })
        .and_then(|t| {
            crate::cluster::info_field(&t, "cluster_known_nodes").map(crate::cluster::atoi)
        });
    if known == i64::try_from(total).ok() {
        out.log(
            Level::Ok,
            "[OK] The nodes already form a cluster (started before in this directory).\n",
        );
    } else {
        let inv = Invocation {
            command: "create".to_owned(),
            args: ports.iter().map(|p| format!("{}:{p}", opts.host)).collect(),
        };
        let mut create_opts = cluster.clone();
        create_opts.replicas = opts.replicas;
        create_opts.yes = true;
        if create_opts.join_timeout.is_none() {
            create_opts.join_timeout = Some(Duration::from_secs(60));
        }
        let mut no_input = std::io::empty();
        if !manager::run(&inv, &create_opts, out, &mut no_input as &mut dyn Read) {
            return Err(local_err(
                "Creating the cluster failed; the nodes are still running \
                 (ferrodis-trib local stop stops them)."
                    .to_owned(),
            ));
        }
    }
    wait_cluster_ok(&opts.host, &ports, out)?;
    out.print(&format!(
        "\nThe cluster is up. Connect with:\n    ferrodis-cli -c -h {} -p {}\n\
         Stop it with:\n    ferrodis-trib local stop --dir {}\n",
        opts.host,
        opts.port,
        dir.display()
    ));
    Ok(())
}

/// Waits until every node says `cluster_state:ok` (slots known
/// everywhere), so that the cluster serves keys when `start` returns.
fn wait_cluster_ok(host: &str, ports: &[u16], out: &mut Output<'_>) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    for &port in ports {
        loop {
            let ok = Conn::connect(host, port, Some(Duration::from_secs(2)))
                .and_then(|mut c| c.call(&["CLUSTER", "INFO"]))
                .ok()
                .and_then(|f| {
                    crate::conn::string_bytes(&f)
                        .map(|b| String::from_utf8_lossy(b).contains("cluster_state:ok"))
                })
                .unwrap_or(false);
            if ok {
                break;
            }
            if Instant::now() > deadline {
                return Err(local_err(format!(
                    "The node on port {port} does not report cluster_state:ok."
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    out.log(Level::Ok, "[OK] Every node reports cluster_state:ok.\n");
    Ok(())
}

fn start_node(binary: &Path, dir: &Path, host: &str, port: u16, timeout_ms: u64) -> Result<()> {
    let node_dir = dir.join(port.to_string());
    std::fs::create_dir_all(&node_dir)
        .map_err(|e| local_err(format!("Cannot create {}: {e}", node_dir.display())))?;
    let conf = node_dir.join(CONFIG_FILE);
    std::fs::write(&conf, node_config(host, port, &node_dir, timeout_ms))
        .map_err(|e| local_err(format!("Cannot write {}: {e}", conf.display())))?;
    if let Some(pid) = read_pid(&node_dir.join(PID_FILE)) {
        if is_running(pid) && answers_ping(host, port) {
            return Ok(());
        }
    }
    let mut child = Command::new(binary)
        .arg(&conf)
        .current_dir(&node_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| local_err(format!("Cannot run {}: {e}", binary.display())))?;
    let deadline = Instant::now() + Duration::from_secs(20);
    let log = node_dir.join(LOG_FILE);
    loop {
        match child.try_wait() {
            Ok(Some(status)) if !status.success() => {
                return Err(local_err(format!(
                    "{} exited ({status}) starting the node on port {port}; its log says:\n{}",
                    binary.display(),
                    tail(&log)
                )));
            }
            Ok(Some(_)) => {
                // The daemon's parent exited; wait for the node itself.
                if answers_ping(host, port) {
                    return Ok(());
                }
            }
            Ok(None) => {
                if answers_ping(host, port) {
                    // A server that stays in the foreground: remember its pid.
                    let pidfile = node_dir.join(PID_FILE);
                    if read_pid(&pidfile).is_none() {
                        let _ = std::fs::write(&pidfile, format!("{}\n", child.id()));
                    }
                    return Ok(());
                }
            }
            Err(e) => {
                return Err(local_err(format!(
                    "Waiting for the node on port {port}: {e}"
                )))
            }
        }
        if Instant::now() > deadline {
            return Err(local_err(format!(
                "The node on port {port} did not answer in time; its log says:\n{}",
                tail(&log)
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn is_running(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
}

fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Stops every node whose pidfile is under the work directory: SIGTERM,
/// then SIGKILL after 10 seconds. Returns how many were stopped.
pub fn stop(opts: &LocalOptions, out: &mut Output<'_>) -> Result<usize> {
    let entries = std::fs::read_dir(&opts.dir)
        .map_err(|e| local_err(format!("Cannot read {}: {e}", opts.dir.display())))?;
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join(PID_FILE).is_file())
        .collect();
    dirs.sort();
    let mut stopped = 0;
    for d in dirs {
        let pidfile = d.join(PID_FILE);
        let Some(pid) = read_pid(&pidfile) else {
            continue;
        };
        let name = d
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !is_running(pid) {
            let _ = std::fs::remove_file(&pidfile);
            continue;
        }
        signal(pid, "TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while is_running(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if is_running(pid) {
            signal(pid, "KILL");
        }
        let _ = std::fs::remove_file(&pidfile);
        out.print(&format!("Stopped the node on port {name} (pid {pid})\n"));
        stopped += 1;
    }
    if stopped == 0 {
        out.print(&format!(
            "No running node found in {}\n",
            opts.dir.display()
        ));
    }
    Ok(stopped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_makes_a_cluster_node() {
        let text = node_config("127.0.0.1", 7000, Path::new("/tmp/x/7000"), 5000);
        assert!(text.contains("\ncluster-enabled yes\n"));
        assert!(text.contains("\nport 7000\n"));
        assert!(text.contains("\npidfile \"/tmp/x/7000/node.pid\"\n"));
    }

    #[test]
    fn an_explicit_binary_wins() {
        assert_eq!(
            node_binary(Some(Path::new("redis-server"))),
            PathBuf::from("redis-server")
        );
    }
}
