//! One client session: the connection, the selected database, the
//! transaction and cluster-redirection state, and sending commands with
//! redis-cli's output for each reply.

use std::io::Write;
use std::time::Duration;

use ferrodis_resp::Frame;
use ferrodis_trib::conn::error_text;
use ferrodis_trib::{format, Conn, Error};

use crate::config::{Config, OutputMode};

/// The process should end with this status (redis-cli's `exit()` calls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit(pub i32);

/// The state of a client session.
pub struct Session {
    /// The options.
    pub cfg: Config,
    conn: Option<Conn>,
    /// The database the connection is in.
    pub dbnum: i64,
    /// The database asked for (`-n`, SELECT).
    pub input_dbnum: i64,
    in_multi: bool,
    pre_multi_dbnum: i64,
    /// Interactive (or reading commands from standard input): print
    /// redirections, survive connection errors.
    pub interactive: bool,
    reissue: bool,
    send_asking: bool,
    shutdown: bool,
    monitor_mode: bool,
    pubsub_mode: bool,
    last_was_error_or_nil: (bool, bool),
    out: Box<dyn Write>,
    err: Box<dyn Write>,
}

/// Commands whose reply is printed as it is, without quoting, even on a
/// terminal (INFO and friends).
fn verbatim_output(args: &[Vec<u8>]) -> bool {
    let is = |i: usize, s: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(s.as_bytes()))
    };
    let argc = args.len();
    is(0, "info")
        || is(0, "lolwut")
        || (argc >= 2
            && is(0, "debug")
            && (is(1, "htstats") || is(1, "htstats-key") || is(1, "client-eviction")))
        || (argc >= 2 && is(0, "memory") && (is(1, "malloc-stats") || is(1, "doctor")))
        || (argc == 2 && is(0, "cluster") && (is(1, "nodes") || is(1, "info")))
        || (argc >= 2 && is(0, "client") && (is(1, "list") || is(1, "info")))
        || (argc == 3 && is(0, "latency") && is(1, "graph"))
        || (argc == 2 && is(0, "latency") && is(1, "doctor"))
        || (argc >= 2 && is(0, "proxy") && is(1, "info"))
}

/// `MOVED 3999 127.0.0.1:6381` / `ASK ...`: slot, host, port, and whether
/// it is an ASK.
pub fn parse_redirect(text: &str) -> Option<(i64, String, u16, bool)> {
    let (ask, rest) = if let Some(r) = text.strip_prefix("MOVED ") {
        (false, r)
    } else if let Some(r) = text.strip_prefix("ASK ") {
        (true, r)
    } else {
        return None;
    };
    let (slot, addr) = rest.split_once(' ')?;
    let (host, port) = addr.rsplit_once(':')?;
    Some((
        ferrodis_trib::cluster::atoi(slot),
        host.to_owned(),
        u16::try_from(ferrodis_trib::cluster::atoi(port)).unwrap_or(0),
        ask,
    ))
}

impl Session {
    /// A session writing replies to `out` and errors to `err`.
    pub fn new(cfg: Config, out: Box<dyn Write>, err: Box<dyn Write>) -> Session {
        let input_dbnum = cfg.db;
        Session {
            cfg,
            conn: None,
            dbnum: 0,
            input_dbnum,
            in_multi: false,
            pre_multi_dbnum: 0,
            interactive: false,
            reissue: false,
            send_asking: false,
            shutdown: false,
            monitor_mode: false,
            pubsub_mode: false,
            last_was_error_or_nil: (false, false),
            out,
            err,
        }
    }

    /// Whether a connection is open.
    pub fn connected(&self) -> bool {
        self.conn.is_some()
    }

    /// The prompt: `127.0.0.1:7000[2](TX)> `.
    pub fn prompt(&self) -> String {
        let mut p = if self.cfg.host.contains(':') {
            format!("[{}]:{}", self.cfg.host, self.cfg.port)
        } else {
            format!("{}:{}", self.cfg.host, self.cfg.port)
        };
        if self.dbnum != 0 {
            p.push_str(&format!("[{}]", self.dbnum));
        }
        if self.in_multi {
            p.push_str("(TX)");
        }
        p.push_str("> ");
        p
    }

