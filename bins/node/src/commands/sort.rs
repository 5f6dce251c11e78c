//! SORT and SORT_RO: sorting lists, sets and sorted sets, numerically or
//! lexicographically, by their elements or by weights read from other keys
//! (`BY pattern`), returning the elements or values read from other keys
//! (`GET pattern`), optionally storing the result as a list (`STORE`).

use std::cmp::Ordering;

use ferrodis_resp::Request;
use ferrodis_store::{Db, StoreError, ValueType, ZRangeSpec};

use super::flags::*;
use super::zsets::strtod;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        // STORE's destination is a movable key; the source is argument 1.
        spec("sort", -2, WRITE | DENYOOM, (1, 1, 1), sort),
        spec("sort_ro", -2, READONLY, (1, 1, 1), sort_ro),
    ]
}

fn sort(ctx: &mut Ctx<'_>, req: &Request) {
    run(ctx, req, false);
}

fn sort_ro(ctx: &mut Ctx<'_>, req: &Request) {
    run(ctx, req, true);
}

/// The parsed options of one SORT call.
struct Options<'r> {
    desc: bool,
    alpha: bool,
    limit: (i64, i64),
    store: Option<&'r [u8]>,
    by: Option<&'r [u8]>,
    /// `BY` with a constant pattern: keep the native order.
    dont_sort: bool,
    gets: Vec<&'r [u8]>,
}

