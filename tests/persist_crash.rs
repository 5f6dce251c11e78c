//! Crash consistency of `ferrodis-node`'s persistence: the node is killed
//! with SIGKILL while a client writes as fast as it can, then restarted on
//! the same files; every write it acknowledged must be there
//! (`appendfsync always`), or what is lost must be bounded
//! (`appendfsync everysec`). A BGSAVE taken while a client writes shows one
//! instant, and clients keep being served while it runs.
//!
//! The kill moments come from a seeded generator; the seed is printed, and
//! `FERRODIS_CRASH_SEED=<seed>` replays a run.
//!
//! A SIGKILL loses the process, not the kernel's page cache: what the node
//! wrote but did not fsync survives. These tests therefore check that a
//! write reaches the file before its reply leaves; they cannot lose what a
//! power failure would.
//!
//! The figures (writes lost, BGSAVE stall) are printed for reports.
#![allow(clippy::print_stderr)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferrodis_persist::{RdbItem, RdbReader, RdbValue};
use ferrodis_resp::Frame;
use ferrodis_suite::dataset::{self, assert_same, Compare};
use ferrodis_suite::reply::{int, ok, simple};
use ferrodis_suite::{wait_until, Client, Launch, Server, TempDir};

/// splitmix64: a small seeded generator, so that a failing run replays.
struct Rng(u64);

impl Rng {
    /// From `FERRODIS_CRASH_SEED`, else from the clock; prints the seed.
    fn from_env(test: &str) -> Rng {
        let seed = std::env::var("FERRODIS_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("clock after 1970")
                    .as_nanos() as u64
            });
        eprintln!("{test}: FERRODIS_CRASH_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// Commands in flight at once: a pipelining writer.
const WINDOW: usize = 64;

/// What a writer sent and what the node acknowledged before it died.
#[derive(Debug, Default)]
struct Written {
    /// `SET <prefix><i> <i>` sent for i in `0..sets_sent`.
    sets_sent: usize,
    /// When each acknowledged SET's reply arrived (i in order).
    set_acked_at: Vec<Instant>,
    incrs_sent: u64,
    incrs_acked: u64,
}

/// Writes `SET <prefix><i> <i>` and `INCR counter` pairs, `WINDOW` pairs at
/// a time, until the connection fails (the node was killed).
fn write_until_killed(mut c: Client, prefix: &str) -> Written {
    let mut w = Written::default();
    'outer: loop {
        let first = w.sets_sent;
        for i in first..first + WINDOW {
            let sent = c
                .try_send(&["SET", &format!("{prefix}{i}"), &i.to_string()])
                .and_then(|()| c.try_send(&["INCR", "counter"]));
            if sent.is_err() {
                break 'outer;
            }
            w.sets_sent = i + 1;
            w.incrs_sent += 1;
        }
        for _ in first..w.sets_sent {
            match c.try_read() {
                Ok(Frame::Simple(s)) if &s[..] == b"OK" => w.set_acked_at.push(Instant::now()),
                Ok(other) => panic!("SET: {other:?}"),
                Err(_) => break 'outer,
            }
            match c.try_read() {
                Ok(Frame::Integer(_)) => w.incrs_acked += 1,
                Ok(other) => panic!("INCR: {other:?}"),
                Err(_) => break 'outer,
            }
        }
    }
    w
}

/// How many of `<prefix>0..<prefix>sent` the node holds, checking that they
/// form a prefix (the AOF is replayed in order: no write can be missing
/// while a later one is there) and hold their values.
fn present_prefix(c: &mut Client, prefix: &str, sent: usize, seed_note: &str) -> usize {
    let mut present = 0;
    let mut gap = false;
    let indexes: Vec<usize> = (0..sent).collect();
    for chunk in indexes.chunks(1000) {
        let mut args = vec!["MGET".to_owned()];
        args.extend(chunk.iter().map(|i| format!("{prefix}{i}")));
        let Frame::Array(values) = c.call(&args) else {
            panic!("MGET failed");
        };
        for (i, v) in chunk.iter().zip(values) {
            match v {
                Frame::Bulk(b) => {
                    assert!(
                        !gap,
                        "{prefix}{i} is present after a missing key ({seed_note})"
                    );
                    assert_eq!(&b[..], i.to_string().as_bytes(), "{prefix}{i}");
                    present += 1;
                }
                Frame::NullBulk | Frame::Null => gap = true,
                other => panic!("MGET item: {other:?}"),
            }
        }
    }
    present
}

fn counter(c: &mut Client) -> u64 {
    match c.cmd("GET counter") {
        Frame::Bulk(b) => std::str::from_utf8(&b)
            .expect("utf-8")
            .parse()
            .expect("integer"),
        Frame::NullBulk | Frame::Null => 0,
        other => panic!("GET counter: {other:?}"),
    }
}

/// One kill/restart cycle's outcome.
struct Cycle {
    written: Written,
    /// Keys of this cycle present after the restart.
    present: usize,
    /// How long the writer ran before the kill.
    ran: Duration,
}

/// Starts a writer, kills the node `delay_ms` later, restarts it on the
/// same files, and checks what it holds: the cycle's keys form a prefix,
/// earlier cycles' keys are all there (`kept` of them), the counter lies
/// between what was acknowledged and what was sent.
fn crash_cycle(
    node: &mut Server,
    cycle: usize,
    delay_ms: u64,
    kept: usize,
    incrs: (u64, u64),
    seed_note: &str,
) -> Cycle {
    let prefix = format!("c{cycle}:");
    let client = node.client();
    let writer = {
        let prefix = prefix.clone();
        std::thread::spawn(move || write_until_killed(client, &prefix))
    };
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(delay_ms));
    node.kill();
    let ran = started.elapsed();
    let written = writer.join().expect("writer thread");
    node.restart();
    let mut c = node.client();
    let present = present_prefix(&mut c, &prefix, written.sets_sent, seed_note);
    let n = counter(&mut c);
    let sent = incrs.1 + written.incrs_sent;
    assert!(
        n <= sent,
        "counter {n} above the {sent} INCRs sent ({seed_note})"
    );
    let Frame::Integer(counter_exists) = c.cmd("EXISTS counter") else {
        panic!("EXISTS failed");
    };
    assert_eq!(
        c.cmd("DBSIZE"),
        int((kept + present) as i64 + counter_exists),
        "keys of earlier cycles lost ({seed_note})"
    );
    Cycle {
        written,
        present,
        ran,
    }
}

