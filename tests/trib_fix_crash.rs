//! A slot migration cut short by a crash: the source or the target master
//! is killed (SIGKILL) after part of a slot's keys were MIGRATEd, started
//! again from its append-only file, and `ferrodis-trib fix` must leave
//! every written key in exactly one master and every slot served (a clean
//! `check`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::cluster::{addr, bulk_text, durable_nodes, text, trib, wait_healed};
use ferrodis_suite::{tool_binary, wait_until, Server, TempDir};

fn keys_of(n: &Server) -> Vec<String> {
    match n.client().cmd("KEYS *") {
        Frame::Array(items) => items
            .into_iter()
            .map(|f| match f {
                Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                other => panic!("KEYS item {other:?}"),
            })
            .collect(),
        other => panic!("KEYS: {other:?}"),
    }
}

/// Which end of the migration dies.
#[derive(Clone, Copy, Debug)]
enum Victim {
    Source,
    Target,
}

/// How the migration is driven: by hand (SETSLOT, then 1100 of the 2000
/// keys MIGRATEd, so that `fix` makes the target the owner: the former
/// owner, still holding keys, is then both migrating and importing) or by
/// a `ferrodis-trib reshard` killed after a fifth of the keys moved (the
/// source stays the owner).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Driver {
    ByHand,
    Reshard,
}

