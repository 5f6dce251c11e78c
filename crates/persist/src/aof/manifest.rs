//! The AOF manifest: which files make up the append-only file, in which
//! order, and what each one is. Parsed and written as Redis 7.0 does
//! (`docs/formats/aof.md` has the grammar), plus the file-naming rules and
//! the steps of the rewrite protocol, as pure operations on the in-memory
//! state: the caller creates, renames and deletes the files.

use super::cstr::{c_str, fgets, is_print, is_space, strtol};
use super::error::{ManifestError, ManifestErrorKind};

/// Redis reads manifest lines into a buffer of this many bytes plus one
/// (`MANIFEST_MAX_LINE`): a line that is not a comment must have its `\n`
/// within its first 1024 bytes.
pub const MANIFEST_MAX_LINE: usize = 1024;

/// Suffix of a base file's name (before the format suffix).
const BASE_SUFFIX: &str = ".base";
/// Suffix of an incremental file's name (before the format suffix).
const INCR_SUFFIX: &str = ".incr";
/// Format suffix of a base file written as an RDB.
const RDB_SUFFIX: &str = ".rdb";
/// Format suffix of a file of commands.
const AOF_SUFFIX: &str = ".aof";
/// Suffix of the manifest's name.
const MANIFEST_SUFFIX: &str = ".manifest";
/// Prefix of the temporary files Redis renames into place.
const TEMP_PREFIX: &str = "temp-";

/// What an AOF file is to the manifest: the letter after `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AofFileKind {
    /// `b`: the snapshot written by the last rewrite (an RDB or commands).
    Base,
    /// `i`: commands written after the base, loaded in sequence order.
    Incr,
    /// `h`: a base or incremental file a rewrite made obsolete, waiting to
    /// be deleted; never loaded.
    History,
}

impl AofFileKind {
    /// The letter the manifest writes: `b`, `i` or `h`.
    pub fn letter(self) -> u8 {
        match self {
            AofFileKind::Base => b'b',
            AofFileKind::Incr => b'i',
            AofFileKind::History => b'h',
        }
    }

    /// The kind a manifest letter names.
    pub fn from_letter(letter: u8) -> Option<AofFileKind> {
        match letter {
            b'b' => Some(AofFileKind::Base),
            b'i' => Some(AofFileKind::Incr),
            b'h' => Some(AofFileKind::History),
            _ => None,
        }
    }
}

/// One line of the manifest: a file, its sequence number and its kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AofFileInfo {
    /// The file's name inside the AOF directory (never a path).
    pub name: String,
    /// Its sequence number: base and incremental files count separately,
    /// each from 1.
    pub seq: u64,
    /// What it is; matches the list of [`Manifest`] that holds it.
    pub kind: AofFileKind,
}

/// The set of files that make up a multi-part AOF, as Redis' `aofManifest`
/// holds it.
///
/// Loading reads the base, then the incremental files in order; history
/// files are only remembered until they are deleted. The two counters are
/// the last sequence numbers handed out: a new base or incremental file
/// takes the next one. [`Manifest::parse`] sets them from the base and the
/// last incremental file, as Redis does on start-up.
///
/// A rewrite, as Redis 7.0 runs it (`BGREWRITEAOF` with `appendonly yes`):
///
/// ```
/// use ferrodis_persist::Manifest;
///
/// // Start-up on an empty data set: a base file and a first incr file.
/// let mut m = Manifest::default();
/// m.new_base("appendonly.aof", true);
/// m.new_incr("appendonly.aof");
/// assert_eq!(
///     m.to_text(),
///     "file appendonly.aof.1.base.rdb seq 1 type b\n\
///      file appendonly.aof.1.incr.aof seq 1 type i\n"
/// );
/// // The rewrite starts: new writes go to a new incr file.
/// m.new_incr("appendonly.aof");
/// // It succeeds: its output becomes the new base, and what it replaced
/// // becomes history (but the incr file being written).
/// m.new_base("appendonly.aof", true);
/// m.mark_rewritten_incrs_as_history(true);
/// assert_eq!(
///     m.to_text(),
///     "file appendonly.aof.2.base.rdb seq 2 type b\n\
///      file appendonly.aof.1.incr.aof seq 1 type h\n\
///      file appendonly.aof.1.base.rdb seq 1 type h\n\
///      file appendonly.aof.2.incr.aof seq 2 type i\n"
/// );
/// // The history files are deleted, and the manifest written again.
/// m.history.clear();
/// assert_eq!(Manifest::parse(m.to_text().as_bytes()).unwrap(), m);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// The base file, if there is one (kind [`AofFileKind::Base`]).
    pub base: Option<AofFileInfo>,
    /// Incremental files in loading order, sequence numbers increasing
    /// (kind [`AofFileKind::Incr`]).
    pub incrs: Vec<AofFileInfo>,
    /// Files waiting to be deleted (kind [`AofFileKind::History`]).
    pub history: Vec<AofFileInfo>,
    /// The sequence number of the newest base file ever named.
    pub base_seq: u64,
    /// The sequence number of the newest incremental file ever named.
    pub incr_seq: u64,
}

