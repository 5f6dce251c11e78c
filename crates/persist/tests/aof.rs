//! Property tests of the AOF: command streams read back as written, every
//! cut of a stream reads as Redis' loader judges it (truncated, or an
//! open transaction to revert, never corrupt), damaged streams never read
//! back as the original, and manifests survive `to_text` → `parse`.
//!
//! The expected verdicts come from a model of the stream (`expected`),
//! kept independent of the reader: items laid out by a test-side encoder
//! that also records which bytes Redis' loader does not check. An AOF
//! directory written by `redis-server` 7.0.15 (`fixtures/aof/`) anchors
//! them to the real thing.

use ferrodis_persist::{
    encode_command, encode_select, encode_timestamp_annotation, AofError, AofFileInfo, AofFileKind,
    AofReader, Manifest, ManifestErrorKind,
};
use proptest::prelude::*;

type Argv = Vec<Vec<u8>>;

/// One thing in a stream.
#[derive(Debug, Clone)]
enum Item {
    Command(Argv),
    /// `#TS:<n>\r\n`, which loading skips.
    Annotation(i64),
}

/// A stream laid out: the bytes, each item's byte range, and the offsets
/// of bytes the loader does not check.
struct Layout {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// The `\r` of each `*N\r\n`/`$N\r\n` line (`atoi`/`strtol` stop
    /// before it), and the `0` of `$0\r\n` (no digits at all also reads
    /// as 0): anything but a digit or `\n` reads the same.
    number_ends: Vec<usize>,
    /// The two bytes after each argument, skipped unread.
    terminators: Vec<usize>,
}

impl Layout {
    fn unchecked(&self, pos: usize) -> bool {
        self.number_ends.contains(&pos) || self.terminators.contains(&pos)
    }
}

/// Lays out `items` by hand, as Redis writes them, and checks the
/// library's encoder writes the same bytes.
fn layout(items: &[Item]) -> Layout {
    let mut bytes = Vec::new();
    let mut spans = Vec::new();
    let mut number_ends = Vec::new();
    let mut terminators = Vec::new();
    for item in items {
        let start = bytes.len();
        match item {
            Item::Command(argv) => {
                bytes.extend_from_slice(format!("*{}", argv.len()).as_bytes());
                number_ends.push(bytes.len());
                bytes.extend_from_slice(b"\r\n");
                for arg in argv {
                    if arg.is_empty() {
                        number_ends.push(bytes.len() + 1);
                    }
                    bytes.extend_from_slice(format!("${}", arg.len()).as_bytes());
                    number_ends.push(bytes.len());
                    bytes.extend_from_slice(b"\r\n");
                    bytes.extend_from_slice(arg);
                    terminators.extend([bytes.len(), bytes.len() + 1]);
                    bytes.extend_from_slice(b"\r\n");
                }
                let mut encoded = Vec::new();
                encode_command(&mut encoded, argv);
                assert_eq!(&bytes[start..], &encoded[..]);
            }
            Item::Annotation(ts) => {
                let mut encoded = Vec::new();
                encode_timestamp_annotation(&mut encoded, *ts);
                assert_eq!(encoded, format!("#TS:{ts}\r\n").into_bytes());
                bytes.extend_from_slice(&encoded);
            }
        }
        spans.push((start, bytes.len()));
    }
    Layout {
        bytes,
        spans,
        number_ends,
        terminators,
    }
}

fn is(argv: &Argv, name: &str) -> bool {
    argv.first()
        .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
}

/// What Redis' loader makes of the first `cut` bytes of the stream: the
/// commands it reads, and how it ends.
fn expected(items: &[Item], l: &Layout, cut: usize) -> (Vec<Argv>, Result<(), AofError>) {
    let mut cmds = Vec::new();
    let mut last_end = 0;
    let mut open_multi: Option<(usize, usize)> = None;
    for (item, &(start, end)) in items.iter().zip(&l.spans) {
        if end > cut {
            if start < cut && matches!(item, Item::Command(_)) {
                return (cmds, Err(AofError::Truncated { offset: last_end }));
            }
            // A cut annotation is skipped like a whole one.
            break;
        }
        if let Item::Command(argv) = item {
            if is(argv, "multi") {
                open_multi = Some((last_end, start));
            } else if is(argv, "exec") {
                open_multi = None;
            }
            cmds.push(argv.clone());
            last_end = end;
        }
    }
    let end = match open_multi {
        Some((offset, multi_offset)) => Err(AofError::IncompleteMulti {
            offset,
            multi_offset,
        }),
        None => Ok(()),
    };
    (cmds, end)
}

