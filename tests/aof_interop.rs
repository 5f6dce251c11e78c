//! The multi-part AOF against the reference: directories Debian's
//! `redis-server` 7.0.15 writes (with and without an RDB preamble, across
//! a `BGREWRITEAOF`) parse with `ferrodis-persist`, their manifests are
//! written back byte for byte and their commands read back as sent (or as
//! Redis rewrites them); directories written with `ferrodis-persist` load
//! in `redis-server`, which truncates a cut or half-transaction tail at
//! the offsets `AofError::truncate_to` names and refuses what the reader
//! calls corrupt.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrodis_persist::{
    encode_command, encode_select, encode_timestamp_annotation, starts_with_rdb_preamble, AofError,
    AofFileInfo, AofFileKind, AofReader, Manifest,
};
use ferrodis_resp::Frame;
use ferrodis_suite::reply::{bulk, int, ok};
use ferrodis_suite::{free_port, Client, Server};

type Argv = Vec<Vec<u8>>;
/// A file's commands.
type Commands = Vec<Argv>;

/// A fresh, empty directory for one test, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "ferrodis-aof-interop-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        TempDir(dir)
    }

    fn aof_dir(&self) -> PathBuf {
        self.0.join("appendonlydir")
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp dir")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn argv(words: &[&str]) -> Argv {
    words.iter().map(|w| w.as_bytes().to_vec()).collect()
}

fn now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    u64::try_from(since.as_millis()).expect("ms fit")
}

/// Every command of a file of commands, which must read to a clean end.
fn read_commands(path: &Path) -> Commands {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut reader = AofReader::new(&bytes);
    let mut cmds = Vec::new();
    while let Some(cmd) = reader.next_command().expect("a well-formed AOF") {
        cmds.push(cmd.argv);
    }
    assert_eq!(reader.offset(), bytes.len());
    cmds
}

/// The TTLs the tests set, in ms, by key.
fn ttl_of(key: &[u8]) -> u64 {
    match key {
        b"ttl" => 100_000,
        b"k1" => 200_000,
        other => panic!("no TTL set on {:?}", String::from_utf8_lossy(other)),
    }
}

/// Replaces the absolute millisecond time after `PXAT` or in `PEXPIREAT`
/// by `<ms>`, after checking it is the key's TTL after a moment in
/// `[before, after]`.
fn normalize_times(cmds: Commands, before: u64, after: u64) -> Commands {
    let check = |key: &[u8], arg: &mut Vec<u8>| {
        let at: u64 = std::str::from_utf8(arg)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a time in ms: {:?}", String::from_utf8_lossy(arg)));
        let ttl = ttl_of(key);
        assert!(
            (before + ttl..=after + ttl).contains(&at),
            "{at} not {ttl} ms after [{before}, {after}]"
        );
        *arg = b"<ms>".to_vec();
    };
    cmds.into_iter()
        .map(|mut cmd| {
            let key = cmd.get(1).cloned().unwrap_or_default();
            if cmd[0].eq_ignore_ascii_case(b"pexpireat") {
                check(&key, &mut cmd[2]);
            }
            if let Some(i) = cmd.iter().position(|a| a.eq_ignore_ascii_case(b"pxat")) {
                check(&key, &mut cmd[i + 1]);
            }
            cmd
        })
        .collect()
}

/// `INFO persistence` as text.
fn persistence(c: &mut Client) -> String {
    match c.call(&["INFO", "persistence"]) {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO: {other:?}"),
    }
}