impl Manifest {
    /// Parses a manifest file, with Redis 7.0's rules: `#` comment lines,
    /// `file <name> seq <n> type <b|h|i>` lines whose keys may come in any
    /// order and any case, unknown key/value pairs ignored, names quoted
    /// as `redis-cli` quotes arguments.
    ///
    /// # Errors
    ///
    /// What Redis refuses at start-up (it exits), with the line: an empty
    /// file, a line too long or without a final newline, a line that does
    /// not split into key/value pairs, a missing or zero `file`, `seq` or
    /// `type`, a name with `/` or `\`, a second base, incremental sequence
    /// numbers not increasing, an unknown type. Two refusals are this
    /// parser's own: negative sequence numbers and names that are not
    /// UTF-8.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        let mut line_no = 0;
        let mut pos = 0;
        while let Some(chunk) = fgets(text, pos, MANIFEST_MAX_LINE + 1) {
            pos = chunk.next;
            line_no += 1;
            let err = |kind| ManifestError {
                line: line_no,
                kind,
            };
            let line = c_str(chunk.bytes);
            if line.first() == Some(&b'#') {
                continue;
            }
            if !line.contains(&b'\n') {
                return Err(err(ManifestErrorKind::LineTooLong));
            }
            let info = parse_line(trim(line)).map_err(err)?;
            match info.kind {
                AofFileKind::Base => {
                    if m.base.is_some() {
                        return Err(err(ManifestErrorKind::DuplicateBase));
                    }
                    m.base_seq = info.seq;
                    m.base = Some(info);
                }
                AofFileKind::History => m.history.push(info),
                AofFileKind::Incr => {
                    if info.seq <= m.incrs.last().map_or(0, |i| i.seq) {
                        return Err(err(ManifestErrorKind::NonMonotonicSeq));
                    }
                    m.incr_seq = info.seq;
                    m.incrs.push(info);
                }
            }
        }
        if line_no == 0 {
            return Err(ManifestError {
                line: 0,
                kind: ManifestErrorKind::Empty,
            });
        }
        Ok(m)
    }

    /// The manifest file's text, byte for byte as Redis 7.0 writes it: the
    /// base, then history, then incremental files, one
    /// `file <name> seq <n> type <letter>\n` line each, the name quoted
    /// when it holds spaces, quotes, backslashes or unprintable bytes.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for info in self.base.iter().chain(&self.history).chain(&self.incrs) {
            out.push_str("file ");
            push_name(&mut out, &info.name);
            out.push_str(" seq ");
            out.push_str(&info.seq.to_string());
            out.push_str(" type ");
            out.push(char::from(info.kind.letter()));
            out.push('\n');
        }
        out
    }

    /// The files loading reads, in order: the base, then the incremental
    /// files.
    pub fn files_to_load(&self) -> impl Iterator<Item = &AofFileInfo> {
        self.base.iter().chain(&self.incrs)
    }

    /// A base file's name: `<appendfilename>.<seq>.base.rdb` when it is an
    /// RDB (`aof-use-rdb-preamble yes`), `….base.aof` when it holds
    /// commands.
    pub fn base_name(prefix: &str, seq: u64, rdb: bool) -> String {
        let format = if rdb { RDB_SUFFIX } else { AOF_SUFFIX };
        format!("{prefix}.{seq}{BASE_SUFFIX}{format}")
    }

    /// An incremental file's name: `<appendfilename>.<seq>.incr.aof`.
    pub fn incr_name(prefix: &str, seq: u64) -> String {
        format!("{prefix}.{seq}{INCR_SUFFIX}{AOF_SUFFIX}")
    }

    /// The manifest's name: `<appendfilename>.manifest`.
    pub fn manifest_name(prefix: &str) -> String {
        format!("{prefix}{MANIFEST_SUFFIX}")
    }

    /// The name the manifest is written under before it is renamed over
    /// the old one: `temp-<appendfilename>.manifest`.
    pub fn temp_manifest_name(prefix: &str) -> String {
        format!("{TEMP_PREFIX}{prefix}{MANIFEST_SUFFIX}")
    }

    /// The incremental file written while a rewrite that turns the AOF on
    /// runs (`CONFIG SET appendonly yes`): `temp-<appendfilename>.incr`,
    /// renamed to [`Manifest::new_incr`]'s name when the rewrite succeeds.
    pub fn temp_incr_name(prefix: &str) -> String {
        format!("{TEMP_PREFIX}{prefix}{INCR_SUFFIX}")
    }

    /// The file a rewrite child writes, in the working directory, before
    /// it is renamed to the new base: `temp-rewriteaof-bg-<pid>.aof`.
    pub fn temp_rewrite_name(pid: u32) -> String {
        format!("{TEMP_PREFIX}rewriteaof-bg-{pid}{AOF_SUFFIX}")
    }

    /// After a successful rewrite (or on start-up with no AOF at all):
    /// names the next base file, which replaces the current base; the
    /// current one goes to the front of the history. Returns the new
    /// base's name.
    pub fn new_base(&mut self, prefix: &str, rdb: bool) -> &str {
        if let Some(mut old) = self.base.take() {
            old.kind = AofFileKind::History;
            self.history.insert(0, old);
        }
        self.base_seq = self.base_seq.saturating_add(1);
        let base = self.base.insert(AofFileInfo {
            name: Manifest::base_name(prefix, self.base_seq, rdb),
            seq: self.base_seq,
            kind: AofFileKind::Base,
        });
        &base.name
    }

    /// When a rewrite starts (or on start-up with no incremental file):
    /// names the next incremental file and appends it. Returns its name.
    pub fn new_incr(&mut self, prefix: &str) -> &str {
        self.incr_seq = self.incr_seq.saturating_add(1);
        self.incrs.push(AofFileInfo {
            name: Manifest::incr_name(prefix, self.incr_seq),
            seq: self.incr_seq,
            kind: AofFileKind::Incr,
        });
        self.incrs.last().map_or("", |i| i.name.as_str())
    }

    /// The incremental file new writes go to on start-up: the last one, or
    /// a new one when there is none.
    pub fn last_incr_or_new(&mut self, prefix: &str) -> &str {
        if self.incrs.is_empty() {
            return self.new_incr(prefix);
        }
        self.incrs.last().map_or("", |i| i.name.as_str())
    }

    /// After a successful rewrite: the incremental files it covered become
    /// history, in front of the existing history and in their order. With
    /// `aof_open` (the AOF is on, so the last incremental file is the one
    /// being written) the last one stays.
    pub fn mark_rewritten_incrs_as_history(&mut self, aof_open: bool) {
        let keep = usize::from(aof_open && !self.incrs.is_empty());
        let covered = self.incrs.len() - keep;
        let mut moved: Vec<AofFileInfo> = self
            .incrs
            .drain(..covered)
            .map(|mut info| {
                info.kind = AofFileKind::History;
                info
            })
            .collect();
        moved.append(&mut self.history);
        self.history = moved;
    }

    /// Whether Redis would turn a legacy single-file AOF into a multi-part
    /// one, given that a file named `prefix` (`appendfilename`) exists in
    /// the working directory: when the AOF directory does not exist, when
    /// this manifest names no base and no incremental file, or when its
    /// only file is a base named `prefix` that is not in the AOF directory
    /// yet (`in_dir`: whether the AOF directory holds a file named
    /// `prefix`; an upgrade interrupted after the manifest was written).
    pub fn needs_legacy_upgrade(&self, prefix: &str, dir_exists: bool, in_dir: bool) -> bool {
        !dir_exists
            || (self.base.is_none() && self.incrs.is_empty())
            || (self.incrs.is_empty()
                && self.base.as_ref().is_some_and(|b| b.name == prefix)
                && !in_dir)
    }

    /// Adopts a legacy single-file AOF: it becomes the base, with sequence
    /// number 1, under its own name. The caller then writes the manifest
    /// into the AOF directory and moves the file there, in that order.
    pub fn adopt_legacy(&mut self, prefix: &str) {
        self.base = Some(AofFileInfo {
            name: prefix.to_owned(),
            seq: 1,
            kind: AofFileKind::Base,
        });
        self.base_seq = 1;
    }
}

