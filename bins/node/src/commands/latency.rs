//! LATENCY: the latency monitor's reports and the per-command latency
//! histograms (the data lives in [`crate::latency`]).

use ferrodis_resp::Request;

use super::flags::*;
use super::subcommands::{help_reply, subcommand};
use super::{arg, lookup, spec, table, Ctx, Spec};
use crate::latency::DoctorFacts;

pub(super) fn specs() -> Vec<Spec> {
    vec![spec(
        "latency",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        latency,
    )]
}

/// Subcommands with their arity (as Redis 7 declares `latency|<sub>`).
const SUBCOMMANDS: &[(&str, i32)] = &[
    ("doctor", 2),
    ("graph", 3),
    ("help", 2),
    ("histogram", -2),
    ("history", 3),
    ("latest", 2),
    ("reset", -2),
];

const HELP: &[&str] = &[
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
];

/// LATENCY DOCTOR | GRAPH event | HISTORY event | LATEST | RESET [event
/// ...] | HISTOGRAM [command ...] | HELP.
fn latency(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(sub) = subcommand(ctx, req, "latency", SUBCOMMANDS) else {
        return;
    };
    let monitor = &ctx.shared.latency;
    let now = crate::shared::unix_ms() / 1000;
    match sub.as_str() {
        "latest" => {
            let latest = monitor.latest();
            ctx.array(latest.len());
            for l in latest {
                ctx.array(4);
                ctx.bulk(l.event.as_bytes());
                ctx.uint(l.time as usize);
                ctx.uint(l.latency as usize);
                ctx.uint(l.max as usize);
            }
        }
        "history" => {
            let history = monitor.history(arg(req, 2));
            ctx.array(history.len());
            for (time, ms) in history {
                ctx.array(2);
                ctx.uint(time as usize);
                ctx.uint(ms as usize);
            }
        }
        "graph" => match monitor.graph(arg(req, 2), now) {
            Some(text) => ctx.verbatim(text.as_bytes()),
            None => ctx.error(&format!(
                "ERR No samples available for event '{}'",
                String::from_utf8_lossy(arg(req, 2))
            )),
        },
        "doctor" => {
            let facts = {
                let cfg = ctx.shared.config.read();
                DoctorFacts {
                    now,
                    slowlog_slower_than_us: cfg.slowlog_log_slower_than(),
                    hz: cfg.hz(),
                    anon_huge_pages: crate::latency::uses_anon_huge_pages(),
                }
            };
            let report = monitor.doctor(&facts);
            ctx.verbatim(report.as_bytes());
        }
        "reset" => {
            let names: Vec<&[u8]> = req.args().skip(2).collect();
            let n = monitor.reset(&names);
            ctx.uint(n);
        }
        "histogram" => histogram(ctx, req),
        _ => help_reply(ctx, "LATENCY", HELP),
    }
}

/// LATENCY HISTOGRAM [command ...]: for each command that has run (all, or
/// those named; unknown names are skipped), a map of `calls` and
/// `histogram_usec`, the cumulative distribution of its latencies.
///
/// Ferrodis keeps one histogram per command, subcommands included in their
/// command (Redis reports `config|get` and the like separately).
fn histogram(ctx: &mut Ctx<'_>, req: &Request) {
    let mut specs: Vec<&'static Spec> = if req.len() == 2 {
        let mut all: Vec<&'static Spec> = table().values().collect();
        all.sort_by_key(|s| s.name);
        all
    } else {
        req.args().skip(2).filter_map(lookup).collect()
    };
    specs.retain(|s| s.stats.latency.calls() > 0);
    ctx.map(specs.len());
    for spec in specs {
        let cdf = spec.stats.latency.cdf();
        let calls = cdf.last().map_or(0, |c| c.1);
        ctx.bulk(spec.name.as_bytes());
        ctx.map(2);
        ctx.bulk(b"calls");
        ctx.uint(calls as usize);
        ctx.bulk(b"histogram_usec");
        ctx.map(cdf.len());
        for (micros, count) in cdf {
            ctx.uint(micros as usize);
            ctx.uint(count as usize);
        }
    }
}