/// Reads `input` to its end (or first error), checking the offsets the
/// reader reports along the way.
fn read_all(input: &[u8]) -> (Vec<Argv>, Result<(), AofError>) {
    let mut reader = AofReader::new(input);
    let mut cmds = Vec::new();
    let mut last_end = 0;
    loop {
        match reader.next_command() {
            Ok(Some(cmd)) => {
                assert!(last_end <= cmd.offset && cmd.offset < cmd.end && cmd.end <= input.len());
                assert_eq!(reader.offset(), cmd.end);
                last_end = cmd.end;
                cmds.push(cmd.argv);
            }
            Ok(None) => return (cmds, Ok(())),
            Err(e) => {
                if let Some(at) = e.truncate_to() {
                    assert!(at <= last_end);
                }
                assert_eq!(reader.next_command(), Err(e.clone()), "errors repeat");
                return (cmds, Err(e));
            }
        }
    }
}

/// An argument; runs of one byte up to `long` bytes.
fn arg(long: usize) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..24),
        1 => any::<i64>().prop_map(|n| n.to_string().into_bytes()),
        1 => (any::<u8>(), 0..long).prop_map(|(b, n)| vec![b; n]),
        1 => Just(b"\r\n*1\r\n$4\r\nPING\r\n".to_vec()),
    ]
}

/// A command that neither opens nor closes a transaction.
fn plain_command() -> impl Strategy<Value = Argv> {
    plain_command_up_to(3000)
}

/// A command that neither opens nor closes a transaction, its arguments
/// shorter than `long` bytes.
fn plain_command_up_to(long: usize) -> impl Strategy<Value = Argv> {
    (
        prop_oneof![
            Just(b"SET".to_vec()),
            Just(b"select".to_vec()),
            "[a-z]{1,8}".prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..6),
        ],
        proptest::collection::vec(arg(long), 0..5),
    )
        .prop_filter("not MULTI or EXEC", |(name, _)| {
            !name.eq_ignore_ascii_case(b"multi") && !name.eq_ignore_ascii_case(b"exec")
        })
        .prop_map(|(name, args)| std::iter::once(name).chain(args).collect())
}

fn item() -> impl Strategy<Value = Item> {
    item_up_to(3000)
}

/// An item whose arguments are shorter than `long` bytes.
fn item_up_to(long: usize) -> impl Strategy<Value = Item> {
    prop_oneof![
        8 => plain_command_up_to(long).prop_map(Item::Command),
        1 => Just(Item::Command(vec![b"MULTI".to_vec()])),
        1 => Just(Item::Command(vec![b"exec".to_vec()])),
        1 => any::<i64>().prop_map(Item::Annotation),
    ]
}

/// A file name Redis can write and read back: no NUL, no `/` or `\`, no
/// single quote (Redis does not quote it, then cannot parse it), not
/// empty; spaces, double quotes, control bytes and non-ASCII included.
fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "appendonly\\.aof\\.[0-9]{1,3}\\.(base\\.rdb|base\\.aof|incr\\.aof)",
        "[^\u{0}/\\\\']{1,40}",
        "[ \"\t\r\n\u{7}\u{8}\u{b}\u{c}\u{7f}a-z#é😀]{1,30}",
    ]
}

fn file(kind: AofFileKind) -> impl Strategy<Value = AofFileInfo> {
    (file_name(), 1u64..=i64::MAX as u64).prop_map(move |(name, seq)| AofFileInfo {
        name,
        seq,
        kind,
    })
}

/// A manifest state as parsing one leaves it: incremental sequence
/// numbers increasing, the counters at the base's and last incr's.
fn manifest() -> impl Strategy<Value = Manifest> {
    (
        proptest::option::of(file(AofFileKind::Base)),
        proptest::collection::vec(file(AofFileKind::History), 0..5),
        proptest::collection::vec(file(AofFileKind::Incr), 0..5),
    )
        .prop_map(|(base, history, mut incrs)| {
            incrs.sort_by_key(|i| i.seq);
            incrs.dedup_by_key(|i| i.seq);
            Manifest {
                base_seq: base.as_ref().map_or(0, |b| b.seq),
                incr_seq: incrs.last().map_or(0, |i| i.seq),
                base,
                history,
                incrs,
            }
        })
}

/// One step of the AOF's life, as `Manifest`'s helpers model it.
#[derive(Debug, Clone)]
enum Step {
    /// A rewrite starts: a new incr file.
    StartRewrite,
    /// A rewrite ends well: new base, covered incr files to history.
    FinishRewrite { rdb: bool, aof_open: bool },
    /// History files deleted.
    DeleteHistory,
    /// Start-up: the last incr file, or a new one.
    Open,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        Just(Step::StartRewrite),
        (any::<bool>(), any::<bool>())
            .prop_map(|(rdb, aof_open)| Step::FinishRewrite { rdb, aof_open }),
        Just(Step::DeleteHistory),
        Just(Step::Open),
    ]
}

