//! The slow log: commands that ran longer than `slowlog-log-slower-than`
//! microseconds, newest first, at most `slowlog-max-len` of them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use ferrodis_resp::Request;
use parking_lot::Mutex;

/// Redis keeps at most this many arguments per entry...
const MAX_ARGS: usize = 32;
/// ... and at most this many bytes per argument.
const MAX_ARG_LEN: usize = 128;

/// One logged command.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) id: u64,
    pub(crate) unix_secs: u64,
    pub(crate) micros: u64,
    pub(crate) args: Vec<Bytes>,
    pub(crate) addr: String,
    pub(crate) name: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct SlowLog {
    entries: Mutex<VecDeque<Entry>>,
    next_id: AtomicU64,
    /// `slowlog-log-slower-than` (negative: off) and `slowlog-max-len`,
    /// read on every command without taking the configuration lock.
    threshold_us: AtomicI64,
    max_len: AtomicUsize,
}

impl SlowLog {
    pub(crate) fn new(threshold_us: i64, max_len: u64) -> SlowLog {
        SlowLog {
            entries: Mutex::new(VecDeque::new()),
            next_id: AtomicU64::new(0),
            threshold_us: AtomicI64::new(threshold_us),
            max_len: AtomicUsize::new(usize::try_from(max_len).unwrap_or(usize::MAX)),
        }
    }

    pub(crate) fn configure(&self, threshold_us: i64, max_len: u64) {
        self.threshold_us.store(threshold_us, Ordering::Relaxed);
        let max_len = usize::try_from(max_len).unwrap_or(usize::MAX);
        self.max_len.store(max_len, Ordering::Relaxed);
        self.entries.lock().truncate(max_len);
    }

    /// Whether a command that took `micros` belongs in the log.
    #[inline]
    pub(crate) fn wants(&self, micros: u64) -> bool {
        let t = self.threshold_us.load(Ordering::Relaxed);
        t >= 0 && micros >= t as u64
    }

    /// Logs a command, trimming its arguments as Redis does.
    pub(crate) fn record(&self, req: &Request, micros: u64, addr: String, name: Vec<u8>) {
        let total = req.len();
        let shown = total.min(MAX_ARGS);
        let mut args = Vec::with_capacity(shown);
        for (i, a) in req.args().take(shown).enumerate() {
            if i == MAX_ARGS - 1 && total > MAX_ARGS {
                args.push(Bytes::from(format!(
                    "... ({} more arguments)",
                    total - MAX_ARGS + 1
                )));
                break;
            }
            if a.len() > MAX_ARG_LEN {
                let mut t = a[..MAX_ARG_LEN].to_vec();
                t.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - MAX_ARG_LEN).as_bytes(),
                );
                args.push(Bytes::from(t));
            } else {
                args.push(Bytes::copy_from_slice(a));
            }
        }
        let entry = Entry {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            unix_secs: crate::shared::unix_ms() / 1000,
            micros,
            args,
            addr,
            name,
        };
        let max_len = self.max_len.load(Ordering::Relaxed);
        let mut entries = self.entries.lock();
        entries.push_front(entry);
        entries.truncate(max_len);
    }

    /// The newest `count` entries (all when `None`).
    pub(crate) fn get(&self, count: Option<usize>) -> Vec<Entry> {
        let entries = self.entries.lock();
        entries
            .iter()
            .take(count.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.lock().len()
    }

    pub(crate) fn reset(&self) {
        self.entries.lock().clear();
    }
}
