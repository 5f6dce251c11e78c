//! Replication between real processes, byte-compatible with Redis 7:
//! Debian's `redis-server` replicates a `ferrodis-node` master and a
//! `ferrodis-node` replicates a `redis-server` master — a full sync, then
//! 100,000 mixed writes streamed, then a reconnection that continues with
//! `+CONTINUE` (`sync_partial_ok`), each step checked by comparing the
//! whole datasets of both ends. Between Ferrodis nodes: disk-based
//! transfers, REPLICAOF NO ONE keeping the old id as `master_replid2` so a
//! sibling replica continues from the promoted node, a replica of a
//! replica, WAIT, `-READONLY`, `min-replicas-to-write`, INFO and ROLE.

use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::dataset::{self, assert_same, Compare, Dataset};
use ferrodis_suite::reply::{int, ok};
use ferrodis_suite::{wait_until, Client, Launch, Server, TempDir};

/// Databases compared: all sixteen of a default server.
const DATABASES: usize = 16;

fn read(s: &Server) -> Dataset {
    dataset::read(&mut s.client(), DATABASES)
}

fn field(s: &Server, name: &str) -> String {
    s.client().info_field(name).unwrap_or_default()
}

/// A xorshift generator: the same writes on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `n` mixed writes over all types and four databases, including the ones
/// a master must rewrite to replay the same way (relative expiry, SPOP,
/// INCRBYFLOAT) and transactions.
fn mixed_writes(seed: u64, n: usize) -> Vec<Vec<Vec<u8>>> {
    let mut r = Rng(seed | 1);
    let mut out: Vec<Vec<Vec<u8>>> = Vec::with_capacity(n + n / 8);
    let s = |v: &[&str]| v.iter().map(|a| a.as_bytes().to_vec()).collect::<Vec<_>>();
    while out.len() < n {
        let k = r.below(2000);
        let v = r.next().to_string();
        let cmd = match r.below(20) {
            0 => s(&["SELECT", &r.below(4).to_string()]),
            1 | 2 => s(&["SET", &format!("s:{k}"), &v]),
            3 => s(&["INCR", &format!("n:{}", k % 50)]),
            4 => s(&["APPEND", &format!("s:{k}"), "x"]),
            5 => s(&["RPUSH", &format!("l:{}", k % 100), &v]),
            6 => s(&["LPOP", &format!("l:{}", k % 100)]),
            7 => s(&[
                "HSET",
                &format!("h:{}", k % 100),
                &format!("f{}", k % 17),
                &v,
            ]),
            8 => s(&["HDEL", &format!("h:{}", k % 100), &format!("f{}", k % 17)]),
            9 => s(&["SADD", &format!("t:{}", k % 100), &(k % 31).to_string()]),
            10 => s(&["SPOP", &format!("t:{}", k % 100)]),
            11 => s(&["ZADD", &format!("z:{}", k % 100), &(k % 97).to_string(), &v]),
            12 => s(&["ZINCRBY", &format!("z:{}", k % 100), "1.5", &v]),
            13 => s(&["DEL", &format!("s:{k}")]),
            14 => s(&["EXPIRE", &format!("s:{k}"), "100000"]),
            15 => s(&["SETEX", &format!("e:{k}"), "100000", &v]),
            16 => s(&["INCRBYFLOAT", &format!("f:{}", k % 20), "0.25"]),
            17 => s(&["SET", &format!("p:{k}"), &v, "PX", "99999999"]),
            18 => {
                out.push(s(&["MULTI"]));
                out.push(s(&["INCR", &format!("n:{}", k % 50)]));
                out.push(s(&["LPUSH", &format!("l:{}", k % 100), &v]));
                s(&["EXEC"])
            }
            _ => s(&["MSET", &format!("m:{k}"), &v, &format!("m:{}", k + 1), &v]),
        };
        out.push(cmd);
    }
    // End in database 0 so that later writes start from a known place.
    out.push(s(&["SELECT", "0"]));
    out
}