    fn print(&mut self, bytes: &[u8]) {
        let _ = self.out.write_all(bytes);
    }

    fn flush(&mut self) {
        let _ = self.out.flush();
    }

    fn eprint(&mut self, text: &str) {
        let _ = self.out.flush();
        let _ = self.err.write_all(text.as_bytes());
        let _ = self.err.flush();
    }

    /// Text on standard output (the interactive loop's own messages).
    pub fn say(&mut self, text: &str) {
        self.print(text.as_bytes());
        self.flush();
    }

    /// Connects (again, when `force`): AUTH, SELECT, HELLO 3 as asked.
    /// `quiet`: no message when the connection fails.
    pub fn connect(&mut self, force: bool, quiet: bool) -> bool {
        if self.conn.is_some() && !force {
            return true;
        }
        if self.conn.take().is_some() {
            self.dbnum = 0;
            self.in_multi = false;
        }
        let conn = match Conn::connect(&self.cfg.host, self.cfg.port, None) {
            Ok(c) => c,
            Err(e) => {
                if !quiet {
                    self.eprint(&format!("{e}\n"));
                }
                return false;
            }
        };
        self.conn = Some(conn);
        if let Some(pass) = self.cfg.password.clone() {
            let user = self.cfg.user.clone();
            let mut args = vec!["AUTH".to_owned()];
            args.extend(user);
            args.push(pass);
            match self.simple_call(&args) {
                Some(reply) => {
                    if let Some(msg) = error_text(&reply) {
                        self.eprint(&format!("AUTH failed: {msg}\n"));
                        return false;
                    }
                }
                None => return false,
            }
        }
        if !self.select() {
            return false;
        }
        if self.cfg.resp3 && !self.cfg.resp2 {
            match self.simple_call(&["HELLO", "3"]) {
                Some(reply) => {
                    if let Some(msg) = error_text(&reply) {
                        self.eprint(&format!("HELLO 3 failed: {msg}\n"));
                        return false;
                    }
                }
                None => return false,
            }
        }
        true
    }

    /// A command outside the printed flow (AUTH, SELECT, ASKING); `None`
    /// and an `I/O error` message when the connection fails.
    fn simple_call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Option<Frame> {
        let result = match self.conn.as_mut() {
            Some(c) => c.call(args),
            None => Err(Error::Closed),
        };
        match result {
            Ok(f) => Some(f),
            Err(_) => {
                self.eprint("\nI/O error\n");
                None
            }
        }
    }

    fn select(&mut self) -> bool {
        if self.input_dbnum == self.dbnum {
            return true;
        }
        let db = self.input_dbnum.to_string();
        let Some(reply) = self.simple_call(&["SELECT", db.as_str()]) else {
            return false;
        };
        if let Some(msg) = error_text(&reply) {
            self.eprint(&format!("SELECT {db} failed: {msg}\n"));
            return false;
        }
        self.dbnum = self.input_dbnum;
        true
    }

    /// Sends a command `repeat` times, following cluster redirections
    /// (`issueCommandRepeat`). `Err(Exit)` when the process must end.
    pub fn issue(&mut self, args: &[Vec<u8>], repeat: i64) -> Result<bool, Exit> {
        loop {
            if (self.reissue || self.conn.is_none()) && !self.connect(true, false) {
                self.reissue = false;
                return Ok(false);
            }
            self.reissue = false;
            if self.send_asking {
                self.send_asking = false;
                let Some(reply) = self.simple_call(&["ASKING"]) else {
                    return Ok(false);
                };
                if let Some(msg) = error_text(&reply) {
                    self.eprint(&format!("ASKING failed: {msg}\n"));
                    return Ok(false);
                }
            }
            if let Err(e) = self.send_command(args, repeat)? {
                self.eprint(&format!("Error: {e}\n"));
                self.conn = None;
                return Ok(false);
            }
            if self.cfg.cluster_mode && self.reissue {
                continue;
            }
            return Ok(true);
        }
    }

