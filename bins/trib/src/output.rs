//! Where the administration commands write: standard output for the
//! report (with redis-cli's colours on a colour terminal), standard error
//! for the few messages redis-cli sends there.

use std::io::Write;

/// The kind of a report line, which picks its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `>>> ...` steps (bold).
    Info,
    /// `[WARNING]`, `***` (yellow).
    Warn,
    /// `[ERR]` (red).
    Err,
    /// `[OK]` (green).
    Ok,
}

/// The two streams a command writes to.
pub struct Output<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    color: bool,
}

impl<'a> Output<'a> {
    /// Writes the report to `out` and errors to `err`; `color`: wrap report
    /// lines in ANSI colours as redis-cli does on an xterm.
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write, color: bool) -> Output<'a> {
        Output { out, err, color }
    }

    /// A report line (or part of one) of the given level.
    pub fn log(&mut self, level: Level, text: &str) {
        if self.color {
            let code = match level {
                Level::Info => "29;1m",
                Level::Warn => "33;1m",
                Level::Err => "31;1m",
                Level::Ok => "32;1m",
            };
            let _ = write!(self.out, "\x1b[{code}{text}\x1b[0m");
        } else {
            let _ = self.out.write_all(text.as_bytes());
        }
    }

    /// Plain text on the report stream.
    pub fn print(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    /// Raw bytes on the report stream.
    pub fn print_bytes(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes);
    }

    /// Text on the error stream.
    pub fn eprint(&mut self, text: &str) {
        let _ = self.out.flush();
        let _ = self.err.write_all(text.as_bytes());
    }

    /// Flushes the report stream (before waiting, or reading an answer).
    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }

    /// `Node ip:port replied with error:\n<text>\n`, in red.
    pub fn reply_error(&mut self, addr: &str, message: &str) {
        self.log(
            Level::Err,
            &format!("Node {addr} replied with error:\n{message}\n"),
        );
    }
}

/// Whether redis-cli would colour its report: `TERM` names an xterm. The
/// binaries also ask that standard output be a terminal.
pub fn is_color_term() -> bool {
    std::env::var("TERM").is_ok_and(|t| t.contains("xterm"))
}