/// Waits until no AOF rewrite runs or is scheduled, and checks the last
/// one succeeded.
fn wait_for_rewrite(c: &mut Client) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let info = persistence(c);
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            assert!(info.contains("aof_last_bgrewrite_status:ok"), "{info}");
            return;
        }
        assert!(Instant::now() < deadline, "rewrite did not finish: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The manifest Redis wrote: parsed, and written back byte for byte.
fn check_manifest(dir: &TempDir) -> Manifest {
    let path = dir
        .aof_dir()
        .join(Manifest::manifest_name("appendonly.aof"));
    let text = std::fs::read(&path).expect("read the manifest");
    let m = Manifest::parse(&text).expect("Redis' manifest parses");
    assert_eq!(
        m.to_text().as_bytes(),
        &text[..],
        "to_text differs from Redis' manifest"
    );
    m
}

fn info(name: &str, seq: u64, kind: AofFileKind) -> AofFileInfo {
    AofFileInfo {
        name: name.to_owned(),
        seq,
        kind,
    }
}

/// Writes through a real `redis-server`, rewrites, writes again, and reads
/// every file it left with `ferrodis-persist`.
fn redis_writes_we_read(preamble: bool) {
    let dir = TempDir::new(if preamble { "preamble" } else { "commands" });
    let preamble_arg = if preamble { "yes" } else { "no" };
    let redis = Server::redis(&[
        "--appendonly",
        "yes",
        "--dir",
        dir.arg(),
        "--aof-use-rdb-preamble",
        preamble_arg,
    ]);
    let mut c = redis.client();
    let base_ext = |seq| Manifest::base_name("appendonly.aof", seq, preamble);

    // Start-up on an empty data set: base 1 and incr 1.
    let m = check_manifest(&dir);
    assert_eq!(m.base, Some(info(&base_ext(1), 1, AofFileKind::Base)));
    assert_eq!(
        m.incrs,
        [info("appendonly.aof.1.incr.aof", 1, AofFileKind::Incr)]
    );
    assert!(m.history.is_empty());

    let before = now_ms();
    assert_eq!(c.cmd("SET k1 v1"), ok());
    assert_eq!(c.cmd("SELECT 3"), ok());
    assert_eq!(c.cmd("SET k3 v3"), ok());
    assert_eq!(c.cmd("RPUSH list a b"), int(2));
    assert_eq!(c.cmd("MULTI"), ok());
    assert_eq!(c.cmd("SET m 1"), ferrodis_suite::reply::simple("QUEUED"));
    assert_eq!(c.cmd("INCR m"), ferrodis_suite::reply::simple("QUEUED"));
    assert_eq!(c.cmd("EXEC"), Frame::Array(vec![ok(), int(2)]));
    assert_eq!(c.cmd("SELECT 0"), ok());
    assert_eq!(c.cmd("SET ttl v EX 100"), ok());
    assert_eq!(c.cmd("EXPIRE k1 200"), int(1));
    assert_eq!(c.cmd("INCRBYFLOAT f 1.5"), bulk("1.5"));
    assert_eq!(c.call(&["SET", "bin\r\n key", "a\0b\r\n"]), ok());
    assert_eq!(c.cmd("DEL nothing"), int(0));
    let after = now_ms();

    // Redis writes each reply's commands before replying: the file holds
    // them all now.
    let incr1 = read_commands(&dir.aof_dir().join("appendonly.aof.1.incr.aof"));
    let incr1 = normalize_times(incr1, before, after);
    let want: Commands = vec![
        argv(&["SELECT", "0"]),
        argv(&["SET", "k1", "v1"]),
        argv(&["SELECT", "3"]),
        argv(&["SET", "k3", "v3"]),
        argv(&["RPUSH", "list", "a", "b"]),
        argv(&["MULTI"]),
        argv(&["SET", "m", "1"]),
        argv(&["INCR", "m"]),
        argv(&["EXEC"]),
        argv(&["SELECT", "0"]),
        // Relative expiry is written as an absolute time.
        argv(&["SET", "ttl", "v", "PXAT", "<ms>"]),
        argv(&["PEXPIREAT", "k1", "<ms>"]),
        // Float increments are written as their result.
        argv(&["SET", "f", "1.5", "KEEPTTL"]),
        vec![
            b"SET".to_vec(),
            b"bin\r\n key".to_vec(),
            b"a\0b\r\n".to_vec(),
        ],
        // A DEL that deleted nothing is not written.
    ];
    assert_eq!(incr1, want);

    // Rewrite, then write more.
    assert_eq!(
        c.cmd("BGREWRITEAOF"),
        ferrodis_suite::reply::simple("Background append only file rewriting started")
    );
    wait_for_rewrite(&mut c);
    assert_eq!(c.cmd("SET after 1"), ok());
    assert_eq!(c.cmd("SELECT 5"), ok());
    assert_eq!(c.cmd("SADD s x y"), int(2));

    // Base 2 and incr 2; history deleted, as Redis deletes it.
    let m = check_manifest(&dir);
    assert_eq!(m.base, Some(info(&base_ext(2), 2, AofFileKind::Base)));
    assert_eq!(
        m.incrs,
        [info("appendonly.aof.2.incr.aof", 2, AofFileKind::Incr)]
    );
    assert!(m.history.is_empty());
    assert!(!dir.aof_dir().join("appendonly.aof.1.incr.aof").exists());

    // The same steps with `Manifest`'s helpers give the same manifest.
    let mut model = Manifest::default();
    model.new_base("appendonly.aof", preamble);
    model.new_incr("appendonly.aof");
    model.new_incr("appendonly.aof");
    model.new_base("appendonly.aof", preamble);
    model.mark_rewritten_incrs_as_history(true);
    model.history.clear();
    assert_eq!(model, m);

    let incr2 = read_commands(&dir.aof_dir().join("appendonly.aof.2.incr.aof"));
    assert_eq!(
        incr2,
        vec![
            argv(&["SELECT", "0"]),
            argv(&["SET", "after", "1"]),
            argv(&["SELECT", "5"]),
            argv(&["SADD", "s", "x", "y"]),
        ]
    );

    let base_path = dir.aof_dir().join(base_ext(2));
    let base = std::fs::read(&base_path).expect("read the base");
    assert_eq!(starts_with_rdb_preamble(&base), preamble);
    if !preamble {
        // The data set as commands, one database after the other, keys
        // in the dictionary's order.
        let mut db = Vec::new();
        let mut seen = BTreeSet::new();
        for cmd in normalize_times(read_commands(&base_path), before, after) {
            if cmd[0] == b"SELECT" {
                db = cmd[1].clone();
            } else {
                seen.insert((db.clone(), cmd));
            }
        }
        let want: BTreeSet<(Vec<u8>, Argv)> = [
            ("0", argv(&["SET", "k1", "v1"])),
            ("0", argv(&["PEXPIREAT", "k1", "<ms>"])),
            ("0", argv(&["SET", "ttl", "v"])),
            ("0", argv(&["PEXPIREAT", "ttl", "<ms>"])),
            ("0", argv(&["SET", "f", "1.5"])),
            ("3", argv(&["SET", "k3", "v3"])),
            ("3", argv(&["SET", "m", "2"])),
            ("3", argv(&["RPUSH", "list", "a", "b"])),
        ]
        .into_iter()
        .map(|(db, cmd)| (db.as_bytes().to_vec(), cmd))
        .chain([(
            b"0".to_vec(),
            vec![
                b"SET".to_vec(),
                b"bin\r\n key".to_vec(),
                b"a\0b\r\n".to_vec(),
            ],
        )])
        .collect();
        assert_eq!(seen, want);
    }
}

#[test]
fn redis_aof_with_rdb_preamble_reads_back() {
    redis_writes_we_read(true);
}

#[test]
fn redis_aof_without_preamble_reads_back() {
    redis_writes_we_read(false);
}

/// Writes an AOF directory: the manifest (by `Manifest::to_text`) and
/// each file's bytes.
fn write_aof_dir(dir: &TempDir, m: &Manifest, files: &[(&str, &[u8])]) {
    let aof_dir = dir.aof_dir();
    std::fs::create_dir_all(&aof_dir).expect("create the AOF dir");
    std::fs::write(
        aof_dir.join(Manifest::manifest_name("appendonly.aof")),
        m.to_text(),
    )
    .expect("write the manifest");
    for (name, bytes) in files {
        std::fs::write(aof_dir.join(name), bytes).expect("write an AOF file");
    }
}

fn cmd(out: &mut Vec<u8>, words: &[&str]) {
    encode_command(out, words);
}

/// The files of a hand-made AOF: a base of commands, an incr file with
/// spaces in its name, and a last incr file ending with `tail`. Returns
/// the manifest, the files, and the length of the last file before `tail`.
fn our_aof(tail: &[u8]) -> (Manifest, Vec<(&'static str, Vec<u8>)>, usize) {
    let mut base = Vec::new();
    encode_timestamp_annotation(&mut base, 1_700_000_000);
    encode_select(&mut base, 0);
    cmd(&mut base, &["SET", "base-key", "b"]);
    encode_select(&mut base, 2);
    cmd(&mut base, &["RPUSH", "list", "x", "y"]);

    let mut incr1 = Vec::new();
    encode_select(&mut incr1, 0);
    cmd(&mut incr1, &["SET", "k1", "v1"]);
    for _ in 0..3 {
        cmd(&mut incr1, &["INCR", "counter"]);
    }
    encode_timestamp_annotation(&mut incr1, 1_700_000_001);
    cmd(&mut incr1, &["MULTI"]);
    cmd(&mut incr1, &["SET", "in-multi", "1"]);
    cmd(&mut incr1, &["EXEC"]);

    let mut incr2 = Vec::new();
    encode_select(&mut incr2, 1);
    cmd(&mut incr2, &["SET", "k2", "v2"]);
    let before_tail = incr2.len();
    incr2.extend_from_slice(tail);

    let manifest = Manifest {
        base: Some(info("appendonly.aof.1.base.aof", 1, AofFileKind::Base)),
        history: vec![info("appendonly.aof.gone.aof", 7, AofFileKind::History)],
        incrs: vec![
            info("odd name\t1.incr.aof", 1, AofFileKind::Incr),
            info("appendonly.aof.2.incr.aof", 2, AofFileKind::Incr),
        ],
        base_seq: 1,
        incr_seq: 2,
    };
    let files = vec![
        ("appendonly.aof.1.base.aof", base),
        ("odd name\t1.incr.aof", incr1),
        ("appendonly.aof.2.incr.aof", incr2),
    ];
    (manifest, files, before_tail)
}

/// What our reader says about the last file's end.
fn our_verdict(bytes: &[u8]) -> Result<(), AofError> {
    let mut reader = AofReader::new(bytes);
    while reader.next_command()?.is_some() {}
    Ok(())
}

/// Loads a hand-made directory whose last file ends with `tail` in a real
/// `redis-server`; checks the data it loaded and the length it truncated
/// the last file to.
fn redis_loads_ours(name: &str, tail: &[u8], want_len: impl Fn(usize) -> usize) {
    let dir = TempDir::new(name);
    let (manifest, files, before_tail) = our_aof(tail);
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, &b[..])).collect();
    write_aof_dir(&dir, &manifest, &refs);
    let last = &files[2].1;
    let verdict = our_verdict(last);
    let expected_len = want_len(before_tail);
    match &verdict {
        Ok(()) => assert_eq!(expected_len, last.len()),
        Err(e) => assert_eq!(e.truncate_to(), Some(expected_len), "{e}"),
    }

    let redis = Server::redis(&["--appendonly", "yes", "--dir", dir.arg()]);
    let mut c = redis.client();
    assert_eq!(c.cmd("GET base-key"), bulk("b"));
    assert_eq!(c.cmd("GET k1"), bulk("v1"));
    assert_eq!(c.cmd("GET counter"), bulk("3"));
    assert_eq!(c.cmd("GET in-multi"), bulk("1"));
    assert_eq!(c.cmd("SELECT 2"), ok());
    assert_eq!(
        c.cmd("LRANGE list 0 -1"),
        ferrodis_suite::reply::bulks(&["x", "y"])
    );
    assert_eq!(c.cmd("SELECT 1"), ok());
    assert_eq!(c.cmd("GET k2"), bulk("v2"));
    assert_eq!(c.cmd("EXISTS reverted"), int(0));

    // Redis cut the last file where our reader says, and kept our
    // manifest but for the history, which it deletes on start-up.
    let last_path = dir.aof_dir().join("appendonly.aof.2.incr.aof");
    let len = std::fs::metadata(&last_path).expect("stat").len();
    assert_eq!(len, u64::try_from(expected_len).expect("fits"));
    let mut want = manifest;
    want.history.clear();
    assert_eq!(check_manifest(&dir), want);
}