    fn send_command(&mut self, args: &[Vec<u8>], repeat: i64) -> Result<Result<(), Error>, Exit> {
        let Some(command) = args.first() else {
            return Ok(Ok(()));
        };
        let is = |s: &str| command.eq_ignore_ascii_case(s.as_bytes());
        let verbatim = verbatim_output(args);
        if is("shutdown") {
            self.shutdown = true;
        }
        if is("monitor") {
            self.monitor_mode = true;
        }
        if is("subscribe") || is("psubscribe") || is("ssubscribe") {
            self.pubsub_mode = true;
        }
        let mut remaining = repeat;
        while remaining != 0 {
            if remaining > 0 {
                remaining -= 1;
            }
            let sent = match self.conn.as_mut() {
                Some(c) => c.send(args),
                None => Err(Error::Closed),
            };
            if let Err(e) = sent {
                return Ok(Err(e));
            }
            if self.monitor_mode {
                loop {
                    if let Err(e) = self.read_reply(verbatim)? {
                        self.eprint(&format!("Error: {e}\n"));
                        return Err(Exit(1));
                    }
                    self.flush();
                    if self.last_was_error_or_nil.0 {
                        self.monitor_mode = false;
                        return Ok(Ok(()));
                    }
                }
            }
            if self.pubsub_mode {
                if self.cfg.output != OutputMode::Raw {
                    self.print(b"Reading messages... (press Ctrl-C to quit)\n");
                }
                while self.pubsub_mode {
                    if let Err(e) = self.read_reply(verbatim)? {
                        self.eprint(&format!("Error: {e}\n"));
                        return Err(Exit(1));
                    }
                    self.flush();
                    if self.last_was_error_or_nil.0 {
                        self.pubsub_mode = false;
                    }
                }
                continue;
            }
            if let Err(e) = self.read_reply(verbatim)? {
                return Ok(Err(e));
            }
            let (was_error, was_nil) = self.last_was_error_or_nil;
            let argc = args.len();
            if is("select") && argc == 2 && !was_error {
                self.dbnum = ferrodis_trib::cluster::atoi(&String::from_utf8_lossy(&args[1]));
                self.input_dbnum = self.dbnum;
            } else if is("auth") && (argc == 2 || argc == 3) {
                self.select();
            } else if is("multi") && argc == 1 && !was_error {
                self.in_multi = true;
                self.pre_multi_dbnum = self.dbnum;
            } else if is("exec") && argc == 1 && self.in_multi {
                self.in_multi = false;
                if was_error || was_nil {
                    self.dbnum = self.pre_multi_dbnum;
                    self.input_dbnum = self.dbnum;
                }
            } else if is("discard") && argc == 1 && !was_error {
                self.in_multi = false;
                self.dbnum = self.pre_multi_dbnum;
                self.input_dbnum = self.dbnum;
            } else if is("reset") && argc == 1 && !was_error {
                self.in_multi = false;
                self.dbnum = 0;
                self.input_dbnum = 0;
                self.cfg.resp3 = false;
            }
            if self.reissue {
                break;
            }
            if self.cfg.interval > 0.0 {
                std::thread::sleep(Duration::from_secs_f64(self.cfg.interval));
            }
            self.flush();
        }
        Ok(Ok(()))
    }

