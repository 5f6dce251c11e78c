//! Latency measurements, as Redis 7 keeps them:
//!
//! - The latency monitor: when `latency-monitor-threshold` is not 0, every
//!   event that took at least that many milliseconds (a command: `command`
//!   or, for commands flagged `fast`, `fast-command`; a run of the active
//!   expire cycle: `expire-cycle`) is a sample in its event's time series.
//!   A series holds the last [`SERIES_LEN`] seconds that had a sample, one
//!   sample per second (the highest), and the all-time maximum. `LATENCY
//!   LATEST`, `HISTORY`, `GRAPH`, `DOCTOR` and `RESET` read them.
//! - Per-command latency histograms (`latency-tracking yes`, the default):
//!   every call's duration is counted in the command's [`Histogram`], which
//!   `LATENCY HISTOGRAM` reports as a cumulative distribution.
//!
//! # The histogram's buckets
//!
//! Redis records durations (in nanoseconds, from microsecond timings) in an
//! HDR histogram (1 ns to 1 s, 2 significant digits) and reports it with a
//! logarithmic iterator: one line per power of two from 1024 ns, labelled
//! with the highest value (in µs) equivalent to that power in the HDR
//! histogram, counting every value up to that label. Only those boundaries
//! are ever reported, so counting values between consecutive boundaries
//! gives the same replies with [`BUCKETS`] counters: the boundary for
//! `2^(10+k)` ns is `2^(10+k) + 2^(3+k) - 1` ns (the HDR sub-bucket holding
//! `2^(10+k)` is `2^(3+k)` wide); the last (`2^30` ns, past the histogram's
//! range) is labelled with the histogram's highest value, 1073741823 ns.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

/// Samples kept per event (Redis' `LATENCY_TS_LEN`).
pub(crate) const SERIES_LEN: usize = 160;

/// Width of `LATENCY GRAPH`'s chart.
const GRAPH_COLUMNS: usize = 80;
/// Height of `LATENCY GRAPH`'s chart.
const GRAPH_ROWS: usize = 4;

/// One second's worst latency of an event.
#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    /// Unix time in seconds; 0 marks an unused slot.
    time: u64,
    /// Milliseconds.
    latency: u64,
}

/// An event's samples: a ring of the last [`SERIES_LEN`] seconds.
#[derive(Debug, Clone)]
struct Series {
    /// Where the next sample goes; the newest is just before it.
    next: usize,
    /// The all-time highest latency.
    max: u64,
    samples: [Sample; SERIES_LEN],
}

impl Series {
    fn new() -> Series {
        Series {
            next: 0,
            max: 0,
            samples: [Sample::default(); SERIES_LEN],
        }
    }

    fn newest(&self) -> Sample {
        self.samples[(self.next + SERIES_LEN - 1) % SERIES_LEN]
    }

    /// The used samples, oldest first.
    fn in_order(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..SERIES_LEN)
            .map(move |j| self.samples[(self.next + j) % SERIES_LEN])
            .filter(|s| s.time != 0)
    }

    fn add(&mut self, latency: u64, now: u64) {
        self.max = self.max.max(latency);
        // One sample per second: the highest.
        let prev = (self.next + SERIES_LEN - 1) % SERIES_LEN;
        if self.samples[prev].time == now {
            let p = &mut self.samples[prev];
            p.latency = p.latency.max(latency);
            return;
        }
        self.samples[self.next] = Sample { time: now, latency };
        self.next = (self.next + 1) % SERIES_LEN;
    }
}

/// What `LATENCY LATEST` reports for one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Latest {
    pub(crate) event: String,
    /// Unix seconds of the newest sample.
    pub(crate) time: u64,
    /// Its latency, in milliseconds.
    pub(crate) latency: u64,
    /// The all-time highest latency.
    pub(crate) max: u64,
}

/// The latency monitor: event time series, and the settings the command
/// path reads without taking the configuration lock.
#[derive(Debug)]
pub(crate) struct Monitor {
    /// `latency-monitor-threshold` in milliseconds (0: off).
    threshold_ms: AtomicU64,
    /// `latency-tracking`: whether commands feed their histograms.
    tracking: AtomicBool,
    /// Events in the order they first happened.
    events: Mutex<Vec<(String, Series)>>,
}

impl Monitor {
    pub(crate) fn new(threshold_ms: i64, tracking: bool) -> Monitor {
        let m = Monitor {
            threshold_ms: AtomicU64::new(0),
            tracking: AtomicBool::new(true),
            events: Mutex::new(Vec::new()),
        };
        m.configure(threshold_ms, tracking);
        m
    }

