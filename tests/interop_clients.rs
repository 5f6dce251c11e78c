//! Real Redis clients against a real `ferrodis-node`: Debian's `redis-cli`
//! (interactive and `--pipe`) and Python's `redis` package in RESP2 and
//! RESP3. CI installs them (`.ci/run`).

use std::io::Write;
use std::process::{Command, Stdio};

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, int};
use ferrodis_suite::{workspace_root, Server};

fn redis_cli(port: u16, args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new("redis-cli")
        .arg("-p")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run redis-cli (apt-get install redis-tools)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("redis-cli output");
    assert!(
        out.status.success(),
        "redis-cli failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn redis_cli_pipe_mode_loads_10000_sets() {
    let node = Server::ferrodis(&[]);
    let mut input = Vec::new();
    for i in 0..10_000 {
        let (k, v) = (format!("key:{i}"), format!("value:{i}"));
        input.extend(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .bytes(),
        );
    }
    let out = redis_cli(node.port, &["--pipe"], &input);
    assert!(out.contains("errors: 0, replies: 10000"), "{out}");
    let mut c = node.client();
    assert_eq!(c.cmd("DBSIZE"), int(10_000));
    assert_eq!(c.cmd("GET key:9999"), bulk("value:9999"));
}

#[test]
fn redis_cli_prints_what_it_prints_for_redis() {
    // The same session against both servers must print the same text.
    let node = Server::ferrodis(&[]);
    let redis = Server::redis(&[]);
    let session: &[u8] = b"SET greeting hello\nGET greeting\nINCR counter\nGET nosuch\nHSET h a 1 b 2\nHGETALL h\nSADD s x\nSMEMBERS s\nZADD z 1.5 m\nZRANGE z 0 -1 WITHSCORES\nMGET greeting nosuch\nTYPE h\nTTL greeting\nINCR greeting\nNOSUCH cmd\n";
    for mode in [&[][..], &["--no-raw"][..], &["-3", "--no-raw"][..]] {
        let ours = redis_cli(node.port, mode, session);
        let theirs = redis_cli(redis.port, mode, session);
        assert_eq!(ours, theirs, "redis-cli {mode:?}");
        redis_cli(node.port, &["FLUSHALL"], b"");
        redis_cli(redis.port, &["FLUSHALL"], b"");
    }
    let out = redis_cli(node.port, &["--no-raw", "HELLO", "3"], b"");
    assert!(
        out.contains("\"proto\"") && out.contains("(integer) 3"),
        "{out}"
    );
    let mut c = node.client();
    assert_eq!(c.cmd("PING"), Frame::Simple("PONG".into()));
}

#[test]
fn redis_py_resp2_and_resp3() {
    let node = Server::ferrodis(&[]);
    let script = workspace_root().join("tests/clients/redis_py_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(node.port.to_string())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "redis-py check failed (pip install redis):\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
