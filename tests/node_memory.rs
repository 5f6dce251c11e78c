//! A real `ferrodis-node` under `maxmemory`: `INFO memory` follows the data,
//! each eviction policy keeps the right class of keys, and `noeviction`
//! (or a volatile policy without volatile keys) answers Redis' -OOM, inside
//! MULTI too.

use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{error, int, ok, simple};
use ferrodis_suite::{Client, Server};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
/// A 100-byte value.
const VALUE: &str = "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv";

/// A field of `INFO memory`.
fn info_field(c: &mut Client, name: &str) -> String {
    let text = match c.cmd("INFO memory") {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO replied {other:?}"),
    };
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {name} in {text}"))
        .trim()
        .to_owned()
}

fn used_memory(c: &mut Client) -> u64 {
    info_field(c, "used_memory").parse().unwrap()
}

/// Sends `commands` in pipelines of 50 (small enough that the connection's
/// buffers stay small next to the limits tested); returns the replies.
fn pipeline(c: &mut Client, commands: &[Vec<String>]) -> Vec<Frame> {
    let mut out = Vec::with_capacity(commands.len());
    for chunk in commands.chunks(50) {
        for cmd in chunk {
            c.send(cmd);
        }
        for _ in chunk {
            out.push(c.read());
        }
    }
    out
}

fn set_cmd(key: &str, ttl: Option<u64>) -> Vec<String> {
    let mut cmd = vec!["SET".to_owned(), key.to_owned(), VALUE.to_owned()];
    if let Some(t) = ttl {
        cmd.extend(["EX".to_owned(), t.to_string()]);
    }
    cmd
}

fn exists(c: &mut Client, keys: &[String]) -> usize {
    let cmds: Vec<Vec<String>> = keys
        .iter()
        .map(|k| vec!["EXISTS".to_owned(), k.clone()])
        .collect();
    pipeline(c, &cmds)
        .into_iter()
        .filter(|r| *r == int(1))
        .count()
}