fn run(ctx: &mut Ctx<'_>, req: &Request, readonly: bool) {
    let cluster = ctx.shared.config.read().cluster_enabled();
    let mut o = Options {
        desc: false,
        alpha: false,
        limit: (0, -1),
        store: None,
        by: None,
        dont_sort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < req.len() {
        let left = req.len() - j - 1;
        if is(req, j, "asc") {
            o.desc = false;
        } else if is(req, j, "desc") {
            o.desc = true;
        } else if is(req, j, "alpha") {
            o.alpha = true;
        } else if is(req, j, "limit") && left >= 2 {
            let (Some(start), Some(count)) = (int_arg(req, j + 1), int_arg(req, j + 2)) else {
                ctx.not_integer();
                return;
            };
            o.limit = (start, count);
            j += 2;
        } else if !readonly && is(req, j, "store") && left >= 1 {
            o.store = Some(arg(req, j + 1));
            j += 1;
        } else if is(req, j, "by") && left >= 1 {
            let pattern = arg(req, j + 1);
            o.by = Some(pattern);
            if !pattern.contains(&b'*') {
                o.dont_sort = true;
            } else if cluster {
                ctx.error("ERR BY option of SORT denied in Cluster mode.");
                return;
            }
            j += 1;
        } else if is(req, j, "get") && left >= 1 {
            if cluster {
                ctx.error("ERR GET option of SORT denied in Cluster mode.");
                return;
            }
            o.gets.push(arg(req, j + 1));
            j += 1;
        } else {
            ctx.syntax_error();
            return;
        }
        j += 1;
    }
    let db = ctx.db();
    match sorted(&db, arg(req, 1), &mut o) {
        Err(e) => ctx.store_error(e),
        Ok(None) => ctx.error("ERR One or more scores can't be converted into double"),
        Ok(Some(items)) => {
            if let Some(dst) = o.store {
                let mut out: Vec<Vec<u8>> = Vec::new();
                for item in &items {
                    if o.gets.is_empty() {
                        out.push(item.clone());
                    }
                    for g in &o.gets {
                        out.push(lookup(&db, g, item).unwrap_or_default());
                    }
                }
                let n = db.list_replace(dst, &out);
                ctx.uint(n);
            } else {
                let per = o.gets.len().max(1);
                ctx.array(items.len() * per);
                for item in &items {
                    if o.gets.is_empty() {
                        ctx.bulk(item);
                    }
                    for g in &o.gets {
                        let v = lookup(&db, g, item);
                        ctx.optional_bulk(v.as_deref());
                    }
                }
            }
        }
    }
}

/// The elements of `key`, sorted and windowed as `o` asks; `Ok(None)` when
/// a weight is not a number.
fn sorted(
    db: &Db<'_>,
    key: &[u8],
    o: &mut Options<'_>,
) -> Result<Option<Vec<Vec<u8>>>, StoreError> {
    let kind = db.value_type(key);
    let mut items = match kind {
        None => Vec::new(),
        Some(ValueType::List) => db.list_range(key, 0, -1)?,
        Some(ValueType::Set) => db.smembers(key)?,
        Some(ValueType::ZSet) => db
            .zrange(key, &ZRangeSpec::rank(0, -1))?
            .into_iter()
            .map(|(m, _)| m)
            .collect(),
        Some(_) => return Err(StoreError::WrongType),
    };
    // A set has no native order: stored results are sorted anyway.
    if o.dont_sort && kind == Some(ValueType::Set) && o.store.is_some() {
        o.dont_sort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let mut start = o.limit.0.clamp(0, len);
    let count = o.limit.1.clamp(-1, len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    if o.dont_sort {
        if o.desc && matches!(kind, Some(ValueType::List | ValueType::ZSet)) {
            items.reverse();
        }
    } else if !sort_items(db, &mut items, o) {
        return Ok(None);
    }
    if end < start {
        return Ok(Some(Vec::new()));
    }
    let (from, to) = (start as usize, end as usize + 1);
    items.truncate(to);
    items.drain(..from);
    Ok(Some(items))
}

/// Sorts `items` in place; false when a weight is not a number.
fn sort_items(db: &Db<'_>, items: &mut Vec<Vec<u8>>, o: &Options<'_>) -> bool {
    let desc = o.desc;
    let dir = |c: Ordering| if desc { c.reverse() } else { c };
    if o.alpha {
        match o.by {
            None => items.sort_by(|a, b| dir(a.cmp(b))),
            Some(by) => {
                let mut keyed: Vec<(Option<Vec<u8>>, Vec<u8>)> =
                    items.drain(..).map(|i| (lookup(db, by, &i), i)).collect();
                // A missing weight sorts first; equal weights keep their order.
                keyed.sort_by(|a, b| dir(a.0.cmp(&b.0)));
                items.extend(keyed.into_iter().map(|(_, i)| i));
            }
        }
        return true;
    }
    let mut keyed = Vec::with_capacity(items.len());
    let mut bad = false;
    for item in items.drain(..) {
        let score = match o.by {
            None => Some(score(&item)),
            Some(by) => lookup(db, by, &item).map(|w| score(&w)),
        };
        let score = match score {
            None => 0.0,
            Some(Some(s)) => s,
            Some(None) => {
                bad = true;
                0.0
            }
        };
        keyed.push((score, item));
    }
    keyed.sort_by(|a, b| {
        let c = a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal);
        dir(c.then_with(|| a.1.cmp(&b.1)))
    });
    items.extend(keyed.into_iter().map(|(_, i)| i));
    !bad
}

/// The number in `text` as C's `strtod` reads a whole C string; `None` when
/// something follows it, it is out of range or NaN.
fn score(text: &[u8]) -> Option<f64> {
    let text = text.split(|&b| b == 0).next().unwrap_or_default();
    let (v, used, erange) = strtod(text);
    (used == text.len() && !erange && !v.is_nan()).then_some(v)
}

/// What `pattern` names for `element`: the element itself for `#`, else
/// the string at the key with the first `*` replaced by the element, or
/// with `key->field`, that hash field. `None` when missing or of another
/// type, or when the pattern has no `*`.
fn lookup(db: &Db<'_>, pattern: &[u8], element: &[u8]) -> Option<Vec<u8>> {
    if pattern == b"#" {
        return Some(element.to_vec());
    }
    let star = pattern.iter().position(|&b| b == b'*')?;
    let after = pattern.get(star + 1..).unwrap_or_default();
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&p| p + 2 < after.len());
    let (postfix, field) = match arrow {
        Some(p) => (after.get(..p)?, after.get(p + 2..)),
        None => (after, None),
    };
    let mut key = Vec::with_capacity(pattern.len() + element.len());
    key.extend_from_slice(pattern.get(..star)?);
    key.extend_from_slice(element);
    key.extend_from_slice(postfix);
    match field {
        Some(f) => db.hget(&key, f).ok().flatten(),
        None => db.get(&key).ok().flatten(),
    }
}

/// SORT's key positions in `args` (the command name first): the source,
/// then the destination of the last `STORE`, skipping the arguments of
/// `LIMIT`, `GET` and `BY` as Redis' key extraction does.
pub(crate) fn key_positions(args: &[&[u8]]) -> Vec<usize> {
    let mut keys = vec![1];
    let mut store = None;
    let mut i = 2;
    while i < args.len() {
        let word = args.get(i).copied().unwrap_or_default();
        if word.eq_ignore_ascii_case(b"limit") {
            i += 2;
        } else if word.eq_ignore_ascii_case(b"get") || word.eq_ignore_ascii_case(b"by") {
            i += 1;
        } else if word.eq_ignore_ascii_case(b"store") && i + 1 < args.len() {
            store = Some(i + 1);
        }
        i += 1;
    }
    keys.extend(store);
    keys
}
