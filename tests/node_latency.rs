//! LATENCY on a real `ferrodis-node`, against redis-server 7 as the
//! reference: exact replies where they are deterministic (errors, help,
//! empty reports), the same shape checks on both where they hold timings.

use ferrodis_resp::Frame;
use ferrodis_suite::reply::{error, int, ok};
use ferrodis_suite::{Client, Server};

/// Both servers, with DEBUG allowed (DEBUG SLEEP makes slow commands).
fn servers() -> [(&'static str, Server); 2] {
    [
        ("redis", Server::redis(&["--enable-debug-command", "yes"])),
        (
            "ferrodis",
            Server::ferrodis(&["--enable-debug-command", "yes"]),
        ),
    ]
}

fn text(f: &Frame) -> String {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        Frame::Verbatim { format, data } => {
            assert_eq!(format, b"txt");
            String::from_utf8_lossy(data).into_owned()
        }
        other => panic!("not text: {other:?}"),
    }
}

fn int_of(f: &Frame) -> i64 {
    match f {
        Frame::Integer(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

/// The replies that hold no timing: the same bytes from both servers.
#[test]
fn deterministic_replies_match_redis() {
    let script: &[&str] = &[
        "LATENCY LATEST",
        "LATENCY HISTORY command",
        "LATENCY GRAPH command",
        "LATENCY RESET",
        "LATENCY RESET command fast-command",
        "LATENCY DOCTOR",
        "LATENCY HELP",
        "LATENCY",
        "LATENCY HISTORY",
        "LATENCY HISTORY a b",
        "LATENCY LATEST x",
        "LATENCY GRAPH",
        "LATENCY HELP x",
        "LATENCY DOCTOR x",
        "LATENCY NOSUCH",
        "LATENCY HISTOGRAM nosuch",
        "CONFIG SET latency-monitor-threshold 50",
        "LATENCY DOCTOR",
        "LATENCY LATEST",
        "CONFIG GET latency-monitor-threshold",
        "CONFIG SET latency-monitor-threshold -1",
        "CONFIG SET latency-tracking maybe",
    ];
    let [(_, redis), (_, ferrodis)] = servers();
    let (mut r, mut f) = (redis.client(), ferrodis.client());
    for line in script {
        let want = r.cmd(line);
        assert_eq!(f.cmd(line), want, "{line}");
    }
    // The same in RESP3.
    r.cmd("HELLO 3");
    f.cmd("HELLO 3");
    for line in script {
        let want = r.cmd(line);
        assert_eq!(f.cmd(line), want, "RESP3: {line}");
    }
}

/// A slow command becomes a `command` event; the same checks hold on
/// both servers.
#[test]
fn slow_commands_are_latency_events() {
    for (name, server) in servers() {
        let mut c = server.client();
        let before = ferrodis_suite_now();
        // Off by default: a slow command leaves no trace.
        assert_eq!(c.cmd("DEBUG SLEEP 0.02"), ok(), "{name}");
        assert_eq!(c.cmd("LATENCY LATEST"), Frame::Array(vec![]), "{name}");

        assert_eq!(c.cmd("CONFIG SET latency-monitor-threshold 10"), ok());
        assert_eq!(c.cmd("PING"), Frame::Simple("PONG".into()));
        assert_eq!(
            c.cmd("LATENCY LATEST"),
            Frame::Array(vec![]),
            "{name}: PING is fast"
        );
        assert_eq!(c.cmd("DEBUG SLEEP 0.05"), ok());
        let Frame::Array(latest) = c.cmd("LATENCY LATEST") else {
            panic!("{name}: LATEST is an array");
        };
        assert_eq!(latest.len(), 1, "{name}: {latest:?}");
        let Frame::Array(event) = &latest[0] else {
            panic!("{name}: {latest:?}")
        };
        assert_eq!(text(&event[0]), "command", "{name}");
        let (time, ms, max) = (int_of(&event[1]), int_of(&event[2]), int_of(&event[3]));
        assert!(
            time >= before && time <= ferrodis_suite_now(),
            "{name}: {time}"
        );
        assert!((50..5000).contains(&ms) && max == ms, "{name}: {ms} {max}");

        // Same second: one sample, the highest.
        let history = c.cmd("LATENCY HISTORY command");
        let Frame::Array(samples) = &history else {
            panic!("{name}: {history:?}")
        };
        assert!(
            !samples.is_empty() && samples.len() <= 2,
            "{name}: {history:?}"
        );
        assert_eq!(
            samples.last(),
            Some(&Frame::Array(vec![int(time), int(ms)])),
            "{name}"
        );

        let graph = text(&c.cmd("LATENCY GRAPH command"));
        assert!(
            graph.starts_with(&format!("command - high {ms} ms, low ")),
            "{name}: {graph}"
        );
        assert!(graph.contains(&format!("(all time high {ms} ms)\n{}\n", "-".repeat(80))));

        let doctor = text(&c.cmd("LATENCY DOCTOR"));
        assert!(
            doctor.starts_with("Dave, I have observed latency spikes in this Redis instance."),
            "{name}: {doctor}"
        );
        assert!(doctor.contains(&format!("1. command: {} latency spikes", samples.len())));
        assert!(
            doctor.contains(&format!("Worst all time event {ms}ms.")),
            "{name}"
        );
        assert!(
            doctor.contains("- Check your Slow Log to understand"),
            "{name}"
        );

        assert_eq!(c.cmd("LATENCY RESET nosuch"), int(0), "{name}");
        assert_eq!(c.cmd("LATENCY RESET COMMAND"), int(1), "{name}");
        assert_eq!(c.cmd("LATENCY LATEST"), Frame::Array(vec![]), "{name}");
        assert_eq!(
            c.cmd("LATENCY GRAPH command"),
            error("ERR No samples available for event 'command'")
        );
    }
}

fn ferrodis_suite_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Every label Redis' HDR histogram can print (µs), in order.
const LABELS: [i64; 21] = [
    1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816, 67633, 135266,
    270532, 541065, 1073741,
];

/// Checks one command's histogram entry (RESP3): `calls` then
/// `histogram_usec`, a cumulative distribution over Redis' labels.
fn check_histogram(name: &str, entry: &Frame, calls: i64) -> Vec<(i64, i64)> {
    let Frame::Map(fields) = entry else {
        panic!("{name}: {entry:?}")
    };
    assert_eq!(fields.len(), 2, "{name}");
    assert_eq!(text(&fields[0].0), "calls");
    assert_eq!(fields[0].1, int(calls), "{name}");
    assert_eq!(text(&fields[1].0), "histogram_usec");
    let Frame::Map(buckets) = &fields[1].1 else {
        panic!("{name}: {entry:?}")
    };
    let cdf: Vec<(i64, i64)> = buckets
        .iter()
        .map(|(k, v)| (int_of(k), int_of(v)))
        .collect();
    assert!(!cdf.is_empty(), "{name}");
    for w in cdf.windows(2) {
        assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{name}: {cdf:?}");
    }
    for (label, _) in &cdf {
        assert!(LABELS.contains(label), "{name}: label {label} in {cdf:?}");
    }
    assert_eq!(cdf.last().map(|c| c.1), Some(calls), "{name}");
    cdf
}

#[test]
fn histograms_count_every_call() {
    for (name, server) in servers() {
        let mut c = server.client();
        for i in 0..5 {
            c.cmd(&format!("SET k{i} v"));
        }
        c.cmd("DEBUG SLEEP 0.003");
        c.cmd("HELLO 3");
        let Frame::Map(all) = c.cmd("LATENCY HISTOGRAM set debug nosuch") else {
            panic!("{name}: a map")
        };
        assert_eq!(all.len(), 2, "{name}: {all:?}");
        assert_eq!(text(&all[0].0), "set");
        check_histogram(name, &all[0].1, 5);
        assert_eq!(text(&all[1].0), "debug");
        let debug = check_histogram(name, &all[1].1, 1);
        // 3 ms and a little more: the 4227 µs bucket, or one later if the
        // machine is slow.
        assert!(debug[0].0 >= 4227, "{name}: {debug:?}");

        // Without names: every command that ran, including HELLO.
        let Frame::Map(all) = c.cmd("LATENCY HISTOGRAM") else {
            panic!("{name}: a map")
        };
        let names: Vec<String> = all.iter().map(|(k, _)| text(k)).collect();
        for want in ["set", "debug", "hello"] {
            assert!(names.iter().any(|n| n == want), "{name}: {names:?}");
        }
        // RESP2: the maps are flattened.
        c.cmd("HELLO 2");
        let Frame::Array(flat) = c.cmd("LATENCY HISTOGRAM set") else {
            panic!("{name}: an array in RESP2")
        };
        assert_eq!(flat.len(), 2);
        assert_eq!(text(&flat[0]), "set");
        let Frame::Array(fields) = &flat[1] else {
            panic!("{name}: {flat:?}")
        };
        assert_eq!(text(&fields[0]), "calls");
        assert_eq!(fields[1], int(5));

        // latency-tracking no: calls are no longer counted.
        assert_eq!(c.cmd("CONFIG SET latency-tracking no"), ok());
        c.cmd("SET k v");
        c.cmd("HELLO 3");
        let Frame::Map(all) = c.cmd("LATENCY HISTOGRAM set") else {
            panic!("{name}: a map")
        };
        check_histogram(name, &all[0].1, 5);
        // CONFIG RESETSTAT forgets them.
        assert_eq!(c.cmd("CONFIG RESETSTAT"), ok());
        assert_eq!(c.cmd("LATENCY HISTOGRAM set"), Frame::Map(vec![]), "{name}");
    }
}

#[test]
fn latency_monitor_threshold_is_a_startup_option() {
    let node = Server::ferrodis(&["--latency-monitor-threshold", "5"]);
    let mut c: Client = node.client();
    c.cmd("DEBUG SLEEP 0.01");
    let Frame::Array(latest) = c.cmd("LATENCY LATEST") else {
        panic!("LATEST is an array")
    };
    assert_eq!(latest.len(), 1, "{latest:?}");
}