fn evicted_keys(c: &mut Client) -> u64 {
    let text = match c.cmd("INFO stats") {
        Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("INFO replied {other:?}"),
    };
    text.lines()
        .find_map(|l| l.strip_prefix("evicted_keys:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Sets `maxmemory` to the current use plus `room` bytes, and `policy`.
fn limit(c: &mut Client, policy: &str, room: u64) {
    assert_eq!(c.call(&["CONFIG", "SET", "maxmemory-policy", policy]), ok());
    let max = used_memory(c) + room;
    assert_eq!(
        c.call(&["CONFIG", "SET", "maxmemory", &max.to_string()]),
        ok()
    );
}

fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}:{i}")).collect()
}

#[test]
fn info_memory_follows_the_data() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    let fields: Vec<String> = match c.cmd("INFO memory") {
        Frame::Bulk(b) => String::from_utf8_lossy(&b)
            .lines()
            .skip(1)
            .filter_map(|l| l.split(':').next().map(str::to_owned))
            .collect(),
        other => panic!("{other:?}"),
    };
    // Redis' order, for the fields Ferrodis reports.
    let expected = [
        "used_memory",
        "used_memory_human",
        "used_memory_rss",
        "used_memory_rss_human",
        "used_memory_peak",
        "used_memory_peak_human",
        "used_memory_peak_perc",
        "used_memory_overhead",
        "used_memory_startup",
        "used_memory_dataset",
        "used_memory_dataset_perc",
        "total_system_memory",
        "total_system_memory_human",
        "maxmemory",
        "maxmemory_human",
        "maxmemory_policy",
        "mem_fragmentation_ratio",
        "mem_fragmentation_bytes",
        "mem_not_counted_for_evict",
        "mem_allocator",
        "lazyfree_pending_objects",
    ];
    assert_eq!(fields, expected);
    assert_eq!(info_field(&mut c, "mem_allocator"), "libc");
    assert_eq!(info_field(&mut c, "maxmemory_policy"), "noeviction");

    let before = used_memory(&mut c);
    let keys = names("key", 100_000);
    let cmds: Vec<Vec<String>> = keys
        .iter()
        .map(|k| vec!["SET".to_owned(), k.clone(), "0123456789abcdef".to_owned()])
        .collect();
    pipeline(&mut c, &cmds);
    let full = used_memory(&mut c);
    // At least the 16-byte values and the per-key structure.
    assert!(
        full > before + 100_000 * 64,
        "used_memory {before} -> {full}"
    );
    let peak: u64 = info_field(&mut c, "used_memory_peak").parse().unwrap();
    assert!(peak >= full);
    let dataset: u64 = info_field(&mut c, "used_memory_dataset").parse().unwrap();
    assert!(dataset > 100_000 * 16, "dataset {dataset}");
    assert_eq!(c.cmd("FLUSHALL"), ok());
    let after = used_memory(&mut c);
    assert!(
        after < before + (full - before) / 10,
        "used_memory {before} -> {full} -> {after} after FLUSHALL"
    );
    // MEMORY USAGE: a key's structures, at least its value's bytes.
    c.call(&["SET", "k", VALUE]);
    match c.cmd("MEMORY USAGE k") {
        Frame::Integer(n) => assert!((100..400).contains(&n), "{n}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.cmd("MEMORY USAGE k SAMPLES 0"), c.cmd("MEMORY USAGE k"));
    assert_eq!(c.cmd("MEMORY USAGE nosuchkey"), Frame::NullBulk);
    assert_eq!(c.cmd("MEMORY USAGE k SAMPLES"), error("ERR syntax error"));
    match c.cmd("MEMORY STATS") {
        Frame::Array(items) => {
            assert!(items.contains(&Frame::Bulk("keys.count".into())));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn noeviction_answers_oom_and_aborts_transactions() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    limit(&mut c, "noeviction", 100_000);
    let keys = names("key", 3000);
    let replies = pipeline(
        &mut c,
        &keys.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
    );
    let refused = replies.iter().filter(|r| **r == error(OOM)).count();
    assert!(refused > 1000, "only {refused} writes refused");
    assert!(replies.iter().all(|r| *r == ok() || *r == error(OOM)));
    // Reads and deletes still work; nothing was evicted.
    assert_eq!(c.call(&["EXISTS", &keys[0]]), int(1));
    assert_eq!(evicted_keys(&mut c), 0);
    // In MULTI, a command that may grow memory is refused when queued, and
    // EXEC then aborts.
    assert_eq!(c.cmd("MULTI"), ok());
    assert_eq!(c.cmd("SET another v"), error(OOM));
    assert_eq!(
        c.cmd("EXEC"),
        error("EXECABORT Transaction discarded because of previous errors.")
    );
    // Inside MULTI, even commands that cannot grow memory are refused while
    // over the limit (queueing takes memory).
    assert_eq!(c.cmd("MULTI"), ok());
    assert_eq!(c.call(&["GET", &keys[0]]), error(OOM));
    assert_eq!(c.cmd("DISCARD"), ok());
    // Raising the limit lets writes through again.
    assert_eq!(c.cmd("CONFIG SET maxmemory 0"), ok());
    assert_eq!(c.cmd("SET another v"), ok());
    // A transaction queued under the limit and executed above it is
    // aborted.
    assert_eq!(c.cmd("MULTI"), ok());
    assert_eq!(c.cmd("SET queued v"), simple("QUEUED"));
    let mut admin = node.client();
    assert_eq!(admin.cmd("CONFIG SET maxmemory 1"), ok());
    assert_eq!(
        c.cmd("EXEC"),
        error(&format!(
            "EXECABORT Transaction discarded because of: {OOM}"
        ))
    );
    assert_eq!(c.cmd("EXISTS queued"), int(0));
    // Commands that cannot grow memory still run.
    assert_eq!(c.call(&["DEL", &keys[0]]), int(1));
    assert_eq!(admin.cmd("CONFIG SET maxmemory 0"), ok());
}

/// Old keys are evicted before recently read ones.
#[test]
fn allkeys_lru_keeps_recently_read_keys() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    limit(&mut c, "allkeys-lru", 400_000);
    let hot = names("hot", 100);
    pipeline(
        &mut c,
        &hot.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
    );
    let old = names("old", 900);
    pipeline(
        &mut c,
        &old.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
    );
    // The LRU clock ticks once a second: batches of writes a second apart,
    // with the hot keys read before every 100 writes, so earlier batches
    // are older than the hot keys however slowly a batch runs.
    let reads: Vec<Vec<String>> = hot
        .iter()
        .map(|k| vec!["GET".to_owned(), k.clone()])
        .collect();
    for batch in 0..4 {
        std::thread::sleep(Duration::from_millis(1100));
        let new = names(&format!("new{batch}"), 1000);
        for chunk in new.chunks(100) {
            pipeline(&mut c, &reads);
            pipeline(
                &mut c,
                &chunk.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
            );
        }
    }
    assert!(evicted_keys(&mut c) > 2000);
    let hot_left = exists(&mut c, &hot);
    let old_left = exists(&mut c, &old);
    assert!(hot_left >= 85, "{hot_left} of 100 hot keys left");
    assert!(old_left <= 100, "{old_left} of 900 old keys left");
}

/// Rarely read keys are evicted before frequently read ones.
#[test]
fn allkeys_lfu_keeps_frequently_read_keys() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    limit(&mut c, "allkeys-lfu", 400_000);
    let hot = names("hot", 100);
    pipeline(
        &mut c,
        &hot.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
    );
    for _ in 0..10 {
        let reads: Vec<Vec<String>> = hot
            .iter()
            .map(|k| vec!["GET".to_owned(), k.clone()])
            .collect();
        pipeline(&mut c, &reads);
    }
    match c.call(&["OBJECT", "FREQ", &hot[0]]) {
        Frame::Integer(n) => assert!(n > 5, "{n}"),
        other => panic!("{other:?}"),
    }
    let cold = names("cold", 5000);
    pipeline(
        &mut c,
        &cold.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
    );
    assert!(evicted_keys(&mut c) > 2000);
    let hot_left = exists(&mut c, &hot);
    assert!(hot_left >= 95, "{hot_left} of 100 hot keys left");
    assert_eq!(
        c.call(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        ok()
    );
    assert!(matches!(
        c.call(&["OBJECT", "FREQ", &hot[0]]),
        Frame::Error(_)
    ));
}

/// Volatile policies evict only keys with a TTL, then refuse writes.
#[test]
fn volatile_policies_keep_keys_without_ttl() {
    for policy in [
        "volatile-lru",
        "volatile-lfu",
        "volatile-random",
        "volatile-ttl",
    ] {
        let node = Server::ferrodis(&[]);
        let mut c = node.client();
        c.cmd("SET warmup 1");
        limit(&mut c, policy, 300_000);
        // Alternately volatile (longer TTLs later) and persistent keys.
        let keys = names("key", 1200);
        let cmds: Vec<Vec<String>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| set_cmd(k, (i % 2 == 0).then_some(10_000 + i as u64)))
            .collect();
        let first = pipeline(&mut c, &cmds);
        assert!(first.iter().all(|r| *r == ok()), "{policy}");
        let more = names("persistent", 4000);
        let replies = pipeline(
            &mut c,
            &more.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
        );
        // Once no key has a TTL, writes are refused.
        assert!(replies.contains(&error(OOM)), "{policy}: never refused");
        let persistent: Vec<String> = keys.iter().skip(1).step_by(2).cloned().collect();
        assert_eq!(exists(&mut c, &persistent), 600, "{policy}");
        let written: Vec<String> = more
            .iter()
            .zip(&replies)
            .filter(|(_, r)| **r == ok())
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(exists(&mut c, &written), written.len(), "{policy}");
        let volatile: Vec<String> = keys.iter().step_by(2).cloned().collect();
        assert!(exists(&mut c, &volatile) < 20, "{policy}");
    }
}

/// volatile-ttl evicts the keys that expire soonest first.
#[test]
fn volatile_ttl_evicts_the_soonest_expiring_first() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    limit(&mut c, "volatile-ttl", 400_000);
    let keys = names("key", 4000);
    let cmds: Vec<Vec<String>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| set_cmd(k, Some(10_000 + i as u64)))
        .collect();
    pipeline(&mut c, &cmds);
    assert!(evicted_keys(&mut c) > 1000);
    let early = exists(&mut c, &keys[..1000]);
    let late = exists(&mut c, &keys[3000..]);
    assert!(
        early < 150 && late > 900,
        "{early} early, {late} late keys left"
    );
}

