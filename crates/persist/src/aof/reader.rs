//! Reading AOF commands out of a file's bytes, as Redis' loader does: the
//! same lines accepted, the same verdicts (clean end, truncated, corrupt)
//! at the same places. Layout and rules: `docs/formats/aof.md`.

use super::cstr::{atoi, fgets, strtol};
use super::error::{AofCorruption, AofError};

/// Redis reads AOF lines with `fgets` into a buffer of this many bytes
/// (`AOF_ANNOTATION_LINE_MAX_LEN`): a line longer than 1023 bytes arrives in
/// pieces, each judged as a line of its own.
pub const AOF_LINE_BUFFER: usize = 1024;

/// The smallest number of bytes one argument can take (`$\n`, no data,
/// two bytes of terminator): bounds the capacity reserved for a command
/// whose argument count has not been checked against the input yet.
const MIN_ARG_BYTES: usize = 4;

/// One command read from an AOF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AofCommand {
    /// The command name and its arguments, as written.
    pub argv: Vec<Vec<u8>>,
    /// Offset of the command's first byte (its `*` line) in the input.
    pub offset: usize,
    /// Offset just past the command's last byte.
    pub end: usize,
}

/// A transaction that has begun and not yet ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct OpenMulti {
    /// End of the last complete command before the `MULTI`.
    valid_before: usize,
    /// Where the `MULTI` starts.
    multi_offset: usize,
}

/// Reads the commands of one AOF file held in memory, one at a time.
///
/// It accepts exactly what Redis 7.0's loader accepts, including its
/// leniencies: lines may end with `\n` alone, numbers are read as C's
/// `atoi`/`strtol` read them (`*3junk` is 3 arguments), the two bytes after
/// each argument are skipped unchecked, and lines starting with `#`
/// (annotations such as `#TS:1700000000`) are skipped where a command
/// could start.
///
/// It knows one thing about commands: a `MULTI` whose `EXEC` never
/// comes. At the end of the input it then reports
/// [`AofError::IncompleteMulti`], as Redis reverts such a transaction.
/// Executing (and queueing inside `MULTI`) is the caller's job.
///
/// An input that starts with an RDB preamble ([`starts_with_rdb_preamble`])
/// must have the RDB read first; [`AofReader::starting_at`] then reads the
/// commands after it.
///
/// After an error, every further call returns the same error.
///
/// [`starts_with_rdb_preamble`]: crate::starts_with_rdb_preamble
///
/// ```
/// use ferrodis_persist::{encode_command, AofReader};
///
/// let mut file = Vec::new();
/// encode_command(&mut file, &[&b"SET"[..], b"k", b"v"]);
/// let mut reader = AofReader::new(&file);
/// let cmd = reader.next_command().unwrap().unwrap();
/// assert_eq!(cmd.argv, [b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]);
/// assert_eq!(reader.next_command(), Ok(None));
/// assert_eq!(reader.offset(), file.len());
/// ```
#[derive(Debug, Clone)]
pub struct AofReader<'a> {
    input: &'a [u8],
    /// Where the next read starts.
    pos: usize,
    /// End of the last complete command.
    valid_up_to: usize,
    multi: Option<OpenMulti>,
    /// The error returned, once one was.
    failed: Option<AofError>,
}

