//! Atomic slot migration between real `ferrodis-node` processes (`CLUSTER
//! MIGRATESLOTS`): writes made while slots move are kept and clients never
//! see `-ASK`; both shards' replicas follow; a million-element hash moves
//! whole without stalling the node; a cancel, or the source or the target
//! killed with SIGKILL in the middle, leaves the source owning every slot
//! and every key in exactly one place, also after the killed node restarts
//! from its AOF.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodis_resp::Frame;
use ferrodis_suite::cluster::{
    addr, assert_readable, bulk_text, create, durable_nodes, ferrodis_nodes, load_keys, myid,
    slot_count, text, trib, verify_keys, wait_healed, wait_settled, wait_slots_seen,
};
use ferrodis_suite::writer::ClusterWriter;
use ferrodis_suite::{cluster_masters_dbsize, wait_until, Client, Server, TempDir};

fn int(c: &mut Client, cmd: &str) -> i64 {
    match c.cmd(cmd) {
        Frame::Integer(n) => n,
        other => panic!("{cmd}: {other:?}"),
    }
}

/// The fields of the last `CLUSTER GETSLOTMIGRATIONS` row on `c`.
fn last_migration(c: &mut Client) -> Vec<(String, String)> {
    let Frame::Array(rows) = c.cmd("CLUSTER GETSLOTMIGRATIONS") else {
        panic!("GETSLOTMIGRATIONS");
    };
    let Some(Frame::Array(row)) = rows.last() else {
        return Vec::new();
    };
    row.chunks(2)
        .filter_map(|kv| match kv {
            [Frame::Bulk(k), Frame::Bulk(v)] => Some((
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )),
            _ => None,
        })
        .collect()
}