fn crash_mid_migration_then_fix(victim: Victim, driver: Driver) {
    let tmp = TempDir::new("trib-fix-crash");
    let mut nodes = durable_nodes(tmp.path(), 3);
    let addrs: Vec<String> = nodes.iter().map(addr).collect();
    let mut args = vec!["create"];
    args.extend(addrs.iter().map(String::as_str));
    args.extend(["--replicas", "0", "--yes"]);
    let out = trib(&args);
    assert!(out.status.success(), "{}", text(&out));
    wait_healed(&nodes);

    // Keys spread over every master, and 2000 in one slot of node 0.
    let mut written = BTreeSet::new();
    let mut tag = String::new();
    let slot = 0i64;
    // Slot 0, the first one a reshard from node 0 takes.
    for t in 0u64.. {
        if ferrodis_slots::key_slot(format!("t{t}").as_bytes()).get() == 0 {
            tag = format!("{{t{t}}}");
            break;
        }
    }
    let mut src = nodes[0].client();
    let in_slot = if driver == Driver::Reshard {
        20_000
    } else {
        2000
    };
    for chunk in (0..in_slot).collect::<Vec<usize>>().chunks(500) {
        let mut args = vec!["MSET".to_owned()];
        for i in chunk {
            let k = format!("{tag}:{i}");
            args.push(k.clone());
            args.push(i.to_string());
            written.insert(k);
        }
        assert_eq!(src.call(&args), Frame::Simple("OK".into()));
    }
    for i in 0..3000 {
        let k = format!("key:{i}");
        assert!(
            nodes
                .iter()
                .any(|n| matches!(n.client().cmd(&format!("SET {k} {i}")), Frame::Simple(_))),
            "no master took {k}"
        );
        written.insert(k);
    }

    let ids: Vec<String> = nodes
        .iter()
        .map(|n| bulk_text(&mut n.client(), "CLUSTER MYID"))
        .collect();
    let which = match victim {
        Victim::Source => 0,
        Victim::Target => 1,
    };
    if driver == Driver::ByHand {
        let mut dst = nodes[1].client();
        assert_eq!(
            dst.cmd(&format!("CLUSTER SETSLOT {slot} IMPORTING {}", ids[0])),
            Frame::Simple("OK".into())
        );
        assert_eq!(
            src.cmd(&format!("CLUSTER SETSLOT {slot} MIGRATING {}", ids[1])),
            Frame::Simple("OK".into())
        );
        for _ in 0..11 {
            let Frame::Array(batch) = src.cmd(&format!("CLUSTER GETKEYSINSLOT {slot} 100")) else {
                panic!("GETKEYSINSLOT");
            };
            let keys: Vec<String> = batch
                .into_iter()
                .map(|f| match f {
                    Frame::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => panic!("{other:?}"),
                })
                .collect();
            let port = nodes[1].port.to_string();
            let mut args = vec![
                "MIGRATE",
                "127.0.0.1",
                port.as_str(),
                "",
                "0",
                "5000",
                "KEYS",
            ];
            args.extend(keys.iter().map(String::as_str));
            let reply = src.call(&args);
            assert_eq!(reply, Frame::Simple("OK".into()));
        }
        drop(src);
        let before: Vec<usize> = nodes.iter().map(|n| keys_of(n).len()).collect();
        assert_eq!(before.iter().sum::<usize>(), written.len());
        nodes[which].kill();
    } else {
        drop(src);
        // Node 1 gets the slot; node 0 is killed once a fifth of its keys
        // have moved.
        let mut child = Command::new(tool_binary("ferrodis-trib"))
            .args([
                "reshard",
                &addrs[2],
                "--from",
                &ids[0],
                "--to",
                &ids[1],
                "--slots",
                "1",
                "--yes",
                "--pipeline",
                "10",
                // Key by key: this test is about a half-moved slot.
                "--legacy",
            ])
            .env("TERM", "dumb")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn reshard");
        let mut dst = nodes[1].client();
        let start = match dst.cmd("DBSIZE") {
            Frame::Integer(n) => n,
            other => panic!("{other:?}"),
        };
        wait_until(
            Duration::from_secs(120),
            "part of the slot moved",
            || matches!(dst.cmd("DBSIZE"), Frame::Integer(n) if n >= start + 4000),
        );
        nodes[which].kill();
        let _ = child.wait();
        if which == 0 {
            assert!(
                matches!(dst.cmd("DBSIZE"), Frame::Integer(n) if n < start + 20_000),
                "the reshard ended before the kill"
            );
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    nodes[which].restart();
    wait_healed(&nodes);

    let out = trib(&["fix", &addrs[2], "--yes"]);
    let fix_text = text(&out);
    assert!(out.status.success(), "{victim:?}: fix failed:\n{fix_text}");

    let out = trib(&["check", &addrs[2]]);
    let check_text = text(&out);
    assert!(
        out.status.success(),
        "{victim:?}: check after fix:\n{fix_text}\n{check_text}"
    );
    assert!(
        check_text.contains("[OK] All 16384 slots covered."),
        "{check_text}"
    );
    assert!(!check_text.contains("[WARNING]"), "{check_text}");
    assert!(!check_text.contains("[ERR]"), "{check_text}");

    // Every written key in exactly one master, nothing else anywhere.
    let mut seen: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for k in keys_of(n) {
            seen.entry(k).or_default().push(i);
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, v)| v.len() > 1).take(5).collect();
    assert!(
        twice.is_empty(),
        "{victim:?}: keys in two masters: {twice:?}\n{fix_text}"
    );
    let missing: Vec<_> = written
        .iter()
        .filter(|k| !seen.contains_key(*k))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "{victim:?}: keys lost: {missing:?}\n{fix_text}"
    );
    assert_eq!(seen.len(), written.len());
    // And each is served where the cluster says it lives.
    let mut c = nodes[2].client();
    let owner_of_slot = bulk_text(&mut c, "CLUSTER NODES");
    let (_, holders) = seen
        .iter()
        .find(|(k, _)| k.starts_with(&tag))
        .expect("a key of the slot");
    let holder_id = &ids[holders[0]];
    assert!(
        owner_of_slot
            .lines()
            .any(|l| l.starts_with(holder_id.as_str())
                && l.split(' ').skip(8).any(|r| {
                    match r.split_once('-') {
                        Some((a, b)) => {
                            a.parse::<i64>().is_ok_and(|a| a <= slot)
                                && b.parse::<i64>().is_ok_and(|b| b >= slot)
                        }
                        None => r.parse::<i64>() == Ok(slot),
                    }
                })),
        "slot {slot} keys on {holder_id}, but:\n{owner_of_slot}"
    );
}

#[test]
fn fix_after_source_killed_mid_migration() {
    crash_mid_migration_then_fix(Victim::Source, Driver::ByHand);
}

#[test]
fn fix_after_target_killed_mid_migration() {
    crash_mid_migration_then_fix(Victim::Target, Driver::ByHand);
}

#[test]
fn fix_after_source_killed_under_reshard() {
    crash_mid_migration_then_fix(Victim::Source, Driver::Reshard);
}

#[test]
fn fix_after_target_killed_under_reshard() {
    crash_mid_migration_then_fix(Victim::Target, Driver::Reshard);
}