    /// Applies `latency-monitor-threshold` and `latency-tracking`.
    pub(crate) fn configure(&self, threshold_ms: i64, tracking: bool) {
        self.threshold_ms
            .store(u64::try_from(threshold_ms).unwrap_or(0), Ordering::Relaxed);
        self.tracking.store(tracking, Ordering::Relaxed);
    }

    /// `latency-monitor-threshold`.
    pub(crate) fn threshold_ms(&self) -> u64 {
        self.threshold_ms.load(Ordering::Relaxed)
    }

    /// Records `micros` of `event` if the monitor is on and it reaches the
    /// threshold (Redis' `latencyAddSampleIfNeeded`).
    #[inline]
    pub(crate) fn sample_if_needed(&self, event: &str, micros: u64) {
        let threshold = self.threshold_ms();
        let ms = micros / 1000;
        if threshold > 0 && ms >= threshold {
            self.add(event, ms, crate::shared::unix_ms() / 1000);
        }
    }

    /// What a finished command records: its monitor event and, with
    /// `latency-tracking`, its histogram.
    #[inline]
    pub(crate) fn after_command(&self, fast: bool, micros: u64, histogram: &Histogram) {
        let event = if fast { "fast-command" } else { "command" };
        self.sample_if_needed(event, micros);
        if self.tracking.load(Ordering::Relaxed) {
            histogram.record(micros);
        }
    }

    /// Adds a sample at `now` (Unix seconds).
    fn add(&self, event: &str, ms: u64, now: u64) {
        let mut events = self.events.lock();
        match events.iter_mut().find(|(name, _)| name == event) {
            Some((_, series)) => series.add(ms, now),
            None => {
                let mut series = Series::new();
                series.add(ms, now);
                events.push((event.to_owned(), series));
            }
        }
    }

    /// `LATENCY RESET [event ...]`: forgets the named events (names compare
    /// case-insensitively), or all of them; returns how many were reset.
    pub(crate) fn reset(&self, names: &[&[u8]]) -> usize {
        let mut events = self.events.lock();
        let before = events.len();
        if names.is_empty() {
            events.clear();
        } else {
            events.retain(|(e, _)| !names.iter().any(|n| n.eq_ignore_ascii_case(e.as_bytes())));
        }
        before - events.len()
    }

    /// `LATENCY LATEST`: every event's newest sample.
    pub(crate) fn latest(&self) -> Vec<Latest> {
        self.events
            .lock()
            .iter()
            .map(|(event, s)| {
                let newest = s.newest();
                Latest {
                    event: event.clone(),
                    time: newest.time,
                    latency: newest.latency,
                    max: s.max,
                }
            })
            .collect()
    }

    /// `LATENCY HISTORY event`: (Unix seconds, ms) pairs, oldest first;
    /// empty for an unknown event.
    pub(crate) fn history(&self, event: &[u8]) -> Vec<(u64, u64)> {
        self.with_series(event, |_, s| {
            s.in_order().map(|x| (x.time, x.latency)).collect()
        })
        .unwrap_or_default()
    }

    fn with_series<R>(&self, event: &[u8], f: impl FnOnce(&str, &Series) -> R) -> Option<R> {
        let events = self.events.lock();
        events
            .iter()
            .find(|(e, _)| e.as_bytes() == event)
            .map(|(e, s)| f(e, s))
    }

    /// `LATENCY GRAPH event`: an ASCII chart of the samples, labelled with
    /// their age; `None` for an unknown event.
    pub(crate) fn graph(&self, event: &[u8], now: u64) -> Option<String> {
        self.with_series(event, |name, s| {
            let samples: Vec<(f64, String)> = s
                .in_order()
                .map(|x| (x.latency as f64, age_label(now.saturating_sub(x.time))))
                .collect();
            let low = s.in_order().map(|x| x.latency).min().unwrap_or(0);
            let high = s.in_order().map(|x| x.latency).max().unwrap_or(0);
            let mut out = format!(
                "{name} - high {high} ms, low {low} ms (all time high {} ms)\n",
                s.max
            );
            out.push_str(&"-".repeat(GRAPH_COLUMNS));
            out.push('\n');
            out.push_str(&sparkline(&samples, GRAPH_COLUMNS, GRAPH_ROWS));
            out
        })
    }