impl<'a> AofReader<'a> {
    /// A reader of the commands in `input`, from its first byte.
    pub fn new(input: &'a [u8]) -> AofReader<'a> {
        AofReader::starting_at(input, 0)
    }

    /// A reader of the commands in `input` from byte `start` (the end of
    /// an RDB preamble). Offsets it reports count from the start of
    /// `input`, so they are file offsets.
    ///
    /// Before the first complete command, [`offset`](AofReader::offset)
    /// and a [`Truncated`](AofError::Truncated) offset are `start`.
    /// Redis 7.0 says 0 there, and truncates the file to nothing,
    /// preamble included; a loader should cut at `start` instead.
    pub fn starting_at(input: &'a [u8], start: usize) -> AofReader<'a> {
        let start = start.min(input.len());
        AofReader {
            input,
            pos: start,
            valid_up_to: start,
            multi: None,
            failed: None,
        }
    }

    /// End of the last complete command read (or the start, before any):
    /// the length a file keeps when truncated to its valid commands.
    pub fn offset(&self) -> usize {
        self.valid_up_to
    }

    /// The next command; `Ok(None)` at a clean end of the input.
    ///
    /// # Errors
    ///
    /// [`AofError::Truncated`] when the input ends inside a command,
    /// [`AofError::IncompleteMulti`] when it ends inside a transaction,
    /// [`AofError::Corrupt`] for bytes no AOF holds.
    pub fn next_command(&mut self) -> Result<Option<AofCommand>, AofError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        match self.read_command() {
            Ok(Some(cmd)) => {
                self.track_multi(&cmd);
                self.valid_up_to = cmd.end;
                Ok(Some(cmd))
            }
            Ok(None) => match self.multi {
                Some(open) => Err(self.fail(AofError::IncompleteMulti {
                    offset: open.valid_before,
                    multi_offset: open.multi_offset,
                })),
                None => Ok(None),
            },
            Err(err) => Err(self.fail(err)),
        }
    }

    fn fail(&mut self, err: AofError) -> AofError {
        self.failed = Some(err.clone());
        err
    }

    /// Redis notes the offset before every `MULTI` (even one inside an
    /// open transaction, where it is only queued) and leaves the
    /// transaction at its `EXEC`; nothing else ends one while loading.
    fn track_multi(&mut self, cmd: &AofCommand) {
        let Some(name) = cmd.argv.first() else {
            return;
        };
        if name.eq_ignore_ascii_case(b"multi") {
            self.multi = Some(OpenMulti {
                valid_before: self.valid_up_to,
                multi_offset: cmd.offset,
            });
        } else if name.eq_ignore_ascii_case(b"exec") {
            self.multi = None;
        }
    }

    fn truncated(&self) -> AofError {
        AofError::Truncated {
            offset: self.valid_up_to,
        }
    }

    fn read_command(&mut self) -> Result<Option<AofCommand>, AofError> {
        // Skip annotations up to the command's `*` line.
        let (start, header) = loop {
            let Some(chunk) = fgets(self.input, self.pos, AOF_LINE_BUFFER) else {
                return Ok(None);
            };
            let at = self.pos;
            self.pos = chunk.next;
            match chunk.bytes.first() {
                Some(b'#') => continue,
                Some(b'*') => break (at, chunk),
                _ => {
                    return Err(AofError::Corrupt {
                        offset: at,
                        reason: AofCorruption::NotACommand,
                    })
                }
            }
        };
        let count_text = header.bytes.get(1..).unwrap_or_default();
        if count_text.first().map_or(true, |&b| b == 0) {
            // Nothing after the `*` (as C sees it): a cut if the read hit
            // the end of the input, otherwise a NUL byte, which Redis
            // fails on as a read error.
            return Err(if header.hit_eof {
                self.truncated()
            } else {
                AofError::Corrupt {
                    offset: start,
                    reason: AofCorruption::NulAfterStar,
                }
            });
        }
        let argc = atoi(count_text);
        let Ok(argc) = usize::try_from(argc) else {
            return Err(bad_count(start, argc));
        };
        if argc == 0 {
            return Err(bad_count(start, 0));
        }
        let remaining = self.input.len().saturating_sub(self.pos);
        let mut argv = Vec::with_capacity(argc.min(remaining / MIN_ARG_BYTES));
        for _ in 0..argc {
            argv.push(self.read_argument()?);
        }
        Ok(Some(AofCommand {
            argv,
            offset: start,
            end: self.pos,
        }))
    }

    fn read_argument(&mut self) -> Result<Vec<u8>, AofError> {
        let at = self.pos;
        let Some(line) = fgets(self.input, self.pos, AOF_LINE_BUFFER) else {
            return Err(self.truncated());
        };
        self.pos = line.next;
        let Some((b'$', len_text)) = line.bytes.split_first() else {
            return Err(AofError::Corrupt {
                offset: at,
                reason: AofCorruption::NotABulk,
            });
        };
        let len = strtol(len_text);
        let Ok(len) = usize::try_from(len) else {
            return Err(AofError::Corrupt {
                offset: at,
                reason: AofCorruption::NegativeLength(len),
            });
        };
        // The data and the two bytes after it must be in the input; only
        // then is anything allocated.
        let data_end = self.pos.checked_add(len).filter(|&e| e <= self.input.len());
        let Some(data) = data_end.and_then(|e| self.input.get(self.pos..e)) else {
            return Err(self.truncated());
        };
        let Some(next) = data_end
            .and_then(|e| e.checked_add(2))
            .filter(|&n| n <= self.input.len())
        else {
            return Err(self.truncated());
        };
        self.pos = next;
        Ok(data.to_vec())
    }
}

fn bad_count(offset: usize, argc: i32) -> AofError {
    AofError::Corrupt {
        offset,
        reason: AofCorruption::BadArgCount(argc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `input` to its end: the commands (arguments joined by
    /// spaces) and how it ended.
    fn read_all(input: &[u8]) -> (Vec<String>, Result<(), AofError>) {
        let mut reader = AofReader::new(input);
        let mut cmds = Vec::new();
        loop {
            match reader.next_command() {
                Ok(Some(cmd)) => cmds.push(
                    cmd.argv
                        .iter()
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Ok(None) => return (cmds, Ok(())),
                Err(e) => {
                    // Fused: the same error again.
                    assert_eq!(reader.next_command(), Err(e.clone()));
                    return (cmds, Err(e));
                }
            }
        }
    }

    fn check(input: &[u8], cmds: &[&str], end: Result<(), AofError>) {
        let (got, got_end) = read_all(input);
        assert_eq!(
            (got, got_end),
            (cmds.iter().map(|s| s.to_string()).collect(), end),
            "input {:?}",
            String::from_utf8_lossy(input)
        );
    }

    fn corrupt(offset: usize, reason: AofCorruption) -> Result<(), AofError> {
        Err(AofError::Corrupt { offset, reason })
    }

    fn truncated(offset: usize) -> Result<(), AofError> {
        Err(AofError::Truncated { offset })
    }

    const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";

    #[test]
    fn well_formed_streams() {
        check(b"", &[], Ok(()));
        check(PING, &["PING"], Ok(()));
        check(
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n",
            &["SET k ", "PING"],
            Ok(()),
        );
        // Annotations, where a command could start, even unterminated at
        // the end.
        check(
            b"#TS:1700000000\r\n*1\r\n$4\r\nPING\r\n#x",
            &["PING"],
            Ok(()),
        );
    }

    #[test]
    fn redis_leniencies() {
        // Bare `\n` line ends; the two bytes after the data unchecked;
        // numbers read up to the first non-digit.
        check(b"*1\n$4\nPINGxy", &["PING"], Ok(()));
        check(b"*2junk\r\n$ 2x\r\nab\r\n$1\r\nc\r\n", &["ab c"], Ok(()));
        // atoi truncates to a C int: 2^32 + 1 arguments read as 1.
        check(b"*4294967297\r\n$4\r\nPING\r\n", &["PING"], Ok(()));
    }

    #[test]
    fn truncated_streams() {
        check(b"*", &[], truncated(0));
        check(b"*1", &[], truncated(0));
        check(b"*1\r\n", &[], truncated(0));
        check(b"*1\r\n$4\r\nPI", &[], truncated(0));
        check(b"*1\r\n$4\r\nPING", &[], truncated(0));
        check(b"*1\r\n$4\r\nPING\r", &[], truncated(0));
        check(b"*1\r\n$0", &[], truncated(0));
        check(b"*\0", &[], truncated(0));
        // The offset is the end of the last complete command, annotations
        // after it not included.
        let mut input = PING.to_vec();
        input.extend_from_slice(b"#TS:1\r\n*2\r\n$3\r\nGET\r\n");
        check(&input, &["PING"], truncated(PING.len()));
        // A length beyond the input, even one that saturates strtol.
        check(b"*1\r\n$99999999999999999999\r\nab\r\n", &[], truncated(0));
    }

    #[test]
    fn corrupt_streams() {
        use AofCorruption::*;
        check(b"x", &[], corrupt(0, NotACommand));
        check(b"\n", &[], corrupt(0, NotACommand));
        let mut input = PING.to_vec();
        input.extend_from_slice(b"\r\n");
        check(&input, &["PING"], corrupt(PING.len(), NotACommand));
        check(b"*0\r\n", &[], corrupt(0, BadArgCount(0)));
        check(b"*-1\r\n", &[], corrupt(0, BadArgCount(-1)));
        check(b"*abc\r\n", &[], corrupt(0, BadArgCount(0)));
        check(b"*\n", &[], corrupt(0, BadArgCount(0)));
        check(
            b"*99999999999999999999\r\n",
            &[],
            corrupt(0, BadArgCount(-1)),
        );
        check(b"*\0\r\n", &[], corrupt(0, NulAfterStar));
        check(b"*1\r\n%4\r\nPING\r\n", &[], corrupt(4, NotABulk));
        check(b"*2\r\n$4\r\nPING\r\n\r\n", &[], corrupt(14, NotABulk));
        check(b"*1\r\n$-1\r\n", &[], corrupt(4, NegativeLength(-1)));
    }

    #[test]
    fn long_lines_arrive_in_pieces() {
        // A 1500-byte annotation: its second piece is not an annotation.
        let mut input = vec![b'#'];
        input.extend(std::iter::repeat(b'a').take(1500));
        input.extend_from_slice(b"\r\n");
        input.extend_from_slice(PING);
        check(
            &input,
            &[],
            corrupt(AOF_LINE_BUFFER - 1, AofCorruption::NotACommand),
        );
        // An annotation that fits is skipped.
        let mut input = vec![b'#'];
        input.extend(std::iter::repeat(b'a').take(AOF_LINE_BUFFER - 3));
        input.push(b'\n');
        input.extend_from_slice(PING);
        check(&input, &["PING"], Ok(()));
    }

    #[test]
    fn open_transaction_at_the_end() {
        let mut input = PING.to_vec();
        let before = input.len();
        input.extend_from_slice(b"#TS:1\r\n");
        let multi = input.len();
        input.extend_from_slice(b"*1\r\n$5\r\nmulti\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n");
        check(
            &input,
            &["PING", "multi", "INCR k"],
            Err(AofError::IncompleteMulti {
                offset: before,
                multi_offset: multi,
            }),
        );
        assert_eq!(
            AofError::IncompleteMulti {
                offset: before,
                multi_offset: multi
            }
            .truncate_to(),
            Some(before)
        );
        // Closed by EXEC: a clean end.
        let mut closed = input.clone();
        closed.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
        check(&closed, &["PING", "multi", "INCR k", "EXEC"], Ok(()));
        // A cut inside the transaction is a plain truncation at the last
        // complete command.
        let mut cut = input.clone();
        let end = cut.len();
        cut.extend_from_slice(b"*1\r\n$4\r\nEX");
        check(&cut, &["PING", "multi", "INCR k"], truncated(end));
    }

    #[test]
    fn starting_after_a_preamble() {
        let mut input = b"REDIS0010junk".to_vec();
        let start = input.len();
        input.extend_from_slice(PING);
        let mut reader = AofReader::starting_at(&input, start);
        assert_eq!(reader.offset(), start);
        let cmd = reader.next_command().unwrap().unwrap();
        assert_eq!((cmd.offset, cmd.end), (start, input.len()));
        assert_eq!(reader.next_command(), Ok(None));
        // Beyond the end: nothing to read.
        assert_eq!(AofReader::starting_at(&input, 999).next_command(), Ok(None));
    }
}
