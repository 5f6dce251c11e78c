//! Log lines in Redis' format: `pid:role dd Mon yyyy hh:mm:ss.mmm <level> message`.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

use parking_lot::Mutex;

static LEVEL: AtomicU8 = AtomicU8::new(2);
static FILE: OnceLock<Mutex<Option<std::fs::File>>> = OnceLock::new();

/// Sets the level (`debug`, `verbose`, `notice`, `warning`) and the file
/// (`""` = standard output).
pub(crate) fn init(level: &str, file: &str) -> std::io::Result<()> {
    LEVEL.store(
        match level {
            "debug" => 0,
            "verbose" => 1,
            "warning" => 3,
            "nothing" => 4,
            _ => 2,
        },
        Ordering::Relaxed,
    );
    let f = if file.is_empty() {
        None
    } else {
        Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(file)?,
        )
    };
    let _ = FILE.set(Mutex::new(f));
    Ok(())
}

fn write(level: u8, mark: char, msg: &str) {
    if level < LEVEL.load(Ordering::Relaxed) {
        return;
    }
    let line = format!("{}:M {} {mark} {msg}\n", std::process::id(), timestamp());
    emit(&line);
}

/// Text written as it is, whatever the level (the start banner).
pub(crate) fn raw(text: &str) {
    emit(text);
}

fn emit(line: &str) {
    match FILE.get().map(|f| f.lock()) {
        Some(mut guard) if guard.is_some() => {
            if let Some(f) = guard.as_mut() {
                let _ = f.write_all(line.as_bytes());
            }
        }
        _ => {
            let _ = std::io::stdout().write_all(line.as_bytes());
        }
    }
}

pub(crate) fn verbose(msg: &str) {
    write(1, '-', msg);
}

pub(crate) fn notice(msg: &str) {
    write(2, '*', msg);
}

pub(crate) fn warning(msg: &str) {
    write(3, '#', msg);
}

/// `23 Nov 2026 08:30:35.123` in UTC.
fn timestamp() -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ms = crate::shared::unix_ms();
    let secs = ms / 1000;
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = (secs / 86400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let name = MONTHS.get((month - 1) as usize).copied().unwrap_or("Jan");
    format!(
        "{day:02} {name} {year} {h:02}:{m:02}:{s:02}.{:03}",
        ms % 1000
    )
}