    /// `LATENCY DOCTOR`: Redis' report on the events, with the advice that
    /// applies to what Ferrodis measures.
    pub(crate) fn doctor(&self, facts: &DoctorFacts) -> String {
        let events = self.events.lock();
        if events.is_empty() && self.threshold_ms() == 0 {
            return DOCTOR_DISABLED.to_owned();
        }
        let threshold = self.threshold_ms();
        let mut report = String::new();
        let mut advice = Advice::default();
        for (n, (event, series)) in events.iter().enumerate() {
            if n == 0 {
                report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            }
            let stats = Stats::of(series, facts.now);
            let _ = write!(
                report,
                "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
                n + 1,
                stats.samples,
                stats.avg,
                stats.mad,
                stats.period as f64 / stats.samples.max(1) as f64,
                series.max
            );
            match event.as_str() {
                "command" => {
                    if facts.slowlog_slower_than_us < 0 {
                        advice.slowlog_enable = true;
                    } else if facts.slowlog_slower_than_us / 1000 > threshold as i64 {
                        advice.slowlog_tune = true;
                    }
                    advice.slowlog_inspect = true;
                    advice.large_objects = true;
                }
                "fast-command" => advice.scheduler = true,
                "expire-cycle" => {
                    advice.hz = true;
                    advice.large_objects = true;
                }
                _ => {}
            }
            report.push('\n');
        }
        advice.disable_thp = facts.anon_huge_pages;
        if events.is_empty() && !advice.any() {
            report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        } else if !advice.any() {
            report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        } else {
            report.push_str("\nI have a few advices for you:\n\n");
            advice.write(&mut report, threshold, facts.hz);
        }
        report
    }
}

/// What `LATENCY DOCTOR` needs to know besides the events.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DoctorFacts {
    /// Unix seconds.
    pub(crate) now: u64,
    /// `slowlog-log-slower-than` (µs; negative: off).
    pub(crate) slowlog_slower_than_us: i64,
    /// `hz`.
    pub(crate) hz: u32,
    /// Whether the process uses transparent huge pages.
    pub(crate) anon_huge_pages: bool,
}

const DOCTOR_DISABLED: &str = "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";

/// The advice `LATENCY DOCTOR` gives, in Redis' words.
#[derive(Debug, Default)]
struct Advice {
    slowlog_enable: bool,
    slowlog_tune: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    hz: bool,
    large_objects: bool,
    disable_thp: bool,
}

impl Advice {
    fn any(&self) -> bool {
        self.slowlog_enable
            || self.slowlog_tune
            || self.slowlog_inspect
            || self.scheduler
            || self.hz
            || self.large_objects
            || self.disable_thp
    }