/// Strips spaces, tabs, `\r` and `\n` from both ends (`sdstrim`).
fn trim(line: &[u8]) -> &[u8] {
    let strip = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let start = line.iter().position(|b| !strip(b)).unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !strip(b))
        .map_or(start, |e| e + 1);
    line.get(start..end).unwrap_or_default()
}

/// One manifest line, trimmed, as a file entry.
fn parse_line(line: &[u8]) -> Result<AofFileInfo, ManifestErrorKind> {
    if line.is_empty() {
        return Err(ManifestErrorKind::InvalidFormat);
    }
    let words = split_args(line).ok_or(ManifestErrorKind::InvalidFormat)?;
    if words.len() < 6 || words.len() % 2 != 0 {
        return Err(ManifestErrorKind::InvalidFormat);
    }
    let mut name: Option<&[u8]> = None;
    let mut seq: i64 = 0;
    let mut letter: u8 = 0;
    for pair in words.chunks_exact(2) {
        let [key, value] = pair else { continue };
        if key.eq_ignore_ascii_case(b"file") {
            // Redis copies the name as a C string: it ends at a NUL.
            let n = c_str(value);
            if n.contains(&b'/') || n.contains(&b'\\') {
                return Err(ManifestErrorKind::NotABaseName);
            }
            name = Some(n);
        } else if key.eq_ignore_ascii_case(b"seq") {
            seq = strtol(value);
        } else if key.eq_ignore_ascii_case(b"type") {
            letter = value.first().copied().unwrap_or(0);
        }
    }
    let (Some(name), true, true) = (name, seq != 0, letter != 0) else {
        return Err(ManifestErrorKind::InvalidFormat);
    };
    let kind = AofFileKind::from_letter(letter).ok_or(ManifestErrorKind::UnknownType(letter))?;
    let seq = u64::try_from(seq).map_err(|_| ManifestErrorKind::NegativeSeq)?;
    let name = String::from_utf8(name.to_vec()).map_err(|_| ManifestErrorKind::NonUtf8Name)?;
    Ok(AofFileInfo { name, seq, kind })
}

