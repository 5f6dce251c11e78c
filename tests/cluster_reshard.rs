//! Live resharding on real processes: MIGRATE between `ferrodis-node`s;
//! the operators' walkthrough with `ferrodis-trib` (add-node, reshard,
//! del-node on a 3+3 cluster holding 30,000 keys; its slot moves between
//! Ferrodis nodes are atomic slot migrations); the seeds' move of slot
//! 9842 by hand; a redis-py cluster client working through atomic and
//! key-by-key reshards and a rebalance; and both admin tools (Debian's
//! `redis-cli --cluster` and `ferrodis-trib`) against the other project's
//! nodes.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::cluster::{
    addr, bulk_text, create, ferrodis_nodes, load_keys, myid, redis_cli, run, slot_count, text,
    trib, verify_keys, wait_settled, wait_slots_seen,
};
use ferrodis_suite::reply::{bulk, error, ok, simple};
use ferrodis_suite::{
    cluster_masters_dbsize, redis_cluster_nodes, tool_binary, wait_until, Client, Launch, TempDir,
};

#[test]
fn migrate_moves_copies_and_reports_as_redis() {
    let a = Launch::ferrodis().start();
    let b = Launch::ferrodis().start();
    let (mut ca, mut cb) = (a.client(), b.client());
    let port = b.port.to_string();
    ca.call(&["SET", "k", "v"]);
    ca.call(&["SET", "t", "x", "PX", "100000"]);
    let migrate = |c: &mut Client, extra: &[&str]| {
        let mut args = vec!["MIGRATE", "127.0.0.1", port.as_str()];
        args.extend(extra);
        c.call(&args)
    };
    assert_eq!(migrate(&mut ca, &["k", "0", "5000"]), ok());
    assert_eq!(ca.call(&["EXISTS", "k"]), Frame::Integer(0));
    assert_eq!(cb.call(&["GET", "k"]), bulk("v"));
    assert_eq!(migrate(&mut ca, &["k", "0", "5000"]), simple("NOKEY"));
    // COPY keeps the source; an existing target key is BUSYKEY unless
    // REPLACE.
    ca.call(&["SET", "k", "w"]);
    assert_eq!(
        migrate(&mut ca, &["k", "0", "5000", "COPY"]),
        error("ERR Target instance replied with error: BUSYKEY Target key name already exists.")
    );
    assert_eq!(
        migrate(
            &mut ca,
            &["", "3", "5000", "COPY", "REPLACE", "KEYS", "k", "t", "nokey"]
        ),
        ok()
    );
    assert_eq!(ca.call(&["GET", "k"]), bulk("w"));
    cb.call(&["SELECT", "3"]);
    assert_eq!(cb.call(&["GET", "k"]), bulk("w"));
    let Frame::Integer(pttl) = cb.call(&["PTTL", "t"]) else {
        panic!("no PTTL");
    };
    assert!((90_000..=100_000).contains(&pttl), "{pttl}");
    assert_eq!(
        ca.info_field("migrate_cached_sockets").as_deref(),
        Some("1")
    );
    // Errors: the KEYS form with a key, a dead target.
    assert_eq!(
        migrate(&mut ca, &["k", "0", "5000", "KEYS", "k"]),
        error(
            "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
        )
    );
    let dead = ferrodis_suite::free_port().to_string();
    assert_eq!(
        ca.call(&["MIGRATE", "127.0.0.1", dead.as_str(), "k", "0", "500"]),
        error("IOERR error or timeout connecting to the client")
    );
    assert_eq!(ca.call(&["GET", "k"]), bulk("w"));
}

