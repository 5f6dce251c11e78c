//! The replica's side of one connection to its master, as a state machine:
//! the handshake (`PING`, `AUTH`, `REPLCONF listening-port`/`ip-address`/
//! `capa eof capa psync2`, `PSYNC`), the RDB transfer (`$<len>` or
//! diskless `$EOF:<mark>` framing, with the newline keepalives a master
//! sends while it prepares the payload), then the command stream with the
//! offset each command ends at.
//!
//! The caller feeds every byte read from the socket to [`Link::on_bytes`]
//! and carries out the returned [`Action`]s in order.

use bytes::{Bytes, BytesMut};
use ferrodis_resp::{Limits, RequestDecoder};

use crate::error::ReplError;
use crate::id::ReplId;
use crate::master::encode_command;

/// The longest reply line accepted during the handshake.
const MAX_LINE: usize = 64 * 1024;

/// What the replica announces and how it authenticates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// `REPLCONF listening-port` (the replica's port, or
    /// `replica-announce-port`).
    pub listening_port: u16,
    /// `REPLCONF ip-address` (`replica-announce-ip`), when set.
    pub ip_address: Option<String>,
    /// `masteruser`, when set (then `AUTH user pass`).
    pub user: Option<Vec<u8>>,
    /// `masterauth`, when set.
    pub password: Option<Vec<u8>>,
}

/// What the caller must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write these bytes to the master.
    Send(Vec<u8>),
    /// The master starts a full resynchronization: the payload follows,
    /// after which the replica's offset is `offset` and its replication id
    /// `replid`.
    FullResync {
        /// The master's id.
        replid: ReplId,
        /// The offset the payload corresponds to.
        offset: u64,
    },
    /// Partial resynchronization accepted: the stream continues from the
    /// replica's offset. `replid` is the master's id when it differs from
    /// the one asked for (after a promotion), so the replica moves its old
    /// id to `replid2`.
    Continue {
        /// The master's new id, when it changed.
        replid: Option<ReplId>,
    },
    /// The master cannot serve now (`-NOMASTERLINK`, `-LOADING`): close
    /// and try again later.
    Retry(String),
    /// The payload begins; `len` is its size with `$<len>` framing, `None`
    /// with `$EOF:` framing. Nothing is allocated for it here.
    RdbBegin {
        /// The announced length.
        len: Option<u64>,
    },
    /// The next bytes of the payload.
    RdbChunk(Vec<u8>),
    /// The payload is complete: load it, then apply the stream.
    RdbDone,
    /// A command of the stream: apply it (unless it is `REPLCONF` or
    /// `PING`), and hand `raw` on, unchanged, to this node's own replicas.
    Command {
        /// The arguments.
        argv: Vec<Bytes>,
        /// The command's bytes as received.
        raw: Vec<u8>,
        /// The replica's offset once the command is applied.
        offset: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    Auth,
    Port,
    Ip,
    Capa,
}

#[derive(Debug)]
enum State {
    Idle,
    WaitPong,
    Handshake(Vec<Reply>),
    WaitPsync,
    WaitBulk,
    Bulk { remaining: u64 },
    EofBulk { mark: [u8; 40] },
    Streaming,
    Failed,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Link {
    config: Config,
    /// The id and offset to continue from (`PSYNC id offset+1`), or none
    /// for `PSYNC ? -1`.
    cached: Option<(ReplId, u64)>,
    state: State,
    buf: BytesMut,
    decoder: RequestDecoder,
    offset: u64,
}

impl Link {
    /// A link that will ask to continue from `cached` (the id of the
    /// master this replica followed and the offset it processed), or for a
    /// full resync.
    pub fn new(config: Config, cached: Option<(ReplId, u64)>) -> Link {
        Link {
            config,
            cached,
            state: State::Idle,
            buf: BytesMut::new(),
            decoder: RequestDecoder::new(Limits::default()),
            offset: cached.map_or(0, |c| c.1),
        }
    }

