//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//!
//! The values are strings in Redis' layout (see `ferrodis_store::hll`).
//! PFCOUNT of one key is read-only as a command but may store the
//! refreshed cardinality in the string: dispatch then propagates it like a
//! write, as Redis does for its `MAY_REPLICATE` commands.

use std::sync::atomic::Ordering;

use ferrodis_resp::Request;
use ferrodis_store::{PfDebug, PfDebugReply, Store};

use super::flags::*;
use super::{arg, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("pfadd", -2, WRITE | DENYOOM | FAST, (1, 1, 1), pfadd),
        spec("pfcount", -2, READONLY, (1, -1, 1), pfcount),
        spec("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), pfmerge),
        spec("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), pfdebug),
        spec("pfselftest", 1, ADMIN, (0, 0, 0), pfselftest),
    ]
}

/// Commands that are not writes but may change a key, and so are
/// propagated when they do (Redis' `MAY_REPLICATE` flag, among the
/// commands Ferrodis has).
pub(crate) fn may_replicate(name: &str) -> bool {
    name == "pfcount"
}

/// Copies `hll-sparse-max-bytes` into the store's settings (at startup and
/// after CONFIG SET).
pub(crate) fn apply_config(store: &Store, cfg: &crate::config::Config) {
    if let Some(n) = cfg.get_u64("hll-sparse-max-bytes") {
        store
            .settings()
            .hll_sparse_max_bytes
            .store(usize::try_from(n).unwrap_or(usize::MAX), Ordering::Relaxed);
    }
}

/// `PFADD key [element ...]`: 1 if the key was created or a register
/// changed, else 0.
fn pfadd(ctx: &mut Ctx<'_>, req: &Request) {
    let elements: Vec<&[u8]> = req.args().skip(2).collect();
    match ctx.db().pf_add(arg(req, 1), &elements) {
        Ok(changed) => ctx.int(i64::from(changed)),
        Err(e) => ctx.store_error(e),
    }
}

/// `PFCOUNT key [key ...]`: the estimated number of distinct elements
/// (of the union, for several keys).
fn pfcount(ctx: &mut Ctx<'_>, req: &Request) {
    let keys: Vec<&[u8]> = req.args().skip(1).collect();
    match ctx.db().pf_count(&keys) {
        Ok(n) => ctx.int(i64::try_from(n).unwrap_or(i64::MAX)),
        Err(e) => ctx.store_error(e),
    }
}

/// `PFMERGE destkey [sourcekey ...]`: OK.
fn pfmerge(ctx: &mut Ctx<'_>, req: &Request) {
    let sources: Vec<&[u8]> = req.args().skip(2).collect();
    match ctx.db().pf_merge(arg(req, 1), &sources) {
        Ok(()) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}

/// `PFDEBUG GETREG|DECODE|ENCODING|TODENSE key`.
fn pfdebug(ctx: &mut Ctx<'_>, req: &Request) {
    let sub = arg(req, 1);
    let op = match sub.to_ascii_lowercase().as_slice() {
        b"getreg" => Some(PfDebug::GetReg),
        b"decode" => Some(PfDebug::Decode),
        b"encoding" => Some(PfDebug::Encoding),
        b"todense" => Some(PfDebug::ToDense),
        _ => None,
    };
    // The key is looked up and checked before the subcommand.
    match ctx
        .db()
        .pf_debug(op.unwrap_or(PfDebug::Encoding), arg(req, 2))
    {
        Err(e) => ctx.store_error(e),
        Ok(None) => ctx.error("ERR The specified key does not exist"),
        Ok(Some(_)) if op.is_none() => ctx.error(&format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )),
        Ok(Some(PfDebugReply::Registers(regs))) => {
            ctx.array(regs.len());
            for &r in regs.iter() {
                ctx.int(i64::from(r));
            }
        }
        Ok(Some(PfDebugReply::Decoded(Some(text)))) => ctx.bulk(text.as_bytes()),
        Ok(Some(PfDebugReply::Decoded(None))) => ctx.error("ERR HLL encoding is not sparse"),
        Ok(Some(PfDebugReply::Encoding(e))) => ctx.simple(e.name()),
        Ok(Some(PfDebugReply::Converted(c))) => ctx.int(i64::from(c)),
    }
}

/// `PFSELFTEST`: checks the register packing and the estimator's error
/// (see `ferrodis_store::hll::selftest`); OK or a `TESTFAILED` error.
fn pfselftest(ctx: &mut Ctx<'_>, _req: &Request) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let max = ctx
        .shared
        .store
        .settings()
        .hll_sparse_max_bytes
        .load(Ordering::Relaxed);
    match ferrodis_store::hll::selftest(seed, max) {
        Ok(()) => ctx.ok(),
        Err(text) => ctx.error(&text),
    }
}