/// allkeys-random evicts keys with and without a TTL alike.
#[test]
fn allkeys_random_evicts_any_key() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    limit(&mut c, "allkeys-random", 400_000);
    let keys = names("key", 6000);
    let cmds: Vec<Vec<String>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| set_cmd(k, (i % 2 == 0).then_some(100_000)))
        .collect();
    let replies = pipeline(&mut c, &cmds);
    assert!(replies.iter().all(|r| *r == ok()));
    assert!(evicted_keys(&mut c) > 2000);
    let volatile: Vec<String> = keys.iter().step_by(2).cloned().collect();
    let persistent: Vec<String> = keys.iter().skip(1).step_by(2).cloned().collect();
    let (v, p) = (exists(&mut c, &volatile), exists(&mut c, &persistent));
    assert!(
        v > 100 && p > 100 && v < 2900 && p < 2900,
        "{v} volatile, {p} persistent left"
    );
}

/// Replies that must match `redis-server` exactly: error texts of MEMORY
/// and OBJECT, shared-integer refcounts, the -OOM text.
#[test]
fn replies_match_redis() {
    let script: &[&str] = &[
        "SET k 5",
        "SET s hello",
        "MEMORY USAGE",
        "MEMORY STATS x",
        "MEMORY DOCTOR x",
        "MEMORY foo",
        "MEMORY USAGE k samples",
        "MEMORY USAGE k samples -1",
        "MEMORY USAGE k samples x",
        "MEMORY USAGE k foo",
        "MEMORY USAGE nosuch",
        "MEMORY PURGE",
        "MEMORY MALLOC-STATS x",
        "OBJECT FREQ k",
        "OBJECT FREQ nosuch",
        "OBJECT REFCOUNT k",
        "OBJECT REFCOUNT s",
        "CONFIG SET maxmemory-policy allkeys-lfu",
        "OBJECT FREQ k",
        "OBJECT IDLETIME k",
        // Keys written after a change (Ferrodis decides sharing when
        // asked, Redis when the value is written).
        "CONFIG SET maxmemory 1gb",
        "SET k2 7",
        "OBJECT REFCOUNT k2",
        "CONFIG SET maxmemory-policy allkeys-random",
        "SET k3 7",
        "OBJECT REFCOUNT k3",
        "CONFIG SET maxmemory-policy noeviction",
        "CONFIG SET maxmemory 1",
        "SET x y",
        "GET k",
        "MULTI",
        "GET k",
        "EXEC",
        "CONFIG SET maxmemory 0",
        "CONFIG GET maxmemory",
        "CONFIG GET lfu-log-factor",
    ];
    let redis = Server::redis(&[]);
    let node = Server::ferrodis(&[]);
    let (mut r, mut f) = (redis.client(), node.client());
    for line in script {
        assert_eq!(f.cmd(line), r.cmd(line), "{line}");
    }
}