/// Sends the commands in pipelined batches; none may fail.
fn pipeline(c: &mut Client, commands: &[Vec<Vec<u8>>]) {
    for chunk in commands.chunks(1000) {
        for cmd in chunk {
            c.send(cmd);
        }
        for cmd in chunk {
            let reply = c.read();
            assert!(
                !matches!(reply, Frame::Error(_)),
                "{} failed: {reply:?}",
                String::from_utf8_lossy(&cmd[0])
            );
        }
    }
}

/// Some data of every type in a few databases, before the first sync.
fn seed_data(c: &mut Client) {
    pipeline(c, &mixed_writes(7, 3000));
}

/// Waits until `replica` is linked and has processed everything `master`
/// sent.
fn wait_in_sync(master: &Server, replica: &Server) {
    wait_until(Duration::from_secs(60), "the replica to catch up", || {
        field(replica, "master_link_status") == "up"
            && field(master, "master_repl_offset") == field(replica, "master_repl_offset")
            && field(replica, "master_sync_in_progress") == "0"
    });
}

/// The field names of `INFO replication`, in order.
fn replication_fields(s: &Server) -> Vec<String> {
    let Frame::Bulk(text) = s.client().call(&["INFO", "replication"]) else {
        panic!("INFO replication")
    };
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.to_owned()))
        .collect()
}

fn assert_same_data(master: &Server, replica: &Server) {
    let expected = read(master);
    let actual = read(replica);
    assert_same(&expected, &actual, Compare::default());
}

#[test]
fn redis_server_replicates_a_ferrodis_master() {
    let master = Server::ferrodis(&["--repl-diskless-sync-delay", "0"]);
    let mut c = master.client();
    seed_data(&mut c);
    let dir = TempDir::new("redis-replica");
    let replica = Launch::redis()
        .dir(dir.path())
        .args(&["--replicaof", "127.0.0.1", &master.port.to_string()])
        .start();
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);
    assert_eq!(field(&master, "sync_full"), "1");
    assert!(field(&master, "slave0").starts_with(&format!(
        "ip=127.0.0.1,port={},state=online,offset=",
        replica.port
    )));
    assert_eq!(
        field(&replica, "master_replid"),
        field(&master, "master_replid")
    );

    // The stream: 100,000 writes.
    pipeline(&mut c, &mixed_writes(42, 100_000));
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);

    // Keys that expire on the master are deleted on the replica by the
    // DELs the master propagates (a replica does not expire keys itself:
    // until then its DBSIZE counts them).
    let mut expiring = vec![vec![b"SELECT".to_vec(), b"9".to_vec()]];
    for i in 0..50 {
        expiring.push(vec![
            b"SET".to_vec(),
            format!("gone:{i}").into_bytes(),
            b"v".to_vec(),
            b"PX".to_vec(),
            b"200".to_vec(),
        ]);
    }
    expiring.push(vec![b"SELECT".to_vec(), b"0".to_vec()]);
    pipeline(&mut c, &expiring);
    let mut r = replica.client();
    assert_eq!(r.call(&["SELECT", "9"]), ok());
    wait_until(
        Duration::from_secs(20),
        "expired keys deleted on the replica",
        || r.call(&["DBSIZE"]) == int(0),
    );
    assert_eq!(
        r.call(&["SET", "x", "1"]),
        Frame::Error("READONLY You can't write against a read only replica.".into())
    );

    // The replica loses its link and continues from the backlog.
    assert_eq!(
        replica.client().call(&["CLIENT", "KILL", "TYPE", "master"]),
        int(1)
    );
    pipeline(&mut c, &mixed_writes(43, 2000));
    wait_until(Duration::from_secs(30), "a partial resync", || {
        field(&master, "sync_partial_ok") == "1"
    });
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);
    assert_eq!(field(&master, "sync_full"), "1");
    assert!(replica
        .log()
        .contains("Successful partial resynchronization with master."));
}