    /// Starts the handshake once connected.
    pub fn start(&mut self) -> Vec<Action> {
        self.state = State::WaitPong;
        vec![Action::Send(command(&[b"PING"]))]
    }

    /// The offset processed so far (what `REPLCONF ACK` reports).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether the stream is flowing (the handshake and any payload are
    /// done).
    pub fn streaming(&self) -> bool {
        matches!(self.state, State::Streaming)
    }

    /// Whether a payload is being received.
    pub fn transferring(&self) -> bool {
        matches!(self.state, State::Bulk { .. } | State::EofBulk { .. })
    }

    /// `REPLCONF ACK <offset>`, sent every second and on `GETACK`.
    pub fn ack(&self) -> Vec<u8> {
        let off = self.offset.to_string();
        command(&[b"REPLCONF", b"ACK", off.as_bytes()])
    }

    /// Takes bytes read from the master. After an error the link is dead:
    /// close it.
    pub fn on_bytes(&mut self, data: &[u8]) -> Result<Vec<Action>, ReplError> {
        if matches!(self.state, State::Failed) {
            return Ok(Vec::new());
        }
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        match self.run(&mut out) {
            Ok(()) => Ok(out),
            Err(e) => {
                self.state = State::Failed;
                Err(e)
            }
        }
    }