/// Slot 9842 (key `1`) moved by hand as the seeds do, with the
/// redirections a client meets halfway, and the config epoch bump.
#[test]
fn slot_9842_moved_by_hand() {
    let dir = TempDir::new("reshard-9842");
    let nodes = ferrodis_nodes(dir.path(), 3);
    create(&nodes, 0);
    let mut any = nodes[0].client();
    assert_eq!(any.call(&["CLUSTER", "KEYSLOT", "1"]), Frame::Integer(9842));
    let src = nodes
        .iter()
        .find(|n| {
            let mut c = n.client();
            c.call(&["CLUSTER", "COUNTKEYSINSLOT", "9842"]) == Frame::Integer(0)
                && !matches!(c.call(&["GET", "1"]), Frame::Error(_))
        })
        .expect("the owner of 9842");
    let dst = nodes.iter().find(|n| n.port != src.port).expect("another");
    let (src_id, dst_id) = (myid(src), myid(dst));
    let (mut s, mut d) = (src.client(), dst.client());
    for k in ["1", "{1}a", "{1}b"] {
        assert_eq!(s.call(&["SET", k, k]), ok());
    }
    assert_eq!(
        d.call(&["CLUSTER", "SETSLOT", "9842", "IMPORTING", src_id.as_str()]),
        ok()
    );
    assert_eq!(
        s.call(&["CLUSTER", "SETSLOT", "9842", "MIGRATING", dst_id.as_str()]),
        ok()
    );
    let keys = ferrodis_suite::sorted_bulks(s.call(&["CLUSTER", "GETKEYSINSLOT", "9842", "10"]));
    assert_eq!(keys, ["1", "{1}a", "{1}b"]);
    let dport = dst.port.to_string();
    assert_eq!(
        s.call(&["MIGRATE", "127.0.0.1", dport.as_str(), "1", "0", "5000"]),
        ok()
    );
    // Halfway: present keys here, missing ones asked of the target,
    // a mix refused for now; the target serves only after ASKING.
    assert_eq!(s.call(&["GET", "{1}a"]), bulk("{1}a"));
    assert_eq!(
        s.call(&["GET", "1"]),
        error(&format!("ASK 9842 127.0.0.1:{}", dst.port))
    );
    assert_eq!(
        s.call(&["MGET", "1", "{1}a"]),
        error("TRYAGAIN Multiple keys request during rehashing of slot")
    );
    assert_eq!(
        d.call(&["GET", "1"]),
        error(&format!("MOVED 9842 127.0.0.1:{}", src.port))
    );
    d.call(&["ASKING"]);
    assert_eq!(d.call(&["GET", "1"]), bulk("1"));
    for k in &keys[1..] {
        assert_eq!(
            s.call(&[
                "MIGRATE",
                "127.0.0.1",
                dport.as_str(),
                k.as_str(),
                "0",
                "5000"
            ]),
            ok()
        );
    }
    assert_eq!(
        s.call(&["CLUSTER", "COUNTKEYSINSLOT", "9842"]),
        Frame::Integer(0)
    );
    let epoch_of = |text: &str, id: &str| -> u64 {
        text.lines()
            .find(|l| l.starts_with(id))
            .and_then(|l| l.split(' ').nth(6))
            .and_then(|e| e.parse().ok())
            .unwrap_or(0)
    };
    let before = bulk_text(&mut d, "CLUSTER NODES");
    let max_before = nodes
        .iter()
        .map(|n| epoch_of(&before, &myid(n)))
        .max()
        .unwrap_or(0);
    for c in [&mut d, &mut s] {
        assert_eq!(
            c.call(&["CLUSTER", "SETSLOT", "9842", "NODE", dst_id.as_str()]),
            ok()
        );
    }
    // The importing node took a new epoch of its own, without a vote.
    let after = bulk_text(&mut d, "CLUSTER NODES");
    assert!(epoch_of(&after, &dst_id) > max_before, "{before}\n{after}");
    assert_eq!(
        s.call(&["GET", "1"]),
        error(&format!("MOVED 9842 127.0.0.1:{}", dst.port))
    );
    assert_eq!(d.call(&["GET", "1"]), bulk("1"));
    wait_slots_seen(&nodes, dst, slot_count(dst));
    let check = trib(&["check", &addr(&nodes[0])]);
    assert!(check.status.success(), "{}", text(&check));
}