#[test]
fn ferrodis_replicates_a_redis_server_master() {
    let dir = TempDir::new("redis-master");
    // A disk-based transfer (`$<len>` framing); the other tests with a
    // redis-server master use its default, diskless `$EOF:` framing.
    let master = Launch::redis()
        .dir(dir.path())
        .args(&["--repl-diskless-sync", "no"])
        .start();
    let mut c = master.client();
    seed_data(&mut c);
    let replica = Server::ferrodis(&[]);
    assert_eq!(
        replica
            .client()
            .call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        ok()
    );
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);
    assert_eq!(field(&replica, "role"), "slave");
    assert_eq!(field(&replica, "master_port"), master.port.to_string());

    pipeline(&mut c, &mixed_writes(99, 100_000));
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);

    // The master drops the link; the replica continues with +CONTINUE.
    assert_eq!(
        master.client().call(&["CLIENT", "KILL", "TYPE", "replica"]),
        int(1)
    );
    pipeline(&mut c, &mixed_writes(100, 2000));
    wait_until(Duration::from_secs(30), "a partial resync", || {
        field(&master, "sync_partial_ok") == "1"
    });
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);
    assert_eq!(field(&master, "sync_full"), "1");
    // Reads work, writes are refused with Redis' text.
    let mut r = replica.client();
    assert_eq!(
        r.call(&["SET", "k", "v"]),
        Frame::Error("READONLY You can't write against a read only replica.".into())
    );
    assert_eq!(
        r.call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        Frame::Simple("OK Already connected to specified master".into())
    );
}