fn lists(m: &Manifest) -> (&Option<AofFileInfo>, &Vec<AofFileInfo>, &Vec<AofFileInfo>) {
    (&m.base, &m.history, &m.incrs)
}

/// The files `fixtures/aof/generate.sh` had `redis-server` 7.0.15 write.
const FIXTURE_MANIFEST: &[u8] = include_bytes!("fixtures/aof/appendonly.aof.manifest");
const FIXTURE_BASE: &[u8] = include_bytes!("fixtures/aof/appendonly.aof.2.base.aof");
const FIXTURE_INCR: &[u8] = include_bytes!("fixtures/aof/appendonly.aof.2.incr.aof");

fn words(line: &str) -> Argv {
    line.split(' ').map(|w| w.as_bytes().to_vec()).collect()
}

/// A fixture file's commands, the millisecond time of `PEXPIREAT`
/// replaced by `<ms>` once checked to be one.
fn fixture_commands(bytes: &[u8]) -> Vec<Argv> {
    let (cmds, end) = read_all(bytes);
    assert_eq!(end, Ok(()));
    cmds.into_iter()
        .map(|mut cmd| {
            if cmd[0] == b"PEXPIREAT" {
                assert!(std::str::from_utf8(&cmd[2]).unwrap().parse::<u64>().is_ok());
                cmd[2] = b"<ms>".to_vec();
            }
            cmd
        })
        .collect()
}