/// 2a. `appendfsync always`: at least 20 SIGKILLs at random moments under a
/// pipelining writer; after each restart every acknowledged write is
/// there. Then Redis loads the same AOF directory with the same contents.
#[test]
fn appendfsync_always_loses_no_acknowledged_write() {
    let mut rng = Rng::from_env("appendfsync_always");
    let seed_note = format!("FERRODIS_CRASH_SEED={}", rng.0);
    let data = TempDir::new("crash-always");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
        ])
        .start();
    let (mut kept, mut incrs, mut total_acked) = (0usize, (0u64, 0u64), 0usize);
    for cycle in 0..20 {
        let delay = rng.range(50, 300);
        let out = crash_cycle(&mut node, cycle, delay, kept, incrs, &seed_note);
        let acked = out.written.set_acked_at.len();
        assert!(
            out.present >= acked,
            "cycle {cycle}: {} of {acked} acknowledged SETs lost ({seed_note})",
            acked - out.present
        );
        incrs = (
            incrs.0 + out.written.incrs_acked,
            incrs.1 + out.written.incrs_sent,
        );
        let n = counter(&mut node.client());
        assert!(
            n >= incrs.0,
            "cycle {cycle}: counter {n} below the {} INCRs acknowledged ({seed_note})",
            incrs.0
        );
        kept += out.present;
        total_acked += acked;
    }
    assert!(total_acked > 0, "the writer never got a reply");
    eprintln!("appendfsync always: {total_acked} acknowledged SETs over 20 crashes, none lost");

    // Redis reads the directory the crashes left (the last one cut back by
    // the node's restart) as the node does.
    let expected = dataset::read(&mut node.client(), 1);
    node.kill();
    let copy = TempDir::new("crash-always-redis");
    let from = data.path().join("appendonlydir");
    let to = copy.path().join("appendonlydir");
    std::fs::create_dir_all(&to).expect("create dir");
    for entry in std::fs::read_dir(&from).expect("read AOF dir") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy AOF file");
    }
    let redis = Launch::redis()
        .dir(copy.path())
        .args(&["--appendonly", "yes"])
        .start();
    let actual = dataset::read(&mut redis.client(), 1);
    assert_same(&expected, &actual, Compare::default());
}