#[test]
fn ferrodis_replicas_promotion_siblings_and_chains() {
    let master = Server::ferrodis(&["--repl-diskless-sync", "no"]);
    let mut c = master.client();
    seed_data(&mut c);
    let a = Server::ferrodis(&["--repl-diskless-sync-delay", "0"]);
    let b = Server::ferrodis(&[]);
    // `chained` follows `a`: a replica of a replica.
    let chained = Server::ferrodis(&[]);
    let port = master.port.to_string();
    assert_eq!(a.client().call(&["REPLICAOF", "127.0.0.1", &port]), ok());
    assert_eq!(b.client().call(&["SLAVEOF", "127.0.0.1", &port]), ok());
    assert_eq!(
        chained
            .client()
            .call(&["REPLICAOF", "127.0.0.1", &a.port.to_string()]),
        ok()
    );
    wait_in_sync(&master, &a);
    wait_in_sync(&master, &b);
    pipeline(&mut c, &mixed_writes(5, 20_000));
    wait_in_sync(&master, &a);
    wait_in_sync(&master, &b);
    wait_in_sync(&a, &chained);
    assert_same_data(&master, &a);
    assert_same_data(&master, &b);
    assert_same_data(&master, &chained);
    assert_eq!(
        field(&chained, "master_replid"),
        field(&master, "master_replid")
    );

    // WAIT: both direct replicas acknowledge the last write.
    assert_eq!(c.call(&["SET", "waited", "1"]), ok());
    assert_eq!(c.call(&["WAIT", "2", "5000"]), int(2));
    // Three never come: the timeout answers with the two that did, and
    // the waiting client holds up no other client meanwhile.
    c.send(&["WAIT", "3", "500"]);
    assert_eq!(
        master.client().call(&["PING"]),
        Frame::Simple("PONG".into())
    );
    assert_eq!(c.read(), int(2));
    assert_eq!(field(&master, "connected_slaves"), "2");
    let role = master.client().call(&["ROLE"]);
    let Frame::Array(items) = role else {
        panic!("ROLE: {role:?}")
    };
    assert_eq!(items[0], Frame::Bulk(b"master".to_vec().into()));
    let role = b.client().call(&["ROLE"]);
    let Frame::Array(items) = role else {
        panic!("ROLE: {role:?}")
    };
    assert_eq!(items[0], Frame::Bulk(b"slave".to_vec().into()));
    assert_eq!(items[3], Frame::Bulk(b"connected".to_vec().into()));
    assert_eq!(
        b.client().call(&["WAIT", "1", "0"]),
        Frame::Error("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.".into())
    );

    // min-replicas-to-write: three good replicas are too many.
    assert_eq!(
        c.call(&["CONFIG", "SET", "min-replicas-to-write", "3"]),
        ok()
    );
    assert_eq!(
        c.call(&["SET", "k", "v"]),
        Frame::Error("NOREPLICAS Not enough good replicas to write.".into())
    );
    assert_eq!(
        c.call(&["CONFIG", "SET", "min-replicas-to-write", "0"]),
        ok()
    );

    // INFO replication has Redis' fields, in Redis' order, on both roles.
    assert_eq!(
        replication_fields(&master),
        [
            "role",
            "connected_slaves",
            "slave0",
            "slave1",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen"
        ]
    );
    assert_eq!(
        replication_fields(&b),
        [
            "role",
            "master_host",
            "master_port",
            "master_link_status",
            "master_last_io_seconds_ago",
            "master_sync_in_progress",
            "slave_read_repl_offset",
            "slave_repl_offset",
            "slave_priority",
            "slave_read_only",
            "replica_announced",
            "connected_slaves",
            "master_failover_state",
            "master_replid",
            "master_replid2",
            "master_repl_offset",
            "second_repl_offset",
            "repl_backlog_active",
            "repl_backlog_size",
            "repl_backlog_first_byte_offset",
            "repl_backlog_histlen"
        ]
    );
    assert_eq!(field(&master, "repl_backlog_active"), "1");
    assert_eq!(field(&master, "second_repl_offset"), "-1");

    // Promote `a`; `b` follows it and continues with the old id.
    let old_id = field(&master, "master_replid");
    drop(master);
    // Meanwhile `b`, its master gone, serves stale data unless told not to.
    wait_until(Duration::from_secs(20), "b to see its link down", || {
        field(&b, "master_link_status") == "down"
    });
    let mut cb = b.client();
    assert_eq!(
        cb.call(&["GET", "waited"]),
        Frame::Bulk(b"1".to_vec().into())
    );
    assert_eq!(
        cb.call(&["CONFIG", "SET", "replica-serve-stale-data", "no"]),
        ok()
    );
    assert_eq!(
        cb.call(&["GET", "waited"]),
        Frame::Error(
            "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                .into()
        )
    );
    assert_eq!(
        cb.call(&["CONFIG", "SET", "replica-serve-stale-data", "yes"]),
        ok()
    );
    assert_eq!(a.client().call(&["REPLICAOF", "NO", "ONE"]), ok());
    assert_eq!(field(&a, "role"), "master");
    assert_eq!(field(&a, "master_replid2"), old_id);
    assert_ne!(field(&a, "master_replid"), old_id);
    let offset: u64 = field(&a, "master_repl_offset").parse().unwrap();
    assert_eq!(field(&a, "second_repl_offset"), (offset + 1).to_string());
    assert_eq!(
        b.client()
            .call(&["REPLICAOF", "127.0.0.1", &a.port.to_string()]),
        ok()
    );
    wait_until(
        Duration::from_secs(30),
        "the sibling's partial resync",
        || {
            field(&a, "sync_partial_ok").parse::<u64>().unwrap_or(0) >= 1
                && field(&a, "connected_slaves") == "2"
        },
    );
    assert_eq!(
        field(&a, "sync_full"),
        "1",
        "only `chained` ever did a full sync from a"
    );
    let mut ca = a.client();
    pipeline(&mut ca, &mixed_writes(6, 5000));
    wait_in_sync(&a, &b);
    wait_in_sync(&a, &chained);
    assert_same_data(&a, &b);
    assert_same_data(&a, &chained);
    assert_eq!(field(&b, "master_replid"), field(&a, "master_replid"));
}

/// Writes made while a payload is prepared and sent reach the replica
/// after it, even when they are far more than the backlog holds.
#[test]
fn writes_during_a_transfer_are_kept_for_the_replica() {
    let master_dir = TempDir::new("busy-master");
    let master = Launch::ferrodis()
        .dir(master_dir.path())
        .args(&[
            "--repl-backlog-size",
            "16384",
            "--repl-diskless-sync-delay",
            "2",
        ])
        .start();
    let mut c = master.client();
    seed_data(&mut c);
    let dir = TempDir::new("redis-replica-busy");
    let replica = Launch::redis()
        .dir(dir.path())
        .args(&["--replicaof", "127.0.0.1", &master.port.to_string()])
        .start();
    wait_until(Duration::from_secs(10), "the transfer to begin", || {
        field(&master, "slave0").contains("state=send_bulk")
    });
    pipeline(&mut c, &mixed_writes(11, 20_000));
    wait_in_sync(&master, &replica);
    assert_same_data(&master, &replica);
    assert_eq!(field(&master, "sync_full"), "1", "{}", master.log());
    assert_eq!(field(&master, "repl_backlog_size"), "16384");
}