/// Evictions publish Redis' `evicted` keyspace event; RESTORE's FREQ and
/// IDLETIME set the LFU counter or the idle time, whichever the policy
/// uses.
#[test]
fn evicted_events_and_restored_access_data() {
    let node = Server::ferrodis(&[]);
    let mut c = node.client();
    c.cmd("SET warmup 1");
    let mut sub = node.client();
    assert_eq!(c.cmd("CONFIG SET notify-keyspace-events Ee"), ok());
    sub.cmd("SUBSCRIBE __keyevent@0__:evicted");
    limit(&mut c, "allkeys-random", 200_000);
    let keys = names("key", 3000);
    pipeline(
        &mut c,
        &keys.iter().map(|k| set_cmd(k, None)).collect::<Vec<_>>(),
    );
    assert!(evicted_keys(&mut c) > 0);
    match sub.read() {
        Frame::Array(items) => {
            assert_eq!(items.first(), Some(&Frame::Bulk("message".into())));
            assert_eq!(
                items.get(1),
                Some(&Frame::Bulk("__keyevent@0__:evicted".into()))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.cmd("CONFIG SET maxmemory 0"), ok());

    c.cmd("SET src 1");
    let payload = match c.cmd("DUMP src") {
        Frame::Bulk(b) => b,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lfu"), ok());
    assert_eq!(
        c.call(&[&b"RESTORE"[..], b"f", b"0", &payload, b"FREQ", b"100"]),
        ok()
    );
    assert_eq!(c.cmd("OBJECT FREQ f"), int(100));
    assert_eq!(c.cmd("CONFIG SET maxmemory-policy allkeys-lru"), ok());
    assert_eq!(
        c.call(&[&b"RESTORE"[..], b"i", b"0", &payload, b"IDLETIME", b"1000"]),
        ok()
    );
    match c.cmd("OBJECT IDLETIME i") {
        Frame::Integer(n) => assert!((1000..1003).contains(&n), "{n}"),
        other => panic!("{other:?}"),
    }
}