#[test]
fn redis_fixture_reads_back() {
    let m = Manifest::parse(FIXTURE_MANIFEST).unwrap();
    assert_eq!(m.to_text().as_bytes(), FIXTURE_MANIFEST);
    let names: Vec<&str> = m.files_to_load().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        ["appendonly.aof.2.base.aof", "appendonly.aof.2.incr.aof"]
    );
    assert_eq!((m.base_seq, m.incr_seq), (2, 2));

    // The rewrite's base: each database's keys in dictionary order.
    let mut base = fixture_commands(FIXTURE_BASE);
    let db3 = base.split_off(base.iter().position(|c| c == &words("SELECT 3")).unwrap());
    let mut db0 = base;
    db0.sort();
    let mut want0 = vec![
        words("SELECT 0"),
        words("SET k1 v1"),
        words("SET ttl v"),
        words("PEXPIREAT ttl <ms>"),
        vec![
            b"SET".to_vec(),
            b"spaced key".to_vec(),
            b"two\r\nlines".to_vec(),
        ],
    ];
    want0.sort();
    assert_eq!(db0, want0);
    let mut db3 = db3;
    db3.sort();
    assert_eq!(
        db3,
        [
            words("RPUSH list a b"),
            words("SADD set x"),
            words("SELECT 3")
        ]
    );

    let incr = fixture_commands(FIXTURE_INCR);
    let want: Vec<Argv> = [
        "SELECT 0",
        "SET after 1",
        "SELECT 5",
        "SET f 2.5 KEEPTTL",
        "SELECT 0",
        "MULTI",
        "SET m 1",
        "INCR m",
        "EXEC",
    ]
    .into_iter()
    .map(words)
    .collect();
    assert_eq!(incr, want);
    // Re-encoded, the commands are Redis' bytes.
    let mut again = Vec::new();
    for cmd in read_all(FIXTURE_INCR).0 {
        encode_command(&mut again, &cmd);
    }
    assert_eq!(again, FIXTURE_INCR);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Streams read back as written; one ending inside a transaction
    /// reads back whole, then reports it.
    #[test]
    fn streams_read_back(items in proptest::collection::vec(item(), 0..40)) {
        let l = layout(&items);
        prop_assert_eq!(read_all(&l.bytes), expected(&items, &l, l.bytes.len()));
    }

    /// Every strict prefix reads as the model says: the whole commands
    /// before the cut, then a clean end, `Truncated` at the last whole
    /// command when the cut falls inside one, or `IncompleteMulti`;
    /// never `Corrupt`.
    #[test]
    fn every_prefix_is_truncated_not_corrupt(
        items in proptest::collection::vec(item_up_to(100), 1..12),
    ) {
        let l = layout(&items);
        for cut in 0..l.bytes.len() {
            let got = read_all(&l.bytes[..cut]);
            let is_corrupt = matches!(got.1, Err(AofError::Corrupt { .. }));
            prop_assert!(!is_corrupt, "cut at {}: {:?}", cut, got.1);
            prop_assert_eq!(got, expected(&items, &l, cut), "cut at {}", cut);
        }
    }

    /// Changing any byte the loader checks gives an error or other
    /// commands, never the original ones (and never a panic).
    #[test]
    fn damaged_streams_differ(
        cmds in proptest::collection::vec(plain_command(), 1..8),
        at in any::<prop::sample::Index>(),
        xor in 1u8..,
    ) {
        let items: Vec<Item> = cmds.iter().cloned().map(Item::Command).collect();
        let l = layout(&items);
        let checked: Vec<usize> =
            (0..l.bytes.len()).filter(|&i| !l.unchecked(i)).collect();
        let pos = checked[at.index(checked.len())];
        let mut damaged = l.bytes.clone();
        damaged[pos] ^= xor;
        let (got, end) = read_all(&damaged);
        prop_assert!(end.is_err() || got != cmds, "byte {} ^ {:#x} read back the same", pos, xor);
    }

    /// Bytes the loader skips may be (nearly) anything.
    #[test]
    fn unchecked_bytes_are_unchecked(
        cmds in proptest::collection::vec(plain_command(), 1..8),
        at in any::<prop::sample::Index>(),
        terminator in any::<bool>(),
        to in any::<u8>(),
    ) {
        let items: Vec<Item> = cmds.iter().cloned().map(Item::Command).collect();
        let l = layout(&items);
        let pos = if terminator {
            l.terminators[at.index(l.terminators.len())]
        } else {
            prop_assume!(!to.is_ascii_digit() && to != b'\n');
            l.number_ends[at.index(l.number_ends.len())]
        };
        let mut changed = l.bytes.clone();
        changed[pos] = to;
        prop_assert_eq!(read_all(&changed), (cmds, Ok(())));
    }

    /// Arbitrary bytes, and arbitrary bytes after a valid start, never
    /// panic, hang or read past the input.
    #[test]
    fn arbitrary_bytes(
        head in proptest::collection::vec(plain_command(), 0..3),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let items: Vec<Item> = head.into_iter().map(Item::Command).collect();
        let mut bytes = layout(&items).bytes;
        bytes.extend_from_slice(&tail);
        let (got, _) = read_all(&bytes);
        prop_assert!(got.len() >= items.len());
    }

    /// `SELECT` is an ordinary command.
    #[test]
    fn select_is_a_command(db in 0u32..10_000) {
        let mut bytes = Vec::new();
        encode_select(&mut bytes, db);
        let (got, end) = read_all(&bytes);
        prop_assert_eq!(end, Ok(()));
        prop_assert_eq!(got, vec![vec![b"SELECT".to_vec(), db.to_string().into_bytes()]]);
    }

    /// A manifest's text parses back to the same state.
    #[test]
    fn manifests_round_trip(m in manifest()) {
        let text = m.to_text();
        prop_assert!(text.is_ascii());
        let parsed = Manifest::parse(text.as_bytes());
        if m.base.is_none() && m.history.is_empty() && m.incrs.is_empty() {
            // Nothing to write: an empty file, which Redis refuses.
            prop_assert_eq!(parsed.map_err(|e| e.kind), Err(ManifestErrorKind::Empty));
        } else {
            prop_assert_eq!(parsed, Ok(m));
        }
    }

    /// Whatever the order of rewrites, start-ups and deletions, the
    /// manifest stays one Redis accepts, with the same files.
    #[test]
    fn rewrite_steps_keep_the_manifest_valid(
        steps in proptest::collection::vec(step(), 1..30),
    ) {
        let prefix = "appendonly.aof";
        let mut m = Manifest::default();
        m.new_base(prefix, true);
        m.last_incr_or_new(prefix);
        for s in steps {
            match s {
                Step::StartRewrite => {
                    m.new_incr(prefix);
                }
                Step::FinishRewrite { rdb, aof_open } => {
                    let old = m.base.clone();
                    let incrs = m.incrs.len();
                    let name = m.new_base(prefix, rdb).to_owned();
                    prop_assert_eq!(Some(&name), m.base.as_ref().map(|b| &b.name));
                    prop_assert_eq!(m.history.first().map(|h| &h.name), old.as_ref().map(|b| &b.name));
                    m.mark_rewritten_incrs_as_history(aof_open);
                    prop_assert_eq!(m.incrs.len(), usize::from(aof_open && incrs > 0));
                }
                Step::DeleteHistory => m.history.clear(),
                Step::Open => {
                    m.last_incr_or_new(prefix);
                }
            }
            let parsed = Manifest::parse(m.to_text().as_bytes()).expect("a valid manifest");
            prop_assert_eq!(lists(&parsed), lists(&m));
            prop_assert!(m.history.iter().all(|h| h.kind == AofFileKind::History));
            prop_assert!(m.incrs.windows(2).all(|w| w[0].seq < w[1].seq));
        }
    }
}