/// 2b. `appendfsync everysec`: a few kills; acknowledged writes lost, and
/// the time their acknowledgements span, stay under about two seconds
/// (Redis' promise: at most about a second or two of writes).
#[test]
fn appendfsync_everysec_loses_at_most_two_seconds() {
    let mut rng = Rng::from_env("appendfsync_everysec");
    let seed_note = format!("FERRODIS_CRASH_SEED={}", rng.0);
    let data = TempDir::new("crash-everysec");
    let mut node = Launch::ferrodis()
        .dir(data.path())
        .args(&[
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ])
        .start();
    let (mut kept, mut incrs) = (0usize, (0u64, 0u64));
    let (mut lost_total, mut worst) = (0usize, Duration::ZERO);
    let mut acked_total = 0;
    for cycle in 0..4 {
        // Long enough for the fsync thread to have run at least once.
        let delay = rng.range(300, 1500);
        let out = crash_cycle(&mut node, cycle, delay, kept, incrs, &seed_note);
        let acks = &out.written.set_acked_at;
        let lost = acks.len().saturating_sub(out.present);
        let span = match (acks.get(out.present), acks.last()) {
            (Some(first_lost), Some(last)) if lost > 0 => *last - *first_lost,
            _ => Duration::ZERO,
        };
        eprintln!(
            "appendfsync everysec, cycle {cycle}: killed after {:?}, {} SETs acknowledged, {lost} lost, spanning {span:?}",
            out.ran,
            acks.len()
        );
        assert!(
            span < Duration::from_secs(2),
            "cycle {cycle}: lost {lost} acknowledged writes spanning {span:?} ({seed_note})"
        );
        lost_total += lost;
        worst = worst.max(span);
        acked_total += acks.len();
        incrs = (
            incrs.0 + out.written.incrs_acked,
            incrs.1 + out.written.incrs_sent,
        );
        kept += out.present;
    }
    eprintln!(
        "appendfsync everysec: {lost_total} of {acked_total} acknowledged SETs lost over 4 SIGKILLs, worst span {worst:?}"
    );
}

/// The `k<i>` counters of an RDB file, in index order.
fn counters_in_rdb(bytes: &[u8], n: usize) -> Vec<i64> {
    let mut reader = RdbReader::new(bytes).expect("RDB header");
    let mut values = vec![None; n];
    while let Some(item) = reader.next_item().expect("valid RDB") {
        if let RdbItem::Entry(e) = item {
            let i: usize = std::str::from_utf8(&e.key[1..])
                .expect("utf-8 key")
                .parse()
                .expect("k<i>");
            let RdbValue::String(v) = e.object.value else {
                panic!("k{i} is not a string");
            };
            let v: i64 = std::str::from_utf8(&v).expect("utf-8").parse().expect("n");
            assert!(values[i].replace(v).is_none(), "k{i} twice");
        }
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| v.unwrap_or_else(|| panic!("k{i} missing")))
        .collect()
}

/// Sets `k0..k(n-1)` to 0.
fn zero_counters(c: &mut Client, n: usize) {
    let indexes: Vec<usize> = (0..n).collect();
    for chunk in indexes.chunks(1000) {
        let mut args = vec!["MSET".to_owned()];
        for i in chunk {
            args.push(format!("k{i}"));
            args.push("0".to_owned());
        }
        assert_eq!(c.call(&args), ok());
    }
}