    fn run(&mut self, out: &mut Vec<Action>) -> Result<(), ReplError> {
        loop {
            match &mut self.state {
                State::Idle | State::Failed => {
                    self.buf.clear();
                    return Ok(());
                }
                State::WaitPong => {
                    let Some(line) = self.line()? else {
                        return Ok(());
                    };
                    if line.starts_with(b"-")
                        && !line.starts_with(b"-NOAUTH")
                        && !line.starts_with(b"-NOPERM")
                        && !line.starts_with(b"-ERR operation not permitted")
                    {
                        return Err(ReplError::Ping(text(line.get(1..).unwrap_or_default())));
                    }
                    let mut wire = Vec::new();
                    let mut expect = Vec::new();
                    if let Some(pass) = &self.config.password {
                        match &self.config.user {
                            Some(user) => encode_command(&mut wire, &[b"AUTH", user, pass]),
                            None => encode_command(&mut wire, &[b"AUTH", pass]),
                        }
                        expect.push(Reply::Auth);
                    }
                    let port = self.config.listening_port.to_string();
                    encode_command(
                        &mut wire,
                        &[b"REPLCONF", b"listening-port", port.as_bytes()],
                    );
                    expect.push(Reply::Port);
                    if let Some(ip) = &self.config.ip_address {
                        encode_command(&mut wire, &[b"REPLCONF", b"ip-address", ip.as_bytes()]);
                        expect.push(Reply::Ip);
                    }
                    encode_command(
                        &mut wire,
                        &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"],
                    );
                    expect.push(Reply::Capa);
                    expect.reverse();
                    out.push(Action::Send(wire));
                    self.state = State::Handshake(expect);
                }
                State::Handshake(expect) => {
                    let Some(what) = expect.last().copied() else {
                        out.push(Action::Send(self.psync()));
                        self.state = State::WaitPsync;
                        continue;
                    };
                    let Some(line) = self.line()? else {
                        return Ok(());
                    };
                    // Errors to REPLCONF are not fatal (older masters), as
                    // in Redis; a refused AUTH is.
                    if what == Reply::Auth && line.starts_with(b"-") {
                        return Err(ReplError::Auth(text(line.get(1..).unwrap_or_default())));
                    }
                    if let State::Handshake(expect) = &mut self.state {
                        expect.pop();
                    }
                }
                State::WaitPsync => {
                    let Some(line) = self.line()? else {
                        return Ok(());
                    };
                    // A master may send newlines before it answers (while
                    // it waits to start a diskless transfer).
                    if line.is_empty() {
                        continue;
                    }
                    self.on_psync_reply(&line, out)?;
                }
                State::WaitBulk => {
                    // Newlines are keepalives while the master prepares
                    // the payload.
                    let Some(line) = self.line()? else {
                        return Ok(());
                    };
                    if line.is_empty() {
                        continue;
                    }
                    if line.starts_with(b"-") {
                        return Err(ReplError::Psync(text(line.get(1..).unwrap_or_default())));
                    }
                    let Some(spec) = line.strip_prefix(b"$") else {
                        return Err(ReplError::Protocol(format!(
                            "Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?",
                            text(&line)
                        )));
                    };
                    if let Some(mark) = spec.strip_prefix(b"EOF:") {
                        let mark: [u8; 40] = mark
                            .try_into()
                            .map_err(|_| ReplError::Protocol("bad $EOF: mark length".to_owned()))?;
                        out.push(Action::RdbBegin { len: None });
                        self.state = State::EofBulk { mark };
                    } else {
                        let len = std::str::from_utf8(spec)
                            .ok()
                            .and_then(|s| s.parse::<u64>().ok())
                            .ok_or_else(|| {
                                ReplError::Protocol(format!("bad bulk length '{}'", text(spec)))
                            })?;
                        out.push(Action::RdbBegin { len: Some(len) });
                        self.state = State::Bulk { remaining: len };
                    }
                }
                State::Bulk { remaining } => {
                    if *remaining == 0 {
                        out.push(Action::RdbDone);
                        self.state = State::Streaming;
                        continue;
                    }
                    if self.buf.is_empty() {
                        return Ok(());
                    }
                    let n = (*remaining).min(self.buf.len() as u64) as usize;
                    *remaining -= n as u64;
                    out.push(Action::RdbChunk(self.buf.split_to(n).to_vec()));
                }
                State::EofBulk { mark } => {
                    let mark = *mark;
                    if let Some(at) = self.buf.windows(40).position(|w| w == mark) {
                        if at > 0 {
                            out.push(Action::RdbChunk(self.buf.split_to(at).to_vec()));
                        }
                        let _ = self.buf.split_to(40);
                        out.push(Action::RdbDone);
                        self.state = State::Streaming;
                        continue;
                    }
                    // The mark may have begun in the last 39 bytes.
                    let safe = self.buf.len().saturating_sub(39);
                    if safe > 0 {
                        out.push(Action::RdbChunk(self.buf.split_to(safe).to_vec()));
                    }
                    return Ok(());
                }
                State::Streaming => {
                    let before = self.buf.len();
                    let raw_start = self.buf.clone();
                    match self.decoder.decode(&mut self.buf) {
                        Ok(Some(argv)) => {
                            let used = before - self.buf.len();
                            let raw = raw_start.get(..used).unwrap_or_default().to_vec();
                            let is_getack = argv.len() >= 2
                                && argv
                                    .first()
                                    .is_some_and(|a| a.eq_ignore_ascii_case(b"replconf"))
                                && argv
                                    .get(1)
                                    .is_some_and(|a| a.eq_ignore_ascii_case(b"getack"));
                            if is_getack {
                                out.push(Action::Send(self.ack()));
                            }
                            self.offset += used as u64;
                            if argv.is_empty() {
                                continue;
                            }
                            out.push(Action::Command {
                                argv,
                                raw,
                                offset: self.offset,
                            });
                        }
                        Ok(None) => {
                            // Blank lines are consumed without a request.
                            let used = before - self.buf.len();
                            self.offset += used as u64;
                            return Ok(());
                        }
                        Err(e) => return Err(ReplError::Protocol(e.to_string())),
                    }
                }
            }
        }
    }