/// Splits a line into words as Redis' `sdssplitargs` does: blanks between
/// words; `"…"` with `\xHH`, `\n`, `\r`, `\t`, `\b`, `\a` and `\<any>`
/// escapes; `'…'` with only `\'`; a closing quote must end the word.
/// `None` for unbalanced quotes or a quote followed by more of the word.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // The line is a C string: it ends at a NUL, and past its end reads
    // as NUL.
    let line = c_str(line);
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut words = Vec::new();
    let mut p = 0;
    loop {
        while at(p) != 0 && is_space(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(words);
        }
        let (mut in_double, mut in_single, mut done) = (false, false, false);
        let mut word = Vec::new();
        while !done {
            let c = at(p);
            if in_double {
                if c == b'\\' && at(p + 1) == b'x' && is_hex(at(p + 2)) && is_hex(at(p + 3)) {
                    word.push(hex(at(p + 2)) * 16 + hex(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    word.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    word.push(c);
                }
            } else if in_single {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    word.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    word.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => in_double = true,
                    b'\'' => in_single = true,
                    _ => word.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        words.push(word);
    }
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn hex(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Whether Redis quotes a name in the manifest (`sdsneedsrepr`): any
/// space, quote, backslash or byte that is not printable ASCII.
fn needs_quoting(name: &[u8]) -> bool {
    name.iter()
        .any(|&b| b == b'\\' || b == b'"' || !is_print(b) || is_space(b))
}

/// Appends `name`, quoted as Redis' `sdscatrepr` quotes when it needs it.
fn push_name(out: &mut String, name: &str) {
    let bytes = name.as_bytes();
    if !needs_quoting(bytes) {
        out.push_str(name);
        return;
    }
    out.push('"');
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            b if is_print(b) => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, seq: u64, kind: AofFileKind) -> AofFileInfo {
        AofFileInfo {
            name: name.to_owned(),
            seq,
            kind,
        }
    }

    fn fail(text: &str, line: usize, kind: ManifestErrorKind) {
        assert_eq!(
            Manifest::parse(text.as_bytes()),
            Err(ManifestError { line, kind }),
            "{text:?}"
        );
    }

    #[test]
    fn parses_what_redis_writes() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\n\
                    file appendonly.aof.1.incr.aof seq 1 type h\n\
                    file appendonly.aof.2.incr.aof seq 2 type h\n\
                    file appendonly.aof.3.incr.aof seq 3 type i\n\
                    file appendonly.aof.4.incr.aof seq 4 type i\n";
        let m = Manifest::parse(text.as_bytes()).unwrap();
        assert_eq!(
            m.base,
            Some(info("appendonly.aof.2.base.rdb", 2, AofFileKind::Base))
        );
        assert_eq!(m.history.len(), 2);
        assert_eq!(m.incrs.len(), 2);
        assert_eq!((m.base_seq, m.incr_seq), (2, 4));
        assert_eq!(m.to_text(), text);
        let loaded: Vec<u64> = m.files_to_load().map(|i| i.seq).collect();
        assert_eq!(loaded, [2, 3, 4]);
    }

    #[test]
    fn accepts_what_redis_accepts() {
        // Any key order and case, extra pairs, blanks, CRLF, the type's
        // first letter only, comments anywhere.
        let m = Manifest::parse(
            b"# comment\n  TYPE incr Seq 7 FILE x.aof future value \r\n#\n\
              file 'a b' seq 3 type base\n",
        )
        .unwrap();
        assert_eq!(m.incrs, [info("x.aof", 7, AofFileKind::Incr)]);
        assert_eq!(m.base, Some(info("a b", 3, AofFileKind::Base)));
        // Only comments: an empty manifest, but not an empty file.
        assert_eq!(Manifest::parse(b"# nothing\n"), Ok(Manifest::default()));
        // A long comment is skipped piece by piece while the pieces start
        // with '#'.
        let long = format!("#{}\n", "#".repeat(3000));
        assert_eq!(Manifest::parse(long.as_bytes()), Ok(Manifest::default()));
    }

    #[test]
    fn refuses_what_redis_refuses() {
        use ManifestErrorKind::*;
        fail("", 0, Empty);
        fail("file a seq 1 type b", 1, LineTooLong);
        fail(
            &format!("# ok\nfile {} seq 1 type b\n", "a".repeat(1100)),
            2,
            LineTooLong,
        );
        fail("file a\0 seq 1 type b\n", 1, LineTooLong);
        // The second piece of a long comment is judged as a line.
        fail(&format!("#{}\n", "a".repeat(1100)), 2, InvalidFormat);
        fail("file a seq 1 type b\n\n", 2, InvalidFormat);
        fail("  \t\r\n", 1, InvalidFormat);
        fail("file a seq 1 type\n", 1, InvalidFormat);
        fail("file a seq 1 type b x\n", 1, InvalidFormat);
        fail("file a seq 0 type b\n", 1, InvalidFormat);
        fail("file a seq x type b\n", 1, InvalidFormat);
        fail("file a seq 1 type \"\"\n", 1, InvalidFormat);
        fail("name a seq 1 type b\n", 1, InvalidFormat);
        fail("file \"a seq 1 type b\n", 1, InvalidFormat);
        fail("file \"a\"b seq 1 type b\n", 1, InvalidFormat);
        fail("file 'a'b seq 1 type b\n", 1, InvalidFormat);
        fail("file d/a seq 1 type b\n", 1, NotABaseName);
        fail("file d\\\\a seq 1 type b\n", 1, NotABaseName);
        fail("file \"a\\\\b\" seq 1 type b\n", 1, NotABaseName);
        fail("file a seq 1 type x\n", 1, UnknownType(b'x'));
        fail(
            "file a seq 1 type b\nfile b seq 2 type b\n",
            2,
            DuplicateBase,
        );
        fail(
            "file a seq 2 type i\nfile b seq 2 type i\n",
            2,
            NonMonotonicSeq,
        );
        fail(
            "file a seq 2 type i\nfile b seq 1 type i\n",
            2,
            NonMonotonicSeq,
        );
        fail("file a seq -1 type b\n", 1, NegativeSeq);
        fail("file \"\\xff\" seq 1 type b\n", 1, NonUtf8Name);
    }

    #[test]
    fn names_are_quoted_as_redis_quotes_them() {
        for (name, written) in [
            ("appendonly.aof.1.incr.aof", "appendonly.aof.1.incr.aof"),
            ("a b", "\"a b\""),
            ("q\"", "\"q\\\"\""),
            ("\t\r\n\x07\x08\x0b\x7f", "\"\\t\\r\\n\\a\\b\\x0b\\x7f\""),
            ("é", "\"\\xc3\\xa9\""),
            ("#x", "#x"),
        ] {
            let m = Manifest {
                base: Some(info(name, 1, AofFileKind::Base)),
                base_seq: 1,
                ..Manifest::default()
            };
            let text = m.to_text();
            assert_eq!(text, format!("file {written} seq 1 type b\n"));
            assert_eq!(Manifest::parse(text.as_bytes()), Ok(m), "{name:?}");
        }
        // Redis does not quote a single quote, then cannot read it back
        // (redis-server 7.0.15 with `appendfilename "it's.aof"` writes this
        // manifest and refuses it on restart). Both sides as Redis.
        let m = Manifest {
            base: Some(info("it's.aof.1.base.rdb", 1, AofFileKind::Base)),
            base_seq: 1,
            ..Manifest::default()
        };
        let text = m.to_text();
        assert_eq!(text, "file it's.aof.1.base.rdb seq 1 type b\n");
        fail(&text, 1, ManifestErrorKind::InvalidFormat);
    }

    #[test]
    fn split_args_as_sdssplitargs() {
        let words = |s: &str| {
            split_args(s.as_bytes()).map(|w| {
                w.into_iter()
                    .map(|w| String::from_utf8(w).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            words("a  b\tc"),
            Some(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(words("a\"b c\" d"), Some(vec!["ab c".into(), "d".into()]));
        assert_eq!(words("\"\\x41\\x4\\q\""), Some(vec!["Ax4q".into()]));
        assert_eq!(
            words("'it\\'s' '\\n'"),
            Some(vec!["it's".into(), "\\n".into()])
        );
        assert_eq!(words("\"a\\\""), None);
        assert_eq!(words("'a"), None);
        assert_eq!(words(""), Some(vec![]));
    }

    #[test]
    fn rewrite_steps() {
        let p = "appendonly.aof";
        // AOF turned on while the rewrite runs off (BGREWRITEAOF with
        // appendonly no): every incr file becomes history.
        let mut m = Manifest::default();
        m.new_base(p, false);
        m.new_incr(p);
        m.new_incr(p);
        assert_eq!(m.last_incr_or_new(p), "appendonly.aof.2.incr.aof");
        m.new_base(p, true);
        m.mark_rewritten_incrs_as_history(false);
        assert_eq!(
            m.to_text(),
            "file appendonly.aof.2.base.rdb seq 2 type b\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.2.incr.aof seq 2 type h\n\
             file appendonly.aof.1.base.aof seq 1 type h\n"
        );
        // The next incr file continues the count.
        assert_eq!(m.last_incr_or_new(p), "appendonly.aof.3.incr.aof");
        m.mark_rewritten_incrs_as_history(true);
        assert_eq!(m.incrs.len(), 1);
    }

    #[test]
    fn legacy_upgrade() {
        let p = "appendonly.aof";
        let mut m = Manifest::default();
        assert!(m.needs_legacy_upgrade(p, false, false));
        assert!(m.needs_legacy_upgrade(p, true, false));
        m.adopt_legacy(p);
        assert_eq!(m.to_text(), "file appendonly.aof seq 1 type b\n");
        // Interrupted before the file moved: upgrade again.
        assert!(m.needs_legacy_upgrade(p, true, false));
        // Done: the file is in the directory.
        assert!(!m.needs_legacy_upgrade(p, true, true));
        m.new_incr(p);
        assert!(!m.needs_legacy_upgrade(p, true, false));
    }

    #[test]
    fn names() {
        assert_eq!(Manifest::base_name("a.aof", 3, true), "a.aof.3.base.rdb");
        assert_eq!(Manifest::base_name("a.aof", 3, false), "a.aof.3.base.aof");
        assert_eq!(Manifest::incr_name("a.aof", 4), "a.aof.4.incr.aof");
        assert_eq!(Manifest::manifest_name("a.aof"), "a.aof.manifest");
        assert_eq!(Manifest::temp_manifest_name("a.aof"), "temp-a.aof.manifest");
        assert_eq!(Manifest::temp_incr_name("a.aof"), "temp-a.aof.incr");
        assert_eq!(Manifest::temp_rewrite_name(42), "temp-rewriteaof-bg-42.aof");
    }
}