/// Increments `k0..k(n-1)` in order, round after round, pipelined, until
/// `stop`; returns the rounds done.
fn increment_rounds(mut c: Client, n: usize, stop: &AtomicBool) -> u64 {
    let mut rounds = 0;
    while !stop.load(Ordering::Relaxed) {
        for start in (0..n).step_by(500) {
            let end = (start + 500).min(n);
            for i in start..end {
                c.send(&["INCR", &format!("k{i}")]);
            }
            for _ in start..end {
                assert!(matches!(c.read(), Frame::Integer(_)));
            }
        }
        rounds += 1;
    }
    rounds
}

/// Starts a BGSAVE and waits until a new save finished successfully;
/// returns how long the BGSAVE command took to answer (the snapshot is
/// taken before it does) and how long the save took.
fn bgsave_and_wait(c: &mut Client) -> (Duration, Duration) {
    let saves: u64 = c
        .info_field("rdb_saves")
        .and_then(|s| s.parse().ok())
        .expect("rdb_saves");
    let started = Instant::now();
    assert_eq!(c.cmd("BGSAVE"), simple("Background saving started"));
    let answered = started.elapsed();
    wait_until(Duration::from_secs(300), "the BGSAVE to end", || {
        c.info_field("rdb_bgsave_in_progress").as_deref() == Some("0")
    });
    let took = started.elapsed();
    assert_eq!(
        c.info_field("rdb_last_bgsave_status").as_deref(),
        Some("ok")
    );
    let now: u64 = c
        .info_field("rdb_saves")
        .and_then(|s| s.parse().ok())
        .expect("rdb_saves");
    assert_eq!(now, saves + 1, "no new save");
    (answered, took)
}

/// 2c. A BGSAVE taken while a client increments k0..kN in order shows one
/// instant: the counters are non-increasing, first minus last at most one.
#[test]
fn bgsave_shows_one_instant_under_writes() {
    const N: usize = 5000;
    let data = TempDir::new("bgsave-instant");
    let node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", ""])
        .start();
    let mut c = node.client();
    zero_counters(&mut c, N);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (client, stop) = (node.client(), Arc::clone(&stop));
        std::thread::spawn(move || increment_rounds(client, N, &stop))
    };
    wait_until(Duration::from_secs(10), "the writer to start", || {
        c.cmd("GET k0") != ferrodis_suite::reply::bulk("0")
    });
    // Keep saving until three saves caught the writer in the middle of a
    // round (first counter ahead of the last): those are the ones a
    // snapshot mixing instants would get wrong.
    let (mut saves, mut mid_round) = (0, 0);
    while mid_round < 3 {
        assert!(
            saves < 30,
            "30 saves, only {mid_round} in the middle of a round"
        );
        bgsave_and_wait(&mut c);
        saves += 1;
        let bytes = std::fs::read(data.path().join("dump.rdb")).expect("read dump.rdb");
        let values = counters_in_rdb(&bytes, N);
        for (i, w) in values.windows(2).enumerate() {
            assert!(
                w[0] >= w[1],
                "save {saves}: not one instant: k{i} = {}, k{} = {}",
                w[0],
                i + 1,
                w[1]
            );
        }
        let spread = values[0] - values[N - 1];
        assert!(spread <= 1, "save {saves}: k0 - k{} = {spread}", N - 1);
        mid_round += usize::from(spread == 1);
    }
    stop.store(true, Ordering::Relaxed);
    let rounds = writer.join().expect("writer thread");
    assert!(rounds > 0);
    eprintln!("bgsave one instant: {saves} saves, {mid_round} mid-round, {rounds} writer rounds");
}

/// Keys for the BGSAVE stall figure: a million in release builds (`cargo
/// test --release --test persist_crash bgsave_of -- --nocapture` prints
/// the figure to report); a fifth of that in debug builds, where filling
/// and saving a million keys takes over 20 s.
const STALL_KEYS: usize = if cfg!(debug_assertions) {
    200_000
} else {
    1_000_000
};