/// In cluster mode CLUSTER REPLICATE starts replication from the master's
/// address, and REPLICAOF is refused as Redis refuses it.
#[test]
fn cluster_replicate_replicates() {
    let a = Server::ferrodis(&["--cluster-enabled", "yes"]);
    let b = Server::ferrodis(&["--cluster-enabled", "yes"]);
    let mut ca = a.client();
    let mut cb = b.client();
    let Frame::Bulk(id) = ca.call(&["CLUSTER", "MYID"]) else {
        panic!("CLUSTER MYID")
    };
    let id = String::from_utf8_lossy(&id).into_owned();
    assert_eq!(ca.call(&["CLUSTER", "ADDSLOTSRANGE", "0", "16383"]), ok());
    assert_eq!(
        ca.call(&["CLUSTER", "MEET", "127.0.0.1", &b.port.to_string()]),
        ok()
    );
    wait_until(Duration::from_secs(20), "b to know a", || {
        match cb.call(&["CLUSTER", "NODES"]) {
            Frame::Bulk(t) => String::from_utf8_lossy(&t).contains(&id),
            _ => false,
        }
    });
    assert_eq!(
        cb.call(&["REPLICAOF", "127.0.0.1", &a.port.to_string()]),
        Frame::Error("ERR REPLICAOF not allowed in cluster mode.".into())
    );
    wait_until(Duration::from_secs(20), "the cluster to be up", || match ca
        .call(&["CLUSTER", "INFO"])
    {
        Frame::Bulk(t) => String::from_utf8_lossy(&t).contains("cluster_state:ok"),
        _ => false,
    });
    for i in 0..200 {
        let key = format!("{{k}}:{i}");
        assert_eq!(ca.call(&["SET", key.as_str(), "v"]), ok());
    }
    assert_eq!(cb.call(&["CLUSTER", "REPLICATE", &id]), ok());
    wait_in_sync(&a, &b);
    assert_eq!(field(&b, "role"), "slave");
    assert_eq!(cb.call(&["READONLY"]), ok());
    assert_eq!(cb.call(&["DBSIZE"]), int(200));
    assert_eq!(ca.call(&["SET", "{k}:late", "w"]), ok());
    wait_in_sync(&a, &b);
    assert_eq!(
        cb.call(&["GET", "{k}:late"]),
        Frame::Bulk(b"w".to_vec().into())
    );
}

/// A master with `requirepass` lets in a replica with `masterauth`, both
/// ways between Ferrodis and redis-server.
#[test]
fn masterauth_both_ways() {
    let info = |c: &mut Client, name: &str| c.info_field(name).unwrap_or_default();
    let dir = TempDir::new("redis-auth-master");
    let redis = Launch::redis()
        .dir(dir.path())
        .args(&["--requirepass", "s3cret"])
        .start();
    let ferrodis =
        Server::ferrodis(&["--requirepass", "s3cret", "--repl-diskless-sync-delay", "0"]);
    for (master, replica) in [(&redis, &ferrodis), (&ferrodis, &redis)] {
        let mut m = master.client();
        assert_eq!(m.call(&["AUTH", "s3cret"]), ok());
        let mut r = replica.client();
        assert_eq!(r.call(&["AUTH", "s3cret"]), ok());
        assert_eq!(r.call(&["CONFIG", "SET", "masterauth", "s3cret"]), ok());
        assert_eq!(r.call(&["FLUSHALL"]), ok());
        assert_eq!(m.call(&["SET", "who", &master.port.to_string()]), ok());
        assert_eq!(
            r.call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
            ok()
        );
        wait_until(Duration::from_secs(30), "the authenticated link", || {
            info(&mut r, "master_link_status") == "up"
                && info(&mut r, "master_repl_offset") == info(&mut m, "master_repl_offset")
        });
        assert_eq!(
            r.call(&["GET", "who"]),
            Frame::Bulk(master.port.to_string().into_bytes().into())
        );
        assert_eq!(r.call(&["REPLICAOF", "NO", "ONE"]), ok());
    }
}