fn field(row: &[(String, String)], name: &str) -> String {
    row.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Waits until the last migration on `c` finished; its state.
fn wait_finished(c: &mut Client, limit: Duration) -> String {
    let mut state = String::new();
    wait_until(limit, "the slot migration to finish", || {
        state = field(&last_migration(c), "state");
        matches!(state.as_str(), "success" | "failed" | "cancelled")
    });
    state
}

/// Keys a master holds in slots `from..=to`.
fn keys_in(c: &mut Client, from: u16, to: u16) -> i64 {
    (from..=to)
        .map(|s| int(c, &format!("CLUSTER COUNTKEYSINSLOT {s}")))
        .sum()
}

/// The node of `nodes` serving `slot`, by `nodes[0]`'s view.
fn owner_of(nodes: &[Server], slot: u16) -> usize {
    let text = bulk_text(&mut nodes[0].client(), "CLUSTER NODES");
    let line = text
        .lines()
        .find(|l| {
            l.split(' ').skip(8).any(|r| match r.split_once('-') {
                Some((a, b)) => {
                    a.parse::<u16>().is_ok_and(|a| a <= slot)
                        && b.parse::<u16>().is_ok_and(|b| slot <= b)
                }
                None => r.parse::<u16>() == Ok(slot),
            })
        })
        .expect("an owner");
    let port: u16 = line
        .split(' ')
        .nth(1)
        .and_then(|a| a.split(['@', ':']).nth(1))
        .and_then(|p| p.parse().ok())
        .expect("port");
    nodes
        .iter()
        .position(|n| n.port == port)
        .expect("a node of ours")
}

/// The replica of master `m` among `nodes`.
fn replica_of(nodes: &[Server], m: usize) -> usize {
    let id = myid(&nodes[m]);
    nodes
        .iter()
        .position(|n| {
            bulk_text(&mut n.client(), "CLUSTER NODES")
                .lines()
                .any(|l| l.contains("myself,slave") && l.contains(id.as_str()))
        })
        .expect("a replica")
}

/// Six nodes (3 masters, 3 replicas), `keys` keys, and an empty master
/// with a replica added: returns the nodes, the new master's index (6).
fn cluster_with_empty_master(dir: &Path, keys: usize) -> Vec<Server> {
    let nodes = ferrodis_nodes(dir, 8);
    create(&nodes[..6], 1);
    load_keys(nodes[0].port, keys);
    let entry = addr(&nodes[0]);
    let out = trib(&["add-node", &addr(&nodes[6]), &entry]);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(&nodes[..7]);
    let new_id = myid(&nodes[6]);
    let out = trib(&[
        "add-node",
        &addr(&nodes[7]),
        &entry,
        "--slave",
        "--master-id",
        &new_id,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(&nodes);
    nodes
}

#[test]
fn writes_during_an_atomic_migration_are_kept_and_no_client_is_asked() {
    const KEYS: usize = 20_000;
    let dir = TempDir::new("atomic-writes");
    let nodes = cluster_with_empty_master(dir.path(), KEYS);
    let src = owner_of(&nodes, 0);
    let src_replica = replica_of(&nodes, src);
    let new_id = myid(&nodes[6]);
    let master_ports: Vec<u16> = (0..nodes.len())
        .filter(|&i| slot_count(&nodes[i]) > 0)
        .map(|i| nodes[i].port)
        .collect();
    let writer = ClusterWriter::start(&master_ports, "w");
    writer.wait_progress(200, Duration::from_secs(30));

    // A reader of keys in the moving slots on the source: it may get
    // values or -MOVED, never -ASK or -TRYAGAIN.
    let stop = Arc::new(AtomicBool::new(false));
    let asked = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let reader = {
        let (stop, asked, reads) = (Arc::clone(&stop), Arc::clone(&asked), Arc::clone(&reads));
        let port = nodes[src].port;
        std::thread::spawn(move || {
            let mut c = Client::new(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
            let mut i = 0usize;
            while !stop.load(Ordering::Relaxed) {
                i = (i + 7) % KEYS;
                let key = format!("key:{i}");
                if ferrodis_slots::key_slot(key.as_bytes()).get() > 3000 {
                    continue;
                }
                match c.call(&["GET", &key]) {
                    Frame::Error(e) if e.starts_with(b"ASK") || e.starts_with(b"TRYAGAIN") => {
                        asked.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let mut c = nodes[src].client();
    let reply = c.cmd(&format!(
        "CLUSTER MIGRATESLOTS SLOTSRANGE 0 1000 1001 3000 NODE {new_id}"
    ));
    assert_eq!(reply, Frame::Simple("OK".into()));
    // A slot already moving cannot be moved again.
    let again = c.cmd(&format!(
        "CLUSTER MIGRATESLOTS SLOTSRANGE 3000 3000 NODE {new_id}"
    ));
    let state = wait_finished(&mut c, Duration::from_secs(120));
    let row = last_migration(&mut c);
    assert_eq!(state, "success", "{row:?}");
    assert_eq!(field(&row, "slot_ranges"), "0-1000 1001-3000");
    assert_eq!(field(&row, "operation"), "EXPORT");
    assert!(
        again == Frame::Error("ERR Slot 3000 is already being migrated".into())
            || again == Frame::Simple("OK".into()),
        "{again:?}"
    );
    writer.wait_progress(200, Duration::from_secs(30));
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    let acked = writer.stop();

    assert!(reads.load(Ordering::Relaxed) > 0);
    assert_eq!(asked.load(Ordering::Relaxed), 0, "a client was asked");
    assert_eq!(slot_count(&nodes[6]), 3001);
    wait_slots_seen(&nodes, &nodes[6], 3001);
    // Every acknowledged write reads back, through the cluster.
    let checked = assert_readable(nodes[0].port, &acked, |_| true);
    assert!(checked > 400, "only {checked} writes");
    verify_keys(nodes[0].port, KEYS);
    let total = KEYS as i64 + acked.len() as i64;
    assert_eq!(cluster_masters_dbsize(&nodes), total);
    // The source kept none of the moved keys, nor did its replica; the
    // target's replica has what the target has.
    assert_eq!(keys_in(&mut nodes[src].client(), 0, 3000), 0);
    let mut sr = nodes[src_replica].client();
    wait_until(
        Duration::from_secs(30),
        "the source's replica drops",
        || keys_in(&mut sr, 0, 3000) == 0,
    );
    let target_keys = int(&mut nodes[6].client(), "DBSIZE");
    assert!(target_keys > 3000, "{target_keys}");
    let mut tr = nodes[7].client();
    wait_until(
        Duration::from_secs(30),
        "the target's replica has it",
        || int(&mut tr, "DBSIZE") == target_keys,
    );
    // The old owner redirects for good.
    let moved = nodes[src].client().cmd("GET key:0");
    let slot = ferrodis_slots::key_slot(b"key:0").get();
    assert_eq!(
        moved,
        Frame::Error(format!("MOVED {slot} {}", addr(&nodes[6])).into())
    );
    let out = trib(&["check", &addr(&nodes[0])]);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_million_element_hash_moves_whole_without_stalling_the_node() {
    const FIELDS: usize = 1_000_000;
    let dir = TempDir::new("atomic-big-key");
    let nodes = ferrodis_nodes(dir.path(), 4);
    create(&nodes[..3], 0);
    let out = trib(&["add-node", &addr(&nodes[3]), &addr(&nodes[0])]);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(&nodes);
    let slot = ferrodis_slots::key_slot(b"big").get();
    let src = owner_of(&nodes, slot);
    let mut c = nodes[src].client();
    for chunk in 0..FIELDS / 1000 {
        let mut args = vec!["HSET".to_owned(), "big".to_owned()];
        for i in chunk * 1000..(chunk + 1) * 1000 {
            args.push(format!("f{i}"));
            args.push(i.to_string());
        }
        c.send(&args);
    }
    for _ in 0..FIELDS / 1000 {
        assert_eq!(c.read(), Frame::Integer(1000));
    }
    assert_eq!(int(&mut c, "HLEN big"), FIELDS as i64);
    c.cmd("SET small{big} 1");

    // PING the source all along: it must keep answering.
    let stop = Arc::new(AtomicBool::new(false));
    let pinger = {
        let stop = Arc::clone(&stop);
        let port = nodes[src].port;
        std::thread::spawn(move || {
            let mut p = Client::new(std::net::TcpStream::connect(("127.0.0.1", port)).unwrap());
            p.set_read_timeout(Duration::from_secs(600));
            let mut worst = Duration::ZERO;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                assert_eq!(p.call(&["PING"]), Frame::Simple("PONG".into()));
                worst = worst.max(t.elapsed());
                std::thread::sleep(Duration::from_millis(2));
            }
            worst
        })
    };
    let target_id = myid(&nodes[3]);
    let started = Instant::now();
    assert_eq!(
        c.cmd(&format!(
            "CLUSTER MIGRATESLOTS SLOTSRANGE {slot} {slot} NODE {target_id}"
        )),
        Frame::Simple("OK".into())
    );
    // Until the flip the key is whole on the source, and the target
    // redirects there.
    // The target is busy while it loads the value (RESTORE), as it would
    // be for MIGRATE: wait for its replies.
    let mut t = nodes[3].client();
    t.set_read_timeout(Duration::from_secs(600));
    let mut state = String::new();
    while started.elapsed() < Duration::from_secs(300) {
        state = field(&last_migration(&mut c), "state");
        if state != "success" {
            match t.cmd("HLEN big") {
                Frame::Error(e) => assert!(e.starts_with(b"MOVED"), "{e:?}"),
                Frame::Integer(n) => assert_eq!(n, FIELDS as i64),
                other => panic!("{other:?}"),
            }
        }
        if matches!(state.as_str(), "success" | "failed" | "cancelled") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let worst = pinger.join().unwrap();
    assert_eq!(state, "success", "{:?}", last_migration(&mut c));
    assert_eq!(int(&mut t, "HLEN big"), FIELDS as i64);
    assert_eq!(t.cmd("HGET big f999999"), Frame::Bulk("999999".into()));
    assert_eq!(t.cmd("GET small{big}"), Frame::Bulk("1".into()));
    assert_eq!(int(&mut c, "DBSIZE"), 0);
    assert!(
        worst < Duration::from_millis(500),
        "the source stalled {worst:?} (the move took {took:?})"
    );
}

/// Which node a test kills in the middle of a migration.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stop {
    Cancel,
    KillSource,
    KillTarget,
}

fn interrupted_migration(how: Stop) {
    const KEYS: usize = 60_000;
    let dir = TempDir::new("atomic-interrupted");
    let mut nodes = durable_nodes(dir.path(), 4);
    create(&nodes[..3], 0);
    load_keys(nodes[0].port, KEYS);
    let out = trib(&["add-node", &addr(&nodes[3]), &addr(&nodes[0])]);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(&nodes);
    let src = owner_of(&nodes, 0);
    let before: Vec<i64> = nodes
        .iter()
        .map(|n| int(&mut n.client(), "DBSIZE"))
        .collect();
    let moving = keys_in(&mut nodes[src].client(), 0, 4000);
    assert!(moving > 10_000, "{moving}");
    let target_id = myid(&nodes[3]);
    let mut c = nodes[src].client();
    // 200 µs a key: the snapshot takes about 3 s, time to act in the middle.
    c.cmd("CONFIG SET rdb-key-save-delay 200");
    assert_eq!(
        c.cmd(&format!(
            "CLUSTER MIGRATESLOTS SLOTSRANGE 0 4000 NODE {target_id}"
        )),
        Frame::Simple("OK".into())
    );
    let mut t = nodes[3].client();
    wait_until(Duration::from_secs(60), "some keys to arrive", || {
        int(&mut t, "DBSIZE") >= 2000
    });
    assert_ne!(field(&last_migration(&mut c), "state"), "success");
    let killed = match how {
        Stop::Cancel => {
            assert_eq!(c.cmd("CLUSTER CANCELSLOTMIGRATIONS"), Frame::Integer(1));
            None
        }
        Stop::KillSource => Some(src),
        Stop::KillTarget => Some(3),
    };
    if let Some(k) = killed {
        nodes[k].kill();
    }
    if how != Stop::KillSource {
        let state = wait_finished(&mut c, Duration::from_secs(60));
        let expected = if how == Stop::Cancel {
            "cancelled"
        } else {
            "failed"
        };
        assert_eq!(state, expected, "{:?}", last_migration(&mut c));
    }
    if let Some(k) = killed {
        nodes[k].restart();
        wait_healed(&nodes);
    }
    // The source serves the slots and has every key; the target has
    // none of them (dropped when the stream ended, or at its restart).
    assert_eq!(owner_of(&nodes, 0), src);
    assert_eq!(owner_of(&nodes, 4000), src);
    let mut s = nodes[src].client();
    assert_eq!(keys_in(&mut s, 0, 4000), moving);
    let mut t = nodes[3].client();
    wait_until(
        Duration::from_secs(30),
        "the target drops its copies",
        || int(&mut t, "DBSIZE") == 0,
    );
    let after: Vec<i64> = nodes
        .iter()
        .map(|n| int(&mut n.client(), "DBSIZE"))
        .collect();
    assert_eq!(after, before);
    assert!(
        !dir.path().join("node3/nodes.conf.import").exists(),
        "the import marker is left"
    );
    if how == Stop::KillTarget {
        assert!(
            nodes[3].log().contains("A slot import was interrupted"),
            "{}",
            nodes[3].log()
        );
    }
    verify_keys(nodes[0].port, KEYS);
    let out = trib(&["check", &addr(&nodes[0])]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    // And the move succeeds when tried again.
    s.cmd("CONFIG SET rdb-key-save-delay 0");
    assert_eq!(
        s.cmd(&format!(
            "CLUSTER MIGRATESLOTS SLOTSRANGE 0 4000 NODE {target_id}"
        )),
        Frame::Simple("OK".into())
    );
    assert_eq!(wait_finished(&mut s, Duration::from_secs(120)), "success");
    assert_eq!(int(&mut t, "DBSIZE"), moving);
    verify_keys(nodes[0].port, KEYS);
}

#[test]
fn a_cancelled_migration_leaves_the_source_owning_everything() {
    interrupted_migration(Stop::Cancel);
}

#[test]
fn killing_the_target_mid_migration_loses_nothing() {
    interrupted_migration(Stop::KillTarget);
}

#[test]
fn killing_the_source_mid_migration_loses_nothing() {
    interrupted_migration(Stop::KillSource);
}

#[test]
fn migrateslots_refuses_what_it_cannot_do() {
    let dir = TempDir::new("atomic-refusals");
    let nodes = ferrodis_nodes(dir.path(), 3);
    create(&nodes, 0);
    let src = owner_of(&nodes, 0);
    let other = (src + 1) % 3;
    let other_id = myid(&nodes[other]);
    let mut c = nodes[src].client();
    let err = |c: &mut Client, cmd: &str| match c.cmd(cmd) {
        Frame::Error(e) => String::from_utf8_lossy(&e).into_owned(),
        other => panic!("{cmd}: {other:?}"),
    };
    assert_eq!(
        err(
            &mut c,
            &format!("CLUSTER MIGRATESLOTS SLOTSRANGE 16000 16001 NODE {other_id}")
        ),
        "ERR I'm not the owner of hash slot 16000"
    );
    assert_eq!(
        err(
            &mut c,
            "CLUSTER MIGRATESLOTS SLOTSRANGE 0 1 NODE 0123456789012345678901234567890123456789"
        ),
        "ERR I don't know about node 0123456789012345678901234567890123456789"
    );
    let me = myid(&nodes[src]);
    assert_eq!(
        err(
            &mut c,
            &format!("CLUSTER MIGRATESLOTS SLOTSRANGE 0 1 NODE {me}")
        ),
        "ERR Can't migrate slots to myself"
    );
    assert_eq!(
        err(
            &mut c,
            &format!("CLUSTER MIGRATESLOTS SLOTSRANGE 5 1 NODE {other_id}")
        ),
        "ERR start slot number 5 is greater than end slot number 1"
    );
    c.cmd(&format!("CLUSTER SETSLOT 7 MIGRATING {other_id}"));
    assert_eq!(
        err(
            &mut c,
            &format!("CLUSTER MIGRATESLOTS SLOTSRANGE 0 10 NODE {other_id}")
        ),
        "ERR Slot 7 is being migrated with SETSLOT"
    );
    // The target side refuses a stream for slots it serves.
    let mut o = nodes[other].client();
    let theirs = if owner_of(&nodes, 5461) == other {
        5461
    } else {
        10923
    };
    assert_eq!(
        err(
            &mut o,
            &format!("CLUSTER SYNCSLOTS BEGIN {me} {theirs} {theirs}")
        ),
        format!("ERR I'm already the owner of hash slot {theirs}")
    );
    assert_eq!(
        err(&mut o, "CLUSTER SYNCSLOTS COMMIT"),
        "ERR No slot import on this connection"
    );
}