/// What a client saw during one BGSAVE.
struct Stall {
    /// Until the BGSAVE's reply, and until the save ended.
    answered: Duration,
    took: Duration,
    /// Replies the pinging client got meanwhile, and its longest wait.
    pings: u64,
    worst: Duration,
    /// Writes the writing client got acknowledged meanwhile, and its
    /// longest wait.
    writes: u64,
    worst_write: Duration,
}

/// Fills `node` with `STALL_KEYS` keys, then runs a BGSAVE while one
/// client pings and another overwrites random keys (16 SETs in flight), and
/// measures the longest wait each saw.
fn stall_during_bgsave(node: &Server) -> Stall {
    let mut c = node.client();
    let batches: Vec<usize> = (0..STALL_KEYS).step_by(1000).collect();
    for window in batches.chunks(16) {
        for &start in window {
            let mut args = vec!["MSET".to_owned()];
            for i in start..start + 1000 {
                args.push(format!("key:{i}"));
                args.push(format!("value:{i}"));
            }
            c.send(&args);
        }
        for _ in window {
            assert_eq!(c.read(), ok());
        }
    }
    assert_eq!(c.cmd("DBSIZE"), int(STALL_KEYS as i64));

    let stop = Arc::new(AtomicBool::new(false));
    let pinger = {
        let (mut p, stop) = (node.client(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let (mut worst, mut pings) = (Duration::ZERO, 0u64);
            let mut last = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(p.cmd("PING"), simple("PONG"));
                let now = Instant::now();
                worst = worst.max(now - last);
                last = now;
                pings += 1;
            }
            (worst, pings)
        })
    };
    let writer = {
        let (mut w, stop) = (node.client(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut rng = Rng(7);
            let (mut worst, mut writes) = (Duration::ZERO, 0u64);
            let mut last = Instant::now();
            let set = |w: &mut Client, rng: &mut Rng| {
                let i = rng.range(0, STALL_KEYS as u64);
                w.send(&["SET".to_owned(), format!("key:{i}"), format!("new:{i}")]);
            };
            for _ in 0..16 {
                set(&mut w, &mut rng);
            }
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(w.read(), ok());
                let now = Instant::now();
                worst = worst.max(now - last);
                last = now;
                writes += 1;
                set(&mut w, &mut rng);
            }
            for _ in 0..16 {
                assert_eq!(w.read(), ok());
            }
            (worst, writes)
        })
    };
    // Both clients running before the save starts.
    std::thread::sleep(Duration::from_millis(200));
    let (answered, took) = bgsave_and_wait(&mut c);
    stop.store(true, Ordering::Relaxed);
    let (worst, pings) = pinger.join().expect("pinger thread");
    let (worst_write, writes) = writer.join().expect("writer thread");
    Stall {
        answered,
        took,
        pings,
        worst,
        writes,
        worst_write,
    }
}

/// 2c. The longest waits of a pinging and a writing client while a BGSAVE
/// of `STALL_KEYS` keys runs, in Ferrodis and in Redis (fork) in one run
/// (printed: the figures to report).
#[test]
fn bgsave_of_a_million_keys_keeps_serving() {
    let mut seen = Vec::new();
    for kind in ["redis", "ferrodis"] {
        let data = TempDir::new("bgsave-stall");
        let launch = if kind == "redis" {
            Launch::redis()
        } else {
            Launch::ferrodis()
        };
        let node = launch.dir(data.path()).args(&["--save", ""]).start();
        let s = stall_during_bgsave(&node);
        let size = std::fs::metadata(data.path().join("dump.rdb"))
            .expect("dump.rdb")
            .len();
        eprintln!(
            "{kind}: BGSAVE of {STALL_KEYS} keys ({size} bytes) took {:?} (answered in {:?}); meanwhile a pinging client got {} replies, longest wait {:?}, and a writing client {} acknowledged SETs, longest wait {:?}",
            s.took, s.answered, s.pings, s.worst, s.writes, s.worst_write
        );
        seen.push((kind, s));
    }
    for (kind, s) in &seen {
        // A save done in the foreground would stall the clients for all
        // of it.
        assert!(
            s.pings > 0 && s.writes > 0 && s.worst * 4 < s.took && s.worst_write * 4 < s.took,
            "{kind} stopped answering for {:?} / {:?} of a {:?} BGSAVE",
            s.worst,
            s.worst_write,
            s.took
        );
    }
}

