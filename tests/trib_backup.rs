//! `ferrodis-trib backup` on real processes: a 3-master Ferrodis cluster
//! backed up (each master's RDB loads into a fresh node and the key
//! counts add up), and a cluster of Debian `redis-server`s backed up by
//! both `ferrodis-trib` and Debian's `redis-cli --cluster backup`, which
//! must write the same files and the same `nodes.json` fields.

use std::path::Path;
use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_suite::cluster::{
    addr, bulk_text, create, ferrodis_nodes, load_keys, python, redis_cli, text, trib,
};
use ferrodis_suite::{cluster_masters_dbsize, redis_cluster_nodes, wait_until, Launch, TempDir};

/// The files of a backup directory, sorted, and `nodes.json`'s shape: per
/// node (sorted by port), its keys in order and the values that do not
/// depend on who wrote the file.
fn describe_backup(dir: &Path) -> (Vec<String>, String) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("backup dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let shape = python(&format!(
        "import json\n\
         nodes = json.load(open('{}/nodes.json'))\n\
         for n in sorted(nodes, key=lambda n: n['port']):\n    \
         print(list(n.keys()), n['host'], n['port'], n['replicate'], n['slots'], n['slots_count'], n['flags'], n['name'])\n",
        dir.display()
    ));
    (files, shape)
}

#[test]
fn ferrodis_trib_backs_up_a_ferrodis_cluster() {
    let tmp = TempDir::new("trib-backup");
    let nodes = ferrodis_nodes(tmp.path(), 3);
    create(&nodes, 0);
    load_keys(nodes[0].port, 3000);
    assert_eq!(cluster_masters_dbsize(&nodes), 3000);
    let backup = tmp.path().join("backup");
    std::fs::create_dir_all(&backup).expect("mkdir");
    let backup_s = backup.display().to_string();
    let out = trib(&["backup", &addr(&nodes[0]), &backup_s]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    for n in &nodes {
        assert!(
            stdout.contains(&format!(">>> Node 127.0.0.1:{} -> Saving RDB...\n", n.port)),
            "{t}"
        );
    }
    assert!(stdout.contains("[OK] All 16384 slots covered.\n"), "{t}");
    assert!(
        stdout.contains(&format!(
            "Saving cluster configuration to: {backup_s}/nodes.json\n"
        )),
        "{t}"
    );
    assert!(
        stdout.ends_with(&format!("[OK] Backup created into: {backup_s}\n")),
        "{t}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("Transfer finished with success").count(),
        3,
        "{t}"
    );

    let (files, shape) = describe_backup(&backup);
    assert_eq!(files.len(), 4, "{files:?}");
    assert!(files.contains(&"nodes.json".to_owned()));
    let mut total = 0i64;
    for (i, n) in nodes.iter().enumerate() {
        let id = bulk_text(&mut n.client(), "CLUSTER MYID");
        let file = format!("redis-node-127.0.0.1-{}-{id}.rdb", n.port);
        assert!(files.contains(&file), "{file} not in {files:?}");
        assert!(shape.contains(&id), "{shape}");
        // A fresh node loads it.
        let restored = Launch::ferrodis()
            .dir(&tmp.path().join(format!("restore{i}")))
            .args(&["--dir", &backup_s, "--dbfilename", &file])
            .start();
        let Frame::Integer(keys) = restored.client().cmd("DBSIZE") else {
            panic!("no DBSIZE");
        };
        let Frame::Integer(own) = n.client().cmd("DBSIZE") else {
            panic!("no DBSIZE");
        };
        assert_eq!(keys, own, "{file}");
        assert!(keys > 0);
        total += keys;
    }
    assert_eq!(total, 3000);
    assert!(
        shape.contains(
            "['name', 'host', 'port', 'replicate', 'slots', 'slots_count', 'flags', 'current_epoch']"
        ),
        "{shape}"
    );
    assert!(shape.contains("None [[0, 5460]] 5461 master"), "{shape}");
}

#[test]
fn ferrodis_trib_and_redis_cli_back_up_redis_nodes_alike() {
    let tmp = TempDir::new("trib-backup-redis");
    let nodes = redis_cluster_nodes(tmp.path(), 4);
    let addrs: Vec<String> = nodes.iter().map(addr).collect();
    let mut args = vec!["create"];
    args.extend(addrs.iter().take(3).map(String::as_str));
    args.extend(["--replicas", "0", "--yes"]);
    let out = trib(&args);
    assert!(out.status.success(), "{}", text(&out));
    let out = trib(&["add-node", &addrs[3], &addrs[0], "--slave"]);
    assert!(out.status.success(), "{}", text(&out));
    for n in &nodes {
        let mut c = n.client();
        wait_until(Duration::from_secs(60), "cluster settled", || {
            let info = bulk_text(&mut c, "CLUSTER INFO");
            let known = bulk_text(&mut c, "CLUSTER NODES");
            info.contains("cluster_state:ok")
                && known.lines().count() == 4
                && known.contains("slave")
        });
    }
    load_keys(nodes[0].port, 1000);

    let ours = tmp.path().join("ours");
    let theirs = tmp.path().join("theirs");
    std::fs::create_dir_all(&ours).expect("mkdir");
    std::fs::create_dir_all(&theirs).expect("mkdir");
    let out = trib(&["backup", &addrs[0], &ours.display().to_string()]);
    let ours_text = text(&out);
    assert!(out.status.success(), "{ours_text}");
    let out = redis_cli(
        &[
            "--cluster",
            "backup",
            &addrs[0],
            &theirs.display().to_string(),
        ],
        b"",
    );
    let theirs_text = text(&out);
    assert!(out.status.success(), "{theirs_text}");

    let (our_files, our_shape) = describe_backup(&ours);
    let (their_files, their_shape) = describe_backup(&theirs);
    assert_eq!(our_files, their_files);
    assert_eq!(our_files.len(), 4, "{our_files:?}");
    assert_eq!(our_shape, their_shape);
    assert!(our_shape.contains("'current_epoch'"), "{our_shape}");
    // The same lines on stdout, but for the directory named.
    let strip = |s: &str, dir: &Path| s.replace(&dir.display().to_string(), "DIR");
    assert_eq!(
        strip(&String::from_utf8_lossy(&out.stdout), &theirs),
        strip(
            &String::from_utf8_lossy(
                &trib(&["backup", &addrs[0], &ours.display().to_string()]).stdout
            ),
            &ours
        )
    );
}