    fn on_psync_reply(&mut self, line: &[u8], out: &mut Vec<Action>) -> Result<(), ReplError> {
        if let Some(rest) = line.strip_prefix(b"+FULLRESYNC") {
            let mut parts = rest.split(|b| *b == b' ').filter(|p| !p.is_empty());
            let replid = parts.next().and_then(ReplId::parse);
            let offset = parts
                .next()
                .and_then(|o| std::str::from_utf8(o).ok())
                .and_then(|o| o.parse::<u64>().ok());
            let (Some(replid), Some(offset)) = (replid, offset) else {
                return Err(ReplError::FullResyncSyntax);
            };
            self.offset = offset;
            out.push(Action::FullResync { replid, offset });
            self.state = State::WaitBulk;
            return Ok(());
        }
        if let Some(rest) = line.strip_prefix(b"+CONTINUE") {
            let new = ReplId::parse(rest.trim_ascii());
            let changed = match (new, self.cached) {
                (Some(n), Some((old, _))) if n != old => Some(n),
                _ => None,
            };
            out.push(Action::Continue { replid: changed });
            self.state = State::Streaming;
            return Ok(());
        }
        if line.starts_with(b"-NOMASTERLINK") || line.starts_with(b"-LOADING") {
            out.push(Action::Retry(text(line.get(1..).unwrap_or_default())));
            self.state = State::Idle;
            return Ok(());
        }
        Err(ReplError::Psync(text(line)))
    }

    fn psync(&self) -> Vec<u8> {
        match self.cached {
            Some((id, off)) => {
                let next = (off + 1).to_string();
                command(&[b"PSYNC", id.as_bytes(), next.as_bytes()])
            }
            None => command(&[b"PSYNC", b"?", b"-1"]),
        }
    }