#[test]
fn redis_loads_our_aof() {
    redis_loads_ours("clean", b"", |before| before);
}

#[test]
fn redis_truncates_a_cut_command_where_we_do() {
    let mut tail = Vec::new();
    cmd(&mut tail, &["SET", "reverted", "1"]);
    tail.truncate(tail.len() - 3);
    redis_loads_ours("cut", &tail, |before| before);
}

#[test]
fn redis_reverts_an_open_transaction_where_we_do() {
    let mut tail = Vec::new();
    encode_timestamp_annotation(&mut tail, 1_700_000_002);
    cmd(&mut tail, &["MULTI"]);
    cmd(&mut tail, &["SET", "reverted", "1"]);
    redis_loads_ours("multi", &tail, |before| before);
}

/// Runs `redis-server` on a directory and returns whether it loaded it
/// (it answers `PING` once loaded, and exits at once on an AOF it
/// refuses).
fn redis_starts(dir: &TempDir) -> bool {
    let port = free_port();
    let port_arg = port.to_string();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port_arg,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--dir",
            dir.arg(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let deadline = Instant::now() + Duration::from_secs(10);
    let loaded = loop {
        if let Ok(Some(_)) = child.try_wait() {
            break false;
        }
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            // Redis listens before it loads, and answers -LOADING meanwhile.
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let mut reply = [0u8; 64];
            if s.write_all(b"PING\r\n").is_ok()
                && s.read(&mut reply)
                    .is_ok_and(|n| reply[..n].starts_with(b"+PONG"))
            {
                break true;
            }
        }
        assert!(
            Instant::now() < deadline,
            "redis-server neither loaded nor exited"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    loaded
}

#[test]
fn redis_refuses_what_we_call_corrupt() {
    for (name, tail, corrupt) in [
        ("garbage", &b"GARBAGE\r\n"[..], true),
        ("zero-args", b"*0\r\n", true),
        ("no-dollar", b"*1\r\n:4\r\nPING\r\n", true),
        ("blank-line", b"\r\n", true),
        // Not corrupt: a Redis leniency, which loads.
        ("lenient", b"*3\n$3\nSETxx$3\nlenxx$1\nvxx", false),
    ] {
        let dir = TempDir::new(&format!("refuse-{name}"));
        let (manifest, files, _) = our_aof(tail);
        let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, &b[..])).collect();
        write_aof_dir(&dir, &manifest, &refs);
        let verdict = our_verdict(&files[2].1);
        assert_eq!(
            matches!(verdict, Err(AofError::Corrupt { .. })),
            corrupt,
            "{name}: {verdict:?}"
        );
        assert_eq!(redis_starts(&dir), !corrupt, "{name}");
    }
}