/// The string values of an RDB file, by key.
fn strings_in_rdb(bytes: &[u8]) -> std::collections::HashMap<String, i64> {
    let mut reader = RdbReader::new(bytes).expect("RDB header");
    let mut out = std::collections::HashMap::new();
    while let Some(item) = reader.next_item().expect("valid RDB") {
        if let RdbItem::Entry(e) = item {
            let RdbValue::String(v) = e.object.value else {
                continue;
            };
            let v: i64 = std::str::from_utf8(&v).expect("utf-8").parse().expect("n");
            out.insert(String::from_utf8(e.key).expect("utf-8 key"), v);
        }
    }
    out
}

/// 2c. Commands that change several keys are wholly in or wholly out of a
/// BGSAVE, as under Redis' fork: a MULTI/EXEC incrementing `t0..t99` (with
/// a 3 ms sleep in the middle), and
/// an MSET of `m0..m99`, run by other worker threads while saves start.
/// Every `t<i>` of the file holds one value, every `m<i>` another.
#[test]
fn bgsave_keeps_multi_key_writes_whole() {
    const KEYS: usize = 100;
    const SAVES: usize = 60;
    let data = TempDir::new("bgsave-atomic");
    let node = Launch::ferrodis()
        .dir(data.path())
        .args(&["--save", "", "--io-threads", "3"])
        .start();
    let stop = Arc::new(AtomicBool::new(false));
    let transactions = {
        let (mut c, stop) = (node.client(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                c.send(&["MULTI"]);
                for i in 0..KEYS {
                    if i == KEYS / 2 {
                        // Hold the transaction open long enough for saves
                        // to start in the middle of it.
                        c.send(&["DEBUG", "SLEEP", "0.003"]);
                    }
                    c.send(&["INCR", &format!("t{i}")]);
                }
                c.send(&["EXEC"]);
                for _ in 0..KEYS + 2 {
                    c.read();
                }
                assert!(matches!(c.read(), Frame::Array(_)), "EXEC failed");
                n += 1;
            }
            n
        })
    };
    let msets = {
        let (mut c, stop) = (node.client(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let mut args = vec!["MSET".to_owned()];
                for i in 0..KEYS {
                    args.push(format!("m{i}"));
                    args.push(n.to_string());
                }
                assert_eq!(c.call(&args), ok());
            }
            n
        })
    };
    let mut c = node.client();
    wait_until(Duration::from_secs(10), "both writers to start", || {
        c.cmd("EXISTS t49 m49") == int(2)
    });
    for save in 0..SAVES {
        // A new connection each time: it lands on whichever worker accepts
        // it first, often not the one running the transaction.
        let mut c = node.client();
        bgsave_and_wait(&mut c);
        let bytes = std::fs::read(data.path().join("dump.rdb")).expect("read dump.rdb");
        let values = strings_in_rdb(&bytes);
        for prefix in ["t", "m"] {
            let seen: std::collections::BTreeSet<i64> = (0..KEYS)
                .map(|i| values.get(&format!("{prefix}{i}")).copied().unwrap_or(0))
                .collect();
            assert_eq!(
                seen.len(),
                1,
                "save {save}: {prefix}0..{prefix}{} hold {seen:?}: a write torn by the snapshot",
                KEYS - 1
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (t, m) = (
        transactions.join().expect("writer"),
        msets.join().expect("writer"),
    );
    eprintln!("bgsave atomicity: {t} transactions and {m} MSETs across {SAVES} saves");
}