    fn write(&self, out: &mut String, threshold_ms: u64, hz: u32) {
        let slowlog_us = threshold_ms.saturating_mul(1000);
        if self.slowlog_enable {
            let _ = writeln!(out, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {slowlog_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
        }
        if self.slowlog_tune {
            let _ = writeln!(out, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {slowlog_us}'.");
        }
        if self.slowlog_inspect {
            out.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if self.scheduler {
            out.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if self.hz && hz < 100 {
            out.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        }
        if self.large_objects {
            out.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if self.disable_thp {
            out.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }
}

/// Figures over an event's samples (Redis' `analyzeLatencyForEvent`).
#[derive(Debug, Default, PartialEq, Eq)]
struct Stats {
    samples: u64,
    avg: u64,
    /// Mean absolute deviation from the average.
    mad: u64,
    /// Seconds from the oldest sample to now (at least 1).
    period: u64,
}

impl Stats {
    fn of(series: &Series, now: u64) -> Stats {
        let samples: Vec<Sample> = series.in_order().collect();
        let Some(oldest) = samples.iter().map(|s| s.time).min() else {
            return Stats::default();
        };
        let n = samples.len() as u64;
        let avg = samples.iter().map(|s| s.latency).sum::<u64>() / n;
        let mad = samples.iter().map(|s| s.latency.abs_diff(avg)).sum::<u64>() / n;
        Stats {
            samples: n,
            avg,
            mad,
            period: now.saturating_sub(oldest).max(1),
        }
    }
}

/// How long ago, as `LATENCY GRAPH` labels it: `12s`, `5m`, `3h`, `2d`.
fn age_label(secs: u64) -> String {
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        3600..=86_399 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// Renders samples as Redis' filled sparkline: `rows` lines of `_`, `o`,
/// `#` (and `|` below a bar's top) scaled between the lowest and highest
/// value, then each sample's label written vertically under it after one
/// blank line; in blocks of `columns` samples.
fn sparkline(samples: &[(f64, String)], columns: usize, rows: usize) -> String {
    const FILL: [char; 3] = ['_', 'o', '#'];
    let mut out = String::new();
    let min = samples.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = samples
        .iter()
        .map(|s| s.0)
        .fold(f64::NEG_INFINITY, f64::max);
    let range = if max - min == 0.0 { 1.0 } else { max - min };
    let steps = (FILL.len() * rows) as i64;
    let labelled = samples.iter().any(|s| !s.1.is_empty());
    for (block, chunk) in samples.chunks(columns.max(1)).enumerate() {
        if block > 0 {
            out.push('\n');
        }
        let level = |v: f64| -> i64 {
            // Truncations as in Redis' `(int)(relval*steps)/relmax`.
            let step = (((v - min) * steps as f64).trunc() / range) as i64;
            step.clamp(0, steps - 1)
        };
        for row in 0..rows as i64 {
            let line: String = chunk
                .iter()
                .map(|(v, _)| {
                    let idx = level(*v) - (rows as i64 - row - 1) * FILL.len() as i64;
                    match usize::try_from(idx) {
                        Ok(i) if i < FILL.len() => FILL[i],
                        Ok(_) => '|',
                        Err(_) => ' ',
                    }
                })
                .collect();
            out.push_str(&line);
            out.push('\n');
        }
        if !labelled {
            continue;
        }
        out.push_str(&" ".repeat(chunk.len()));
        out.push('\n');
        let tallest = chunk.iter().map(|s| s.1.len()).max().unwrap_or(0);
        for i in 0..tallest {
            let line: String = chunk
                .iter()
                .map(|(_, label)| label.as_bytes().get(i).map_or(' ', |&b| char::from(b)))
                .collect();
            out.push_str(&line);
            out.push('\n');
        }
    }
    out
}

/// Counters: one per reported boundary, and the values above the last.
pub(crate) const BUCKETS: usize = 21;

/// A command's latency histogram (see the module documentation).
#[derive(Debug, Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS],
}

/// The upper bound (inclusive, in ns) of bucket `k`.
fn bucket_bound_ns(k: usize) -> u64 {
    if k + 1 >= BUCKETS {
        // 2^30 ns lies past the HDR histogram's last sub-bucket.
        (1 << 30) - 1
    } else {
        (1u64 << (10 + k)) + (1u64 << (3 + k)) - 1
    }
}

impl Histogram {
    /// Counts one call that took `micros` (clamped to 1 ns .. 1 s, as
    /// Redis does).
    #[inline]
    pub(crate) fn record(&self, micros: u64) {
        let ns = micros.saturating_mul(1000).clamp(1, 1_000_000_000);
        let k = (0..BUCKETS)
            .find(|&k| ns <= bucket_bound_ns(k))
            .unwrap_or(BUCKETS - 1);
        self.counts[k].fetch_add(1, Ordering::Relaxed);
    }

    /// Calls counted.
    pub(crate) fn calls(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The cumulative distribution `LATENCY HISTOGRAM` reports: (bucket
    /// label in µs, calls up to it), only where the count grows.
    pub(crate) fn cdf(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut total = 0;
        for (k, c) in self.counts.iter().enumerate() {
            let n = c.load(Ordering::Relaxed);
            if n > 0 {
                total += n;
                out.push((bucket_bound_ns(k) / 1000, total));
            }
        }
        out
    }

    /// Forgets every call.
    pub(crate) fn reset(&self) {
        for c in &self.counts {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// Pushes `latency-monitor-threshold` and `latency-tracking` from the
/// configuration to the monitor (at CONFIG SET).
pub(crate) fn apply_config(shared: &crate::shared::Shared) {
    let cfg = shared.config.read();
    shared.latency.configure(
        cfg.get_i64("latency-monitor-threshold").unwrap_or(0),
        cfg.get_bool("latency-tracking").unwrap_or(true),
    );
}

/// Whether this process has transparent huge pages
/// (`AnonHugePages` in `/proc/self/smaps_rollup`).
pub(crate) fn uses_anon_huge_pages() -> bool {
    let Ok(text) = std::fs::read_to_string("/proc/self/smaps_rollup") else {
        return false;
    };
    text.lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .any(|v| {
            v.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .is_ok_and(|kb| kb > 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_the_worst_of_each_second_and_the_all_time_max() {
        let m = Monitor::new(10, true);
        m.add("command", 15, 100);
        m.add("command", 40, 100);
        m.add("command", 12, 100);
        m.add("command", 20, 101);
        m.add("fast-command", 11, 101);
        assert_eq!(m.history(b"command"), vec![(100, 40), (101, 20)]);
        assert_eq!(
            m.latest(),
            vec![
                Latest {
                    event: "command".into(),
                    time: 101,
                    latency: 20,
                    max: 40
                },
                Latest {
                    event: "fast-command".into(),
                    time: 101,
                    latency: 11,
                    max: 11
                },
            ]
        );
        assert_eq!(m.history(b"nosuch"), vec![]);
        // Names are case-sensitive for HISTORY, not for RESET.
        assert_eq!(m.history(b"COMMAND"), vec![]);
        assert_eq!(m.reset(&[b"COMMAND", b"nosuch"]), 1);
        assert_eq!(m.reset(&[]), 1);
        assert!(m.latest().is_empty());
    }

    #[test]
    fn the_ring_keeps_the_last_160_seconds() {
        let m = Monitor::new(1, true);
        for t in 1..=200 {
            m.add("command", t, t);
        }
        let h = m.history(b"command");
        assert_eq!(h.len(), SERIES_LEN);
        assert_eq!(h.first(), Some(&(41, 41)));
        assert_eq!(h.last(), Some(&(200, 200)));
        assert_eq!(m.latest()[0].max, 200);
    }

    #[test]
    fn threshold_zero_records_nothing() {
        let m = Monitor::new(0, true);
        m.sample_if_needed("command", 5_000_000);
        assert!(m.latest().is_empty());
        m.configure(5, true);
        m.sample_if_needed("command", 4_999);
        assert!(m.latest().is_empty());
        m.sample_if_needed("command", 5_000);
        assert_eq!(m.latest()[0].latency, 5);
    }

    #[test]
    fn histogram_buckets_match_redis_labels() {
        // The labels redis-server 7.0.15 printed for DEBUG SLEEP 0,
        // 0.00001, ... 1.2 (one call each).
        let h = Histogram::default();
        for us in [
            0, 10, 30, 100, 300, 1000, 3000, 10_000, 30_000, 100_000, 300_000, 1_200_000,
        ] {
            h.record(us);
        }
        let cdf = h.cdf();
        let labels: Vec<u64> = cdf.iter().map(|c| c.0).collect();
        assert_eq!(
            labels,
            [1, 16, 33, 132, 528, 1056, 4227, 16908, 33816, 135266, 541065, 1073741]
        );
        assert_eq!(cdf.last(), Some(&(1073741, 12)));
        assert_eq!(h.calls(), 12);
        // 8 µs and 16 µs are the labels of 8192 and 16384 ns.
        let h = Histogram::default();
        h.record(8);
        h.record(9);
        assert_eq!(h.cdf(), vec![(8, 1), (16, 2)]);
        h.reset();
        assert!(h.cdf().is_empty());
    }

    #[test]
    fn graph_draws_redis_sparkline() {
        let m = Monitor::new(1, true);
        assert_eq!(m.graph(b"command", 1000), None);
        m.add("command", 20, 1000);
        let g = m.graph(b"command", 1000).unwrap();
        let dashes = "-".repeat(80);
        assert_eq!(
            g,
            format!("command - high 20 ms, low 20 ms (all time high 20 ms)\n{dashes}\n \n \n \n_\n \n0\ns\n")
        );
        m.add("command", 10, 1001);
        m.add("command", 30, 1002);
        let g = m.graph(b"command", 1062).unwrap();
        let chart: Vec<&str> = g.lines().skip(2).collect();
        assert_eq!(
            chart,
            ["  #", "_ |", "| |", "|_|", "   ", "111", "mmm"],
            "{g}"
        );
    }

    #[test]
    fn doctor_speaks_redis() {
        let facts = DoctorFacts {
            now: 1000,
            slowlog_slower_than_us: 10_000,
            hz: 10,
            anon_huge_pages: false,
        };
        let m = Monitor::new(0, true);
        assert_eq!(m.doctor(&facts), DOCTOR_DISABLED);
        m.configure(5, true);
        assert!(m
            .doctor(&facts)
            .starts_with("Dave, no latency spike was observed"));
        m.add("command", 20, 999);
        let report = m.doctor(&facts);
        assert!(report.starts_with("Dave, I have observed latency spikes"));
        assert!(report.contains("1. command: 1 latency spikes (average 20ms, mean deviation 0ms, period 1.00 sec). Worst all time event 20ms.\n"), "{report}");
        assert!(report.contains("Please use 'CONFIG SET slowlog-log-slower-than 5000'."));
        assert!(report.contains("- Check your Slow Log"));
    }
}