#[test]
fn redis_refuses_what_we_refuse_in_a_manifest() {
    for (name, text, ok) in [
        (
            "no-newline",
            &b"file appendonly.aof.1.incr.aof seq 1 type i"[..],
            false,
        ),
        (
            "path",
            b"file d/appendonly.aof.1.incr.aof seq 1 type i\n",
            false,
        ),
        (
            "unknown-type",
            b"file appendonly.aof.1.incr.aof seq 1 type x\n",
            false,
        ),
        (
            "two-bases",
            b"file a seq 1 type b\nfile b seq 2 type b\n",
            false,
        ),
        (
            "order",
            b"file a seq 2 type i\nfile b seq 1 type i\n",
            false,
        ),
        (
            "lenient",
            b"# hand-written\nSEQ 1 TYPE incr FILE appendonly.aof.1.incr.aof extra pair\n",
            true,
        ),
    ] {
        let dir = TempDir::new(&format!("manifest-{name}"));
        std::fs::create_dir_all(dir.aof_dir()).expect("create the AOF dir");
        std::fs::write(dir.aof_dir().join("appendonly.aof.manifest"), text).expect("write");
        let mut incr = Vec::new();
        cmd(&mut incr, &["SET", "k", "v"]);
        for f in ["appendonly.aof.1.incr.aof", "a", "b"] {
            std::fs::write(dir.aof_dir().join(f), &incr).expect("write");
        }
        assert_eq!(Manifest::parse(text).is_ok(), ok, "{name}");
        assert_eq!(redis_starts(&dir), ok, "{name}");
    }
}