/// A replica restarted from the RDB file it saved continues with its
/// master (`+CONTINUE`): the file records the replication id, offset and
/// stream database. Both ways between Ferrodis and redis-server.
#[test]
fn a_restarted_replica_continues_from_its_rdb_file() {
    let redis_dir = TempDir::new("restart-redis");
    let ferrodis_dir = TempDir::new("restart-ferrodis");
    let redis_master = Launch::redis().dir(redis_dir.path()).start();
    let ferrodis_replica = Launch::ferrodis()
        .dir(ferrodis_dir.path())
        .args(&["--replicaof", "127.0.0.1", &redis_master.port.to_string()])
        .start();
    let ferrodis_master = Server::ferrodis(&["--repl-diskless-sync-delay", "0"]);
    let replica_dir = TempDir::new("restart-redis-replica");
    let redis_replica = Launch::redis()
        .dir(replica_dir.path())
        .args(&[
            "--replicaof",
            "127.0.0.1",
            &ferrodis_master.port.to_string(),
        ])
        .start();
    for (master, mut replica, seed) in [
        (&redis_master, ferrodis_replica, 21),
        (&ferrodis_master, redis_replica, 22),
    ] {
        let mut c = master.client();
        pipeline(&mut c, &mixed_writes(seed, 5000));
        wait_in_sync(master, &replica);
        assert_eq!(replica.client().call(&["SAVE"]), ok());
        replica.kill();
        pipeline(&mut c, &mixed_writes(seed + 100, 3000));
        replica.restart();
        wait_until(Duration::from_secs(30), "a partial resync", || {
            field(master, "sync_partial_ok") == "1"
        });
        wait_in_sync(master, &replica);
        assert_same_data(master, &replica);
        assert_eq!(field(master, "sync_full"), "1");
    }
}

/// `redis-cli --rdb` (REPLCONF rdb-only, SYNC) gets a whole RDB file of the
/// dataset from a Ferrodis node, which `redis-server` then loads.
#[test]
fn redis_cli_rdb_takes_a_payload() {
    let master = Server::ferrodis(&["--repl-diskless-sync-delay", "0"]);
    let mut c = master.client();
    seed_data(&mut c);
    let dir = TempDir::new("cli-rdb");
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &master.port.to_string(), "--rdb"])
        .arg(dir.path().join("dump.rdb"))
        .output()
        .expect("redis-cli runs");
    assert!(out.status.success(), "{out:?}");
    let redis = Launch::redis().dir(dir.path()).start();
    assert_same_data(&master, &redis);
}

/// `CLIENT KILL <master's host:port>` on a replica drops its link to the
/// master, as in Redis (the suite's psync tests cut links this way), and
/// the replica continues with a partial resync.
#[test]
fn client_kill_by_the_masters_address_cuts_the_link() {
    let master = Server::ferrodis(&[]);
    let replica = Server::ferrodis(&[]);
    let mut cm = master.client();
    let mut cr = replica.client();
    let master_addr = format!("127.0.0.1:{}", master.port);
    assert_eq!(
        cr.call(&["CLIENT", "KILL", &master_addr]),
        Frame::Error("ERR No such client".into())
    );
    assert_eq!(
        cr.call(&["REPLICAOF", "127.0.0.1", &master.port.to_string()]),
        ok()
    );
    seed_data(&mut cm);
    wait_in_sync(&master, &replica);
    assert_eq!(cr.call(&["CLIENT", "KILL", &master_addr]), ok());
    for i in 0..100 {
        assert_eq!(cm.call(&["SET", &format!("after:{i}"), "v"]), ok());
    }
    wait_in_sync(&master, &replica);
    assert_eq!(
        cr.call(&["CLIENT", "KILL", "ADDR", &master_addr]),
        Frame::Integer(1)
    );
    wait_in_sync(&master, &replica);
    wait_until(Duration::from_secs(20), "two partial resyncs", || {
        field(&master, "sync_partial_ok") == "2"
    });
    assert_eq!(field(&master, "sync_full"), "1");
    assert_same_data(&master, &replica);
}