    /// Reads one reply and prints it (or follows a redirection).
    fn read_reply(&mut self, verbatim: bool) -> Result<Result<(), Error>, Exit> {
        let frame = loop {
            let result = match self.conn.as_mut() {
                Some(c) => c.read_reply(),
                None => Err(Error::Closed),
            };
            match result {
                Ok(Frame::Push(items)) if !self.pubsub_mode && !self.monitor_mode => {
                    if self.cfg.push_output {
                        let f = Frame::Push(items);
                        let text = self.push_text(&f);
                        self.print(&text);
                    }
                }
                Ok(f) => break f,
                Err(e) => {
                    if self.shutdown {
                        self.conn = None;
                        return Ok(Ok(()));
                    }
                    if self.interactive {
                        return Ok(Err(e));
                    }
                    self.eprint(&format!("Error: {e}\n"));
                    return Err(Exit(1));
                }
            }
        };
        let error = error_text(&frame);
        self.last_was_error_or_nil = (
            error.is_some(),
            matches!(frame, Frame::NullBulk | Frame::NullArray | Frame::Null),
        );
        if self.pubsub_mode {
            // Unsubscribed from everything: back to normal mode.
            if let Frame::Array(items) | Frame::Push(items) = &frame {
                let kind = items.first().and_then(ferrodis_trib::conn::string_bytes);
                let count = items.get(2);
                if matches!(kind, Some(k) if k.eq_ignore_ascii_case(b"unsubscribe")
                    || k.eq_ignore_ascii_case(b"punsubscribe")
                    || k.eq_ignore_ascii_case(b"sunsubscribe"))
                    && matches!(count, Some(Frame::Integer(0)))
                {
                    self.pubsub_mode = false;
                }
            }
        }
        if let Some(text) = &error {
            if self.cfg.cluster_mode {
                if let Some((slot, host, port, ask)) = parse_redirect(text) {
                    self.cfg.host = host;
                    self.cfg.port = port;
                    if self.interactive {
                        let line = format!(
                            "-> Redirected to slot [{slot}] located at {}:{}\n",
                            self.cfg.host, self.cfg.port
                        );
                        self.print(line.as_bytes());
                    }
                    self.reissue = true;
                    if ask {
                        self.send_asking = true;
                    }
                    return Ok(Ok(()));
                }
            }
            if !self.interactive && self.cfg.set_errcode {
                self.eprint(&format!("{text}\n"));
                return Err(Exit(1));
            }
        }
        let text = self.format(&frame, verbatim);
        self.print(&text);
        self.flush();
        Ok(Ok(()))
    }

    fn push_text(&self, f: &Frame) -> Vec<u8> {
        if self.cfg.output == OutputMode::Standard {
            if let Frame::Push(items) = f {
                if let [kind, Frame::Array(keys)] = items.as_slice() {
                    if ferrodis_trib::conn::string_bytes(kind)
                        .is_some_and(|k| k.starts_with(b"invalidate"))
                    {
                        let mut out = b"-> invalidate: ".to_vec();
                        for (i, k) in keys.iter().enumerate() {
                            out.push(b'\'');
                            out.extend_from_slice(
                                ferrodis_trib::conn::string_bytes(k).unwrap_or_default(),
                            );
                            out.push(b'\'');
                            if i + 1 < keys.len() {
                                out.extend_from_slice(b", ");
                            }
                        }
                        out.push(b'\n');
                        return out;
                    }
                }
            }
        }
        self.format(f, false)
    }

    /// A reply in the configured output form (`cliFormatReply`).
    pub fn format(&self, f: &Frame, verbatim: bool) -> Vec<u8> {
        if verbatim {
            return format::raw(f, &self.cfg.mb_delim);
        }
        match self.cfg.output {
            OutputMode::Standard => format::tty(f),
            OutputMode::Raw => {
                let mut out = format::raw(f, &self.cfg.mb_delim);
                out.extend_from_slice(&self.cfg.cmd_delim);
                out
            }
            OutputMode::Csv => {
                let mut out = format::csv(f);
                out.push(b'\n');
                out
            }
        }
    }

    /// The open connection, for pipe mode.
    pub fn take_conn(&mut self) -> Option<Conn> {
        self.conn.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirections_parse_as_redis_cli_reads_them() {
        assert_eq!(
            parse_redirect("MOVED 3999 127.0.0.1:6381"),
            Some((3999, "127.0.0.1".to_owned(), 6381, false))
        );
        assert_eq!(
            parse_redirect("ASK 1 ::1:7000"),
            Some((1, "::1".to_owned(), 7000, true))
        );
        assert_eq!(parse_redirect("MOVED"), None);
        assert_eq!(parse_redirect("ERR x"), None);
    }

    #[test]
    fn the_prompt_shows_the_database_and_transactions() {
        let mut cfg = Config::new(false);
        cfg.port = 7000;
        let mut s = Session::new(cfg, Box::new(std::io::sink()), Box::new(std::io::sink()));
        assert_eq!(s.prompt(), "127.0.0.1:7000> ");
        s.dbnum = 2;
        s.in_multi = true;
        assert_eq!(s.prompt(), "127.0.0.1:7000[2](TX)> ");
    }
}
