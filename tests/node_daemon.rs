//! A real `ferrodis-node` detaching with `daemonize yes` as redis-server
//! does, and its sockets: `tcp-keepalive` on accepted connections (seen in
//! the kernel's `/proc/net/tcp` timers) and `tcp-backlog` on the listening
//! ones (seen with `ss`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferrodis_suite::reply::{ok, simple};
use ferrodis_suite::{free_port, node_binary, Client, Server};

/// A fresh temporary directory for one test.
fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrodis-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `/proc/<pid>/stat`'s fields after the command name: state, ppid, pgrp,
/// session, ...
fn stat_fields(pid: u32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split_whitespace().map(str::to_owned).collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && stat_fields(pid).first().is_some_and(|s| s != "Z")
}

/// Kills the daemon if a failed assertion left it running.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        if alive(self.0) {
            let _ = Command::new("kill")
                .args(["-9", &self.0.to_string()])
                .status();
        }
    }
}

fn client(port: u16) -> Client {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    Client::new(stream)
}

#[test]
fn daemonize_detaches_writes_the_pidfile_and_removes_it_on_shutdown() {
    let dir = temp_dir("daemon");
    let port = free_port();
    let pidfile = dir.join("node.pid");
    let logfile = dir.join("node.log");
    let started = Instant::now();
    let out = Command::new(node_binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--daemonize", "yes", "--pidfile"])
        .arg(&pidfile)
        .arg("--logfile")
        .arg(&logfile)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // The parent returns (with 0) once the child serves, and has said
    // nothing on its terminal: the child's streams are /dev/null.
    assert!(out.status.success(), "{out:?}");
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("the daemon writes its pid file before the parent exits")
        .trim()
        .parse()
        .unwrap();
    let _reaper = Reaper(pid);
    assert!(alive(pid));
    // It already accepts connections: no retry needed.
    let mut c = client(port);
    assert_eq!(c.cmd("PING"), simple("PONG"));
    let info = match c.cmd("INFO server") {
        ferrodis_resp::Frame::Bulk(b) => String::from_utf8(b.to_vec()).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(info.contains(&format!("process_id:{pid}\r\n")), "{info}");
    // setsid(): leader of its own session and process group, so the
    // terminal's signals and the parent's group no longer reach it.
    let stat = stat_fields(pid);
    assert_eq!(
        (stat[2].as_str(), stat[3].as_str()),
        (&*pid.to_string(), &*pid.to_string())
    );
    for fd in 0..3 {
        let target = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).unwrap();
        assert_eq!(target, Path::new("/dev/null"), "fd {fd}");
    }
    // The log went to the log file, with the daemon's pid.
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(log.contains(&format!("pid={pid}")), "{log}");
    assert!(log.contains("Ready to accept connections"), "{log}");

    c.send(&["SHUTDOWN", "NOSAVE"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) || pidfile.exists() {
        assert!(
            Instant::now() < deadline,
            "the daemon did not exit and remove its pid file"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = std::fs::read_to_string(&logfile).unwrap();
    assert!(log.contains("Removing the pid file."), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn daemonize_reports_a_child_that_cannot_start() {
    let dir = temp_dir("daemon-fail");
    // The port is taken, so the daemon cannot bind it.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let out = Command::new(node_binary())
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--daemonize", "yes", "--pidfile"])
        .arg(dir.join("node.pid"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Failed listening on port {port} (tcp), aborting.")),
        "{stderr}"
    );
    assert!(!dir.join("node.pid").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The kernel's timer on the server's end of the connection from
/// `client_port` to `port`: (`tr`, `tm->when` in hundredths of a second),
/// from `/proc/net/tcp` (`tr` 2 is the keepalive timer, 0 none).
fn server_socket_timer(port: u16, client_port: u16) -> Option<(u32, u64)> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{port:04X}");
    let remote = format!(":{client_port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        if !(f.get(1)?.ends_with(&local) && f.get(2)?.ends_with(&remote)) {
            return None;
        }
        let (tr, when) = f.get(5)?.split_once(':')?;
        Some((
            u32::from_str_radix(tr, 16).ok()?,
            u64::from_str_radix(when, 16).ok()?,
        ))
    })
}

/// Waits until the connection is idle and its timer settles (a
/// retransmission or tail-loss-probe timer may show first); returns it.
fn settled_timer(port: u16, c: &Client, want: u32) -> (u32, u64) {
    let client_port = c.local_port();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let timer = server_socket_timer(port, client_port).expect("the connection is listed");
        if timer.0 == want || Instant::now() > deadline {
            return timer;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn tcp_keepalive_applies_to_accepted_connections_and_follows_config_set() {
    let node = Server::ferrodis(&["--tcp-keepalive", "7"]);
    let mut c = node.client();
    assert_eq!(c.cmd("PING"), simple("PONG"));
    // Keepalive armed with the 7 s idle time (Linux' default is 7200 s).
    let (tr, when) = settled_timer(node.port, &c, 2);
    assert_eq!(tr, 2, "no keepalive timer on the accepted socket");
    assert!(
        when > 0 && when <= 700,
        "keepalive due in {when}/100 s, not within 7 s"
    );

    // CONFIG SET applies to the next connections; 0 turns keepalive off.
    assert_eq!(c.cmd("CONFIG SET tcp-keepalive 0"), ok());
    let mut off = node.client();
    assert_eq!(off.cmd("PING"), simple("PONG"));
    let (tr, _) = settled_timer(node.port, &off, 0);
    assert_eq!(tr, 0, "keepalive still armed with tcp-keepalive 0");

    assert_eq!(c.cmd("CONFIG SET tcp-keepalive 60"), ok());
    let mut later = node.client();
    assert_eq!(later.cmd("PING"), simple("PONG"));
    let (tr, when) = settled_timer(node.port, &later, 2);
    assert_eq!(tr, 2);
    assert!(
        when > 700 && when <= 6000,
        "keepalive due in {when}/100 s, not 60 s"
    );
}

#[test]
#[allow(clippy::print_stderr)] // Says why nothing was checked.
fn tcp_backlog_sizes_the_listen_queue() {
    let node = Server::ferrodis(&["--tcp-backlog", "77"]);
    // `ss` reports a listening socket's backlog in Send-Q.
    let Ok(out) = Command::new("ss")
        .args(["-Hltn", &format!("sport = :{}", node.port)])
        .output()
    else {
        eprintln!("ss (iproute2) is not installed: the backlog is not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields.first(), Some(&"LISTEN"), "{text}");
    assert_eq!(fields.get(2), Some(&"77"), "{text}");
}