    /// The next line (without its `\r\n` or `\n`), if complete.
    fn line(&mut self) -> Result<Option<Vec<u8>>, ReplError> {
        match self.buf.iter().position(|b| *b == b'\n') {
            Some(i) => {
                let mut line = self.buf.split_to(i + 1).to_vec();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Ok(Some(line))
            }
            None if self.buf.len() > MAX_LINE => Err(ReplError::LineTooLong),
            None => Ok(None),
        }
    }
}

fn command(argv: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_command(&mut out, argv);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    fn master_bytes(eof: bool) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(b"+PONG\r\n+OK\r\n+OK\r\n+OK\r\n\n\n");
        m.extend_from_slice(format!("+FULLRESYNC {ID} 100\r\n").as_bytes());
        m.extend_from_slice(b"\n\n");
        let payload = b"REDIS0010-not-really-an-rdb";
        if eof {
            let mark = "m".repeat(40);
            m.extend_from_slice(format!("$EOF:{mark}\r\n").as_bytes());
            m.extend_from_slice(payload);
            m.extend_from_slice(mark.as_bytes());
        } else {
            m.extend_from_slice(format!("${}\r\n", payload.len()).as_bytes());
            m.extend_from_slice(payload);
        }
        m.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
        m.extend_from_slice(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
        m.extend_from_slice(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
        m
    }

    fn config() -> Config {
        Config {
            listening_port: 7001,
            ip_address: None,
            user: None,
            password: Some(b"pw".to_vec()),
        }
    }

    /// Runs the link over `input` cut at `cuts`, merging adjacent payload
    /// chunks so that different cuts compare equal.
    fn run(input: &[u8], cuts: &[usize]) -> Result<Vec<Action>, ReplError> {
        let mut link = Link::new(config(), None);
        let mut actions = link.start();
        let mut at = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.sort_unstable();
        points.push(input.len());
        for p in points {
            actions.extend(link.on_bytes(&input[at..p])?);
            at = p;
        }
        let mut merged: Vec<Action> = Vec::new();
        for a in actions {
            match (merged.last_mut(), a) {
                (Some(Action::RdbChunk(prev)), Action::RdbChunk(more)) => prev.extend(more),
                (_, a) => merged.push(a),
            }
        }
        Ok(merged)
    }

    #[test]
    fn full_resync_then_stream() {
        for eof in [false, true] {
            let actions = run(&master_bytes(eof), &[]).unwrap();
            let sends: Vec<&Action> = actions
                .iter()
                .filter(|a| matches!(a, Action::Send(_)))
                .collect();
            assert_eq!(sends[0], &Action::Send(b"*1\r\n$4\r\nPING\r\n".to_vec()));
            let Action::Send(hs) = sends[1] else {
                unreachable!()
            };
            assert!(hs.starts_with(b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n$4\r\n7001\r\n"));
            assert_eq!(
                sends[2],
                &Action::Send(b"*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n".to_vec())
            );
            assert!(actions.contains(&Action::FullResync {
                replid: ReplId::parse(ID.as_bytes()).unwrap(),
                offset: 100
            }));
            assert!(actions.contains(&Action::RdbChunk(b"REDIS0010-not-really-an-rdb".to_vec())));
            let offsets: Vec<u64> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Command { offset, .. } => Some(*offset),
                    _ => None,
                })
                .collect();
            assert_eq!(offsets, [123, 150, 187]);
            // GETACK is answered with the offset before it.
            assert_eq!(
                sends[3],
                &Action::Send(b"*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n150\r\n".to_vec())
            );
        }
    }

    #[test]
    fn continue_and_retries() {
        let old = ReplId::parse(ID.as_bytes()).unwrap();
        let new = ReplId::from_random([7, 8, 9]);
        let mut link = Link::new(Config::default(), Some((old, 500)));
        link.start();
        let a = link.on_bytes(b"+PONG\r\n+OK\r\n+OK\r\n").unwrap();
        assert_eq!(
            a.last(),
            Some(&Action::Send(
                format!("*3\r\n$5\r\nPSYNC\r\n$40\r\n{ID}\r\n$3\r\n501\r\n").into_bytes()
            ))
        );
        let a = link
            .on_bytes(format!("+CONTINUE {new}\r\n").as_bytes())
            .unwrap();
        assert_eq!(a, [Action::Continue { replid: Some(new) }]);
        assert_eq!(link.offset(), 500);

        let mut link = Link::new(Config::default(), None);
        link.start();
        let a = link
            .on_bytes(b"+PONG\r\n+OK\r\n+OK\r\n-LOADING Redis is loading\r\n")
            .unwrap();
        assert!(matches!(a.last(), Some(Action::Retry(_))));

        let mut link = Link::new(config(), None);
        link.start();
        assert!(matches!(
            link.on_bytes(b"+PONG\r\n-WRONGPASS invalid\r\n"),
            Err(ReplError::Auth(_))
        ));
        let mut link = Link::new(Config::default(), None);
        link.start();
        assert!(matches!(
            link.on_bytes(b"-NOAUTH Authentication required.\r\n+OK\r\n+OK\r\n-ERR nope\r\n"),
            Err(ReplError::Psync(_))
        ));
    }

    #[test]
    fn newlines_in_the_stream_count_and_are_skipped() {
        let id = ReplId::parse(ID.as_bytes()).unwrap();
        let mut link = Link::new(Config::default(), Some((id, 10)));
        link.start();
        link.on_bytes(format!("+PONG\r\n+OK\r\n+OK\r\n+CONTINUE {ID}\r\n").as_bytes())
            .unwrap();
        let a = link.on_bytes(b"\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(a.len(), 1);
        assert!(matches!(&a[0], Action::Command { offset: 25, .. }));
        assert_eq!(link.offset(), 25);
    }

    proptest! {
        /// Any split of the master's bytes gives the same actions.
        #[test]
        fn any_split_gives_the_same_actions(
            eof in any::<bool>(),
            cuts in proptest::collection::vec(any::<usize>(), 0..12),
        ) {
            let input = master_bytes(eof);
            prop_assert_eq!(run(&input, &cuts), run(&input, &[]));
        }

        /// Arbitrary bytes never panic.
        #[test]
        fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let mut link = Link::new(config(), None);
            link.start();
            let _ = link.on_bytes(&data);
        }
    }
}