/// The walkthrough: add a master, give it 4096 slots, add a replica to it,
/// take the slots away, remove both; 30,000 keys all along.
#[test]
fn walkthrough_add_reshard_and_remove_nodes() {
    const KEYS: usize = 30_000;
    let dir = TempDir::new("reshard-walkthrough");
    let nodes = ferrodis_nodes(dir.path(), 8);
    let (first, extra) = nodes.split_at(6);
    create(first, 1);
    let entry = addr(&first[0]);
    load_keys(first[0].port, KEYS);
    assert_eq!(cluster_masters_dbsize(&nodes), KEYS as i64);

    // add-node: a new, empty master.
    let new = &extra[0];
    let out = trib(&["add-node", &addr(new), &entry]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!(
        ">>> Adding node {} to cluster {entry}\n",
        addr(new)
    )));
    assert!(
        report.contains("[OK] New node added correctly."),
        "{report}"
    );
    wait_settled(&nodes[..7]);
    let new_id = myid(new);

    // reshard 4096 slots to it from all the masters.
    let out = trib(&[
        "reshard", &entry, "--from", "all", "--to", &new_id, "--slots", "4096", "--yes",
    ]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("\nReady to move 4096 slots.\n"), "{report}");
    assert_eq!(report.matches("\n    Moving slot ").count(), 4096);
    // Between Ferrodis nodes the slots move by atomic slot migration, one
    // stream per source.
    assert_eq!(
        report
            .matches(&format!(" to {} (atomic slot migration)\n", addr(new)))
            .count(),
        3,
        "{report}"
    );
    assert_eq!(slot_count(new), 4096);
    assert_eq!(cluster_masters_dbsize(&nodes), KEYS as i64);
    wait_slots_seen(&nodes[..7], new, 4096);
    let out = trib(&["check", &entry]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("[OK] All 16384 slots covered."), "{report}");
    assert!(report.contains(&format!("M: {new_id} {}\n   slots:", addr(new))));
    assert!(report.contains("(4096 slots) master"), "{report}");

    // add-node --slave --master-id: a replica of the new master.
    let replica = &extra[1];
    let out = trib(&[
        "add-node",
        &addr(replica),
        &entry,
        "--slave",
        "--master-id",
        &new_id,
    ]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!(">>> Configure node as replica of {}.", addr(new))));
    wait_settled(&nodes);
    let mut rc = replica.client();
    wait_until(Duration::from_secs(30), "replica of the new node", || {
        bulk_text(&mut rc, "CLUSTER NODES")
            .lines()
            .any(|l| l.contains("myself,slave") && l.contains(new_id.as_str()))
    });
    assert_eq!(cluster_masters_dbsize(&nodes), KEYS as i64);

    // del-node refuses a master that still has slots.
    let out = trib(&["del-node", &entry, &new_id]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(report.contains(&format!(
        "[ERR] Node {} is not empty! Reshard data away and try again.",
        addr(new)
    )));

    // Take all its slots away, to the first master.
    let to = myid(&first[0]);
    let out = trib(&[
        "reshard", &entry, "--from", &new_id, "--to", &to, "--slots", "4096", "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(slot_count(new), 0);
    assert_eq!(cluster_masters_dbsize(&nodes), KEYS as i64);
    wait_slots_seen(&nodes, new, 0);

    // When a master gives its last slot away, its replica follows the
    // node that took it (Redis' clusterUpdateSlotsConfigWith), so
    // del-node will find no replica of it to move.
    let mut rc = replica.client();
    wait_until(
        Duration::from_secs(30),
        "the replica follows the slots",
        || {
            bulk_text(&mut rc, "CLUSTER NODES")
                .lines()
                .any(|l| l.contains("myself,slave") && l.contains(to.as_str()))
        },
    );

    // Now del-node removes it (its replica moves to another master), then
    // the replica itself.
    let out = trib(&["del-node", &entry, &new_id]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(">>> Sending CLUSTER FORGET messages to the cluster..."));
    assert!(report.contains(">>> Sending CLUSTER RESET SOFT to the deleted node."));
    let replica_id = myid(replica);
    let out = trib(&["del-node", &entry, &replica_id]);
    assert!(out.status.success(), "{}", text(&out));
    for n in first {
        let known = bulk_text(&mut n.client(), "CLUSTER NODES");
        assert!(!known.contains(new_id.as_str()), "{known}");
        assert!(!known.contains(replica_id.as_str()), "{known}");
    }
    assert_eq!(cluster_masters_dbsize(first), KEYS as i64);
    let out = trib(&["check", &entry]);
    assert!(out.status.success(), "{}", text(&out));
    verify_keys(first[0].port, KEYS);
}

/// redis-py's cluster client reading and writing random keys while
/// `ferrodis-trib reshard` moves 1000 slots: no error it cannot retry, no
/// lost or stale value.
#[test]
fn redis_py_works_through_a_reshard() {
    redis_py_through_a_reshard("reshard-redis-py", &[]);
}

/// The same while the slots move key by key (`--legacy`: SETSLOT,
/// MIGRATE, clients following `-ASK`), as between Redis nodes.
#[test]
fn redis_py_works_through_a_legacy_reshard() {
    redis_py_through_a_reshard("reshard-redis-py-legacy", &["--legacy"]);
}

/// Three masters; 1000 slots resharded to the third with `extra`
/// options while redis-py works (see [`with_redis_py_load`]).
fn redis_py_through_a_reshard(tag: &str, extra: &[&str]) {
    let dir = TempDir::new(tag);
    let nodes = ferrodis_nodes(dir.path(), 3);
    create(&nodes, 0);
    let to = myid(&nodes[2]);
    let entry = addr(&nodes[0]);
    let mut args = vec![
        "reshard",
        &entry,
        "--from",
        "all",
        "--to",
        &to,
        "--slots",
        "1000",
        "--yes",
        "--pipeline",
        "5",
    ];
    args.extend_from_slice(extra);
    with_redis_py_load(dir.path(), nodes[0].port, || trib(&args));
}

/// The same client check while `ferrodis-trib rebalance
/// --use-empty-masters` fills a master added empty.
#[test]
fn redis_py_works_through_a_rebalance() {
    let dir = TempDir::new("rebalance-redis-py");
    let nodes = ferrodis_nodes(dir.path(), 4);
    create(&nodes[..3], 0);
    let out = trib(&["add-node", &addr(&nodes[3]), &addr(&nodes[0])]);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(&nodes);
    with_redis_py_load(dir.path(), nodes[0].port, || {
        trib(&[
            "rebalance",
            &addr(&nodes[0]),
            "--use-empty-masters",
            "--pipeline",
            "5",
        ])
    });
    let mut c = nodes[3].client();
    let Frame::Bulk(info) = c.cmd("CLUSTER NODES") else {
        panic!("CLUSTER NODES");
    };
    let mine = String::from_utf8_lossy(&info)
        .lines()
        .find(|l| l.contains("myself"))
        .map(|l| l.split(' ').skip(8).count())
        .unwrap_or(0);
    assert!(mine > 0, "the empty master got no slots");
}

/// Runs redis-py's `RedisCluster` on 2000 keys, reading and writing at
/// random, while `admin` runs; then checks that the client met no error
/// and no stale value, and that every key holds its last write.
fn with_redis_py_load(dir: &Path, port: u16, admin: impl FnOnce() -> Output) {
    let stop = dir.join("stop");
    let script = format!(
        "import os, random, redis.cluster as rc\n\
         c = rc.RedisCluster(host='127.0.0.1', port={port})\n\
         exp = {{}}\n\
         for i in range(2000):\n    c.set(f'k{{i}}', 0); exp[i] = b'0'\n\
         open(r'{ready}', 'w').close()\n\
         n = errors = stale = 0\n\
         while not os.path.exists(r'{stop}') or n < 2000:\n    \
         n += 1; i = random.randrange(2000)\n    \
         try:\n        \
         if random.random() < 0.5:\n            c.set(f'k{{i}}', n); exp[i] = str(n).encode()\n        \
         elif c.get(f'k{{i}}') != exp[i]: stale += 1\n    \
         except Exception as e:\n        errors += 1; print('error', type(e).__name__, e)\n\
         wrong = [i for i in range(2000) if c.get(f'k{{i}}') != exp[i]]\n\
         print(f'ops={{n}} errors={{errors}} stale={{stale}} wrong={{len(wrong)}}')\n\
         assert errors == 0 and stale == 0 and not wrong\n",
        ready = dir.join("ready").display(),
        stop = stop.display(),
    );
    let worker = Command::new("python3")
        .args(["-c", &script])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start python3");
    wait_until(Duration::from_secs(60), "redis-py loaded", || {
        dir.join("ready").exists()
    });
    let out = admin();
    std::fs::write(&stop, b"").expect("stop file");
    let done = worker.wait_with_output().expect("python3");
    let report = text(&done);
    assert!(out.status.success(), "{}", text(&out));
    assert!(done.status.success(), "{report}");
    assert!(report.contains("errors=0 stale=0 wrong=0"), "{report}");
}

/// Debian's `redis-cli --cluster` add-node / reshard / fix / rebalance /
/// del-node on Ferrodis nodes.
#[test]
fn redis_cli_reshards_ferrodis_nodes() {
    let dir = TempDir::new("reshard-redis-cli");
    let nodes = ferrodis_nodes(dir.path(), 4);
    create(&nodes[..3], 0);
    let entry = addr(&nodes[0]);
    load_keys(nodes[0].port, 2000);
    let new = &nodes[3];
    let out = redis_cli(&["--cluster", "add-node", &addr(new), &entry], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("[OK] New node added correctly."));
    wait_settled(&nodes);
    let new_id = myid(new);
    let out = redis_cli(
        &[
            "--cluster",
            "reshard",
            &entry,
            "--cluster-from",
            "all",
            "--cluster-to",
            &new_id,
            "--cluster-slots",
            "500",
            "--cluster-yes",
        ],
        b"",
    );
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    // redis-cli's shares: the largest source rounds up, the others down
    // (167 + 166 + 166 of 5462, 5461, 5461 slots).
    let planned = report.matches("\n    Moving slot ").count();
    assert_eq!(planned, 499, "{report}");
    assert_eq!(slot_count(new), planned);
    assert_eq!(cluster_masters_dbsize(&nodes), 2000);
    wait_slots_seen(&nodes, new, planned);

    // An open slot left behind (IMPORTING/MIGRATING with no keys moved):
    // fix closes it.
    let src = &nodes[0];
    let slot = bulk_text(&mut src.client(), "CLUSTER NODES")
        .lines()
        .find(|l| l.contains("myself"))
        .and_then(|l| l.split(' ').nth(8))
        .and_then(|r| r.split('-').next())
        .unwrap_or("0")
        .to_owned();
    new.client().call(&[
        "CLUSTER",
        "SETSLOT",
        slot.as_str(),
        "IMPORTING",
        myid(src).as_str(),
    ]);
    src.client().call(&[
        "CLUSTER",
        "SETSLOT",
        slot.as_str(),
        "MIGRATING",
        new_id.as_str(),
    ]);
    let out = redis_cli(&["--cluster", "check", &entry], b"");
    assert!(
        text(&out).contains("[WARNING] The following slots are open"),
        "{}",
        text(&out)
    );
    let out = redis_cli(&["--cluster", "fix", &entry], b"yes\n");
    assert!(out.status.success(), "{}", text(&out));
    let out = redis_cli(&["--cluster", "check", &entry], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cluster_masters_dbsize(&nodes), 2000);

    // redis-cli's rebalance evens the four masters out.
    let out = redis_cli(
        &["--cluster", "rebalance", &entry, "--cluster-threshold", "1"],
        b"",
    );
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(">>> Rebalancing across 4 nodes."),
        "{report}"
    );
    for n in &nodes {
        wait_slots_seen(&nodes, n, slot_count(n));
        let count = slot_count(n);
        assert!((4000..=4200).contains(&count), "{count} slots");
    }
    let out = redis_cli(&["--cluster", "check", &entry], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cluster_masters_dbsize(&nodes), 2000);

    // Give the slots back and remove the node.
    let to = myid(&nodes[1]);
    let slots = slot_count(new).to_string();
    let out = redis_cli(
        &[
            "--cluster",
            "reshard",
            &entry,
            "--cluster-from",
            &new_id,
            "--cluster-to",
            &to,
            "--cluster-slots",
            &slots,
            "--cluster-yes",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out));
    wait_slots_seen(&nodes, new, 0);
    let out = redis_cli(&["--cluster", "del-node", &entry, &new_id], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cluster_masters_dbsize(&nodes[..3]), 2000);
    verify_keys(nodes[0].port, 2000);
}

/// `ferrodis-trib` add-node / reshard (with its prompts) / rebalance /
/// fix / del-node on Debian's `redis-server` nodes.
#[test]
fn ferrodis_trib_reshards_redis_nodes() {
    let dir = TempDir::new("reshard-redis-nodes");
    let nodes = redis_cluster_nodes(dir.path(), 4);
    create(&nodes[..3], 0);
    let entry = addr(&nodes[0]);
    load_keys(nodes[0].port, 2000);
    let new = &nodes[3];
    let out = trib(&["add-node", &addr(new), &entry]);
    assert!(out.status.success(), "{}", text(&out));
    wait_settled(&nodes);
    let new_id = myid(new);
    // The prompts, answered on stdin as an operator would.
    let input = format!("300\n{new_id}\nall\nyes\n");
    let out = run(
        &tool_binary("ferrodis-trib"),
        &["reshard", &entry],
        input.as_bytes(),
    );
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    for prompt in [
        "How many slots do you want to move (from 1 to 16384)? ",
        "What is the receiving node ID? ",
        "Please enter all the source node IDs.\n  Type 'all' to use all the nodes as source nodes for the hash slots.\n  Type 'done' once you entered all the source nodes IDs.\nSource node #1: ",
        "Do you want to proceed with the proposed reshard plan (yes/no)? ",
    ] {
        assert!(report.contains(prompt), "{prompt:?} in\n{report}");
    }
    // 101 + 99 + 99, as redis-cli shares them.
    let planned = report.matches("\n    Moving slot ").count();
    assert_eq!(planned, 299, "{report}");
    assert_eq!(slot_count(new), planned);
    assert_eq!(cluster_masters_dbsize(&nodes), 2000);
    wait_slots_seen(&nodes, new, planned);
    let out = redis_cli(&["--cluster", "check", &entry], b"");
    assert!(out.status.success(), "{}", text(&out));

    // rebalance evens the four Redis masters out, key by key.
    let out = trib(&["rebalance", &entry, "--threshold", "1"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(">>> Rebalancing across 4 nodes."),
        "{report}"
    );
    for n in &nodes {
        wait_slots_seen(&nodes, n, slot_count(n));
        let count = slot_count(n);
        assert!((4000..=4200).contains(&count), "{count} slots");
    }
    assert_eq!(cluster_masters_dbsize(&nodes), 2000);

    // An open slot left on Redis nodes: ferrodis-trib fix closes it.
    let slot = bulk_text(&mut nodes[1].client(), "CLUSTER NODES")
        .lines()
        .find(|l| l.contains("myself"))
        .and_then(|l| l.split(' ').nth(8))
        .and_then(|r| r.split('-').next())
        .unwrap_or("0")
        .to_owned();
    let id1 = myid(&nodes[1]);
    new.client().call(&[
        "CLUSTER",
        "SETSLOT",
        slot.as_str(),
        "IMPORTING",
        id1.as_str(),
    ]);
    nodes[1].client().call(&[
        "CLUSTER",
        "SETSLOT",
        slot.as_str(),
        "MIGRATING",
        new_id.as_str(),
    ]);
    let out = redis_cli(&["--cluster", "check", &entry], b"");
    assert!(!out.status.success(), "{}", text(&out));
    let out = trib(&["fix", &entry]);
    assert!(out.status.success(), "{}", text(&out));
    let out = redis_cli(&["--cluster", "check", &entry], b"");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cluster_masters_dbsize(&nodes), 2000);

    let to = myid(&nodes[0]);
    let slots = slot_count(new).to_string();
    let out = trib(&[
        "reshard", &entry, "--from", &new_id, "--to", &to, "--slots", &slots, "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    wait_slots_seen(&nodes, new, 0);
    let out = trib(&["del-node", &entry, &new_id]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cluster_masters_dbsize(&nodes[..3]), 2000);
    verify_keys(nodes[0].port, 2000);
}

/// `ferrodis-trib fix` closes an open slot and covers an unassigned one;
/// `rebalance` evens out the masters again after a reshard.
#[test]
fn ferrodis_trib_fixes_and_rebalances() {
    let dir = TempDir::new("reshard-fix");
    let nodes = ferrodis_nodes(dir.path(), 3);
    create(&nodes, 0);
    let entry = addr(&nodes[0]);
    load_keys(nodes[0].port, 1000);
    let ids: Vec<String> = nodes.iter().map(myid).collect();

    // A migration of slot 9842 (key:... keys live in many slots; `1`
    // is put there) left open on both sides.
    let mut any = nodes[0].client();
    let owner = nodes
        .iter()
        .position(|n| !matches!(n.client().call(&["GET", "1"]), Frame::Error(_)))
        .expect("owner of 9842");
    let other = (owner + 1) % 3;
    nodes[owner].client().call(&["SET", "1", "one"]);
    nodes[other].client().call(&[
        "CLUSTER",
        "SETSLOT",
        "9842",
        "IMPORTING",
        ids[owner].as_str(),
    ]);
    nodes[owner].client().call(&[
        "CLUSTER",
        "SETSLOT",
        "9842",
        "MIGRATING",
        ids[other].as_str(),
    ]);
    let out = trib(&["check", &entry]);
    let report = text(&out);
    assert!(!out.status.success(), "{report}");
    assert!(
        report.contains("[WARNING] The following slots are open: 9842."),
        "{report}"
    );
    let out = trib(&["fix", &entry]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(">>> Fixing open slot 9842\n"), "{report}");
    assert!(report.contains(&format!(
        ">>> Case 1: Moving slot 9842 from {} to {}\n",
        addr(&nodes[owner]),
        addr(&nodes[other])
    )));
    assert_eq!(nodes[other].client().call(&["GET", "1"]), bulk("one"));
    for n in &nodes {
        wait_slots_seen(&nodes, n, slot_count(n));
    }
    let out = trib(&["check", &entry]);
    assert!(out.status.success(), "{}", text(&out));

    // A slot nobody serves: one holding no key, taken from every node.
    // The question is asked even with --yes, as redis-cli does.
    let empty = (0..16384u16)
        .rev()
        .find(|s| {
            let s = s.to_string();
            nodes.iter().all(|n| {
                n.client().call(&["CLUSTER", "COUNTKEYSINSLOT", s.as_str()]) == Frame::Integer(0)
            })
        })
        .expect("an empty slot")
        .to_string();
    for n in &nodes {
        let _ = n.client().call(&["CLUSTER", "DELSLOTS", empty.as_str()]);
    }
    let out = trib(&["check", &entry]);
    let report = text(&out);
    assert!(
        report.contains("[ERR] Not all 16384 slots are covered by nodes."),
        "{report}"
    );
    let out = run(
        &tool_binary("ferrodis-trib"),
        &["fix", &entry, "--yes"],
        b"yes\n",
    );
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!(
            ">>> Fixing slots coverage...\n\
             The following uncovered slots have no keys across the cluster:\n[{empty}]\n\
             Fix these slots by covering with a random node? (type 'yes' to accept): "
        )),
        "{report}"
    );
    assert!(
        report.contains(&format!(">>> Covering slot {empty} with ")),
        "{report}"
    );
    wait_until(
        Duration::from_secs(30),
        "the slot covered everywhere",
        || {
            nodes.iter().all(|n| {
                let info = bulk_text(&mut n.client(), "CLUSTER INFO");
                info.contains("cluster_slots_assigned:16384") && info.contains("cluster_state:ok")
            })
        },
    );
    for n in &nodes {
        wait_slots_seen(&nodes, n, slot_count(n));
    }
    let out = trib(&["check", &entry]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(cluster_masters_dbsize(&nodes), 1001);

    // Unbalance (200 slots to the third master), then rebalance.
    let out = trib(&[
        "reshard",
        &entry,
        "--from",
        ids[0].as_str(),
        "--to",
        ids[2].as_str(),
        "--slots",
        "200",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    for n in &nodes {
        wait_slots_seen(&nodes, n, slot_count(n));
    }
    let out = trib(&["rebalance", &entry, "--threshold", "1", "--simulate"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(">>> Rebalancing across 3 nodes. Total weight = 3.00\n"));
    let out = trib(&["rebalance", &entry, "--threshold", "1"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!("slots from {} to ", addr(&nodes[2]))),
        "{report}"
    );
    for n in &nodes {
        let c = slot_count(n);
        assert!(
            (5460..=5462).contains(&c),
            "{c} slots on {}:\n{report}",
            n.port
        );
    }
    let out = trib(&["rebalance", &entry]);
    assert!(
        text(&out).contains("*** No rebalancing needed! All nodes are within the 2.00% threshold.")
    );
    assert_eq!(cluster_masters_dbsize(&nodes), 1001);
    drop(any.call(&["PING"]));
    verify_keys(nodes[0].port, 1000);
}

/// `ferrodis-trib import --from` a standalone node: every key lands on
/// its master, copied with `--copy`, moved without.
#[test]
fn ferrodis_trib_imports_a_standalone_node() {
    let dir = TempDir::new("reshard-import");
    let nodes = ferrodis_nodes(dir.path(), 3);
    create(&nodes, 0);
    let source = Launch::ferrodis().start();
    let mut s = source.client();
    for i in 0..300 {
        let (k, v) = (format!("key:{i}"), i.to_string());
        s.call(&["SET", k.as_str(), v.as_str()]);
    }
    let from = addr(&source);
    let out = trib(&["import", &addr(&nodes[0]), "--from", &from, "--copy"]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains(&format!(
        ">>> Importing data from {from} to cluster {}\n",
        addr(&nodes[0])
    )));
    assert!(
        report.contains("*** Importing 300 keys from DB 0\n"),
        "{report}"
    );
    assert_eq!(report.matches(": OK\n").count(), 300, "{report}");
    assert_eq!(s.call(&["DBSIZE"]), Frame::Integer(300));
    assert_eq!(cluster_masters_dbsize(&nodes), 300);
    verify_keys(nodes[0].port, 300);
    // Without --copy the keys leave the source; REPLACE overwrites.
    let out = trib(&[
        "import",
        &addr(&nodes[0]),
        "--cluster-from",
        &from,
        "--cluster-replace",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(s.call(&["DBSIZE"]), Frame::Integer(0));
    assert_eq!(cluster_masters_dbsize(&nodes), 300);
    // A cluster node is refused as a source.
    let out = trib(&["import", &addr(&nodes[0]), "--from", &addr(&nodes[1])]);
    assert!(!out.status.success());
    assert!(text(&out).contains("[ERR] The source node should not be a cluster node."));
}

/// With several workers, a client writing a key while another MIGRATEs it
/// loses nothing: every acknowledged INCR is in the target's copy or in
/// the key created here after the move (or the key, never unchanged long
/// enough to be deleted, stayed here whole).
#[test]
fn migrate_loses_no_concurrent_write() {
    let a = Launch::ferrodis().args(&["--io-threads", "4"]).start();
    let b = Launch::ferrodis().start();
    let port = b.port.to_string();
    for round in 0..20 {
        let key = format!("counter{round}");
        let mut ca = a.client();
        ca.call(&["SET", key.as_str(), "0"]);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (stop, key) = (stop.clone(), key.clone());
            let mut c = a.client();
            std::thread::spawn(move || {
                let mut acked = 0i64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if let Frame::Integer(_) = c.call(&["INCR", key.as_str()]) {
                        acked += 1;
                    }
                }
                acked
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(
            ca.call(&[
                "MIGRATE",
                "127.0.0.1",
                port.as_str(),
                key.as_str(),
                "0",
                "5000"
            ]),
            ok()
        );
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let acked = writer.join().expect("writer");
        let value = |c: &mut Client| match c.call(&["GET", key.as_str()]) {
            Frame::Bulk(v) => String::from_utf8_lossy(&v).parse::<i64>().unwrap_or(0),
            _ => 0,
        };
        let (here, there) = (value(&mut ca), value(&mut b.client()));
        // Either the key moved (the target's copy has every write made
        // before, the key here every one made after) or, written all
        // along, it stayed here whole.
        assert!(
            here + there == acked || here == acked,
            "round {round}: {here} here, {there} there, {acked} acknowledged"
        );
        b.client().call(&["DEL", key.as_str()]);
    }
}