/// A base file whose RDB is followed by a cut command: Redis loads the
/// RDB, then truncates the file at offset 0, destroying the RDB, because
/// its truncation point only counts commands. The reader instead names
/// the end of the RDB, and a loader should not follow Redis here.
#[test]
fn redis_truncates_a_cut_tail_after_an_rdb_to_nothing() {
    // An RDB base written by Redis itself.
    let source = TempDir::new("rdb-source");
    let rdb = {
        let redis = Server::redis(&["--appendonly", "yes", "--dir", source.arg()]);
        let mut c = redis.client();
        assert_eq!(c.cmd("SET k v"), ok());
        assert_eq!(
            c.cmd("BGREWRITEAOF"),
            ferrodis_suite::reply::simple("Background append only file rewriting started")
        );
        wait_for_rewrite(&mut c);
        let m = check_manifest(&source);
        let base = m.base.expect("a base after the rewrite");
        std::fs::read(source.aof_dir().join(&base.name)).expect("read the base")
    };
    assert!(starts_with_rdb_preamble(&rdb));

    let dir = TempDir::new("rdb-cut-tail");
    let mut base = rdb.clone();
    let mut tail = Vec::new();
    cmd(&mut tail, &["SET", "k2", "v2"]);
    base.extend_from_slice(&tail[..tail.len() - 2]);
    let name = Manifest::base_name("appendonly.aof", 1, true);
    let manifest = Manifest {
        base: Some(info(&name, 1, AofFileKind::Base)),
        base_seq: 1,
        ..Manifest::default()
    };
    write_aof_dir(&dir, &manifest, &[(&name, &base)]);

    let mut reader = AofReader::starting_at(&base, rdb.len());
    assert_eq!(
        reader.next_command(),
        Err(AofError::Truncated { offset: rdb.len() })
    );

    let redis = Server::redis(&["--appendonly", "yes", "--dir", dir.arg()]);
    let mut c = redis.client();
    assert_eq!(c.cmd("GET k"), bulk("v"));
    assert_eq!(c.cmd("EXISTS k2"), int(0));
    let len = std::fs::metadata(dir.aof_dir().join(&name))
        .expect("stat")
        .len();
    assert_eq!(len, 0, "Redis 7.0.15 truncates the whole base");
}
