//! DUMP and RESTORE (and RESTORE-ASKING): a key's value as Redis' RDB
//! payload, and back. The payload format lives in `ferrodis-persist`, the
//! conversion in the store; this module parses arguments and replies.

use ferrodis_persist::{DumpError, EncodeOptions, RdbObject, FOOTER_SIZE};
use ferrodis_resp::Request;
use ferrodis_store::{RestoreOptions, StoreError};

use super::flags::*;
use super::{arg, int_arg, is, spec, Ctx, Spec};

pub(super) fn specs() -> Vec<Spec> {
    vec![
        spec("dump", 2, READONLY, (1, 1, 1), dump),
        spec("restore", -4, WRITE | DENYOOM, (1, 1, 1), restore),
        spec("restore-asking", -4, WRITE | DENYOOM, (1, 1, 1), restore),
    ]
}

/// The payload options from the configuration: `rdbcompression` and
/// `list-max-listpack-size`.
pub(super) fn encode_options(ctx: &Ctx<'_>) -> EncodeOptions {
    options_of(&ctx.shared.config.read())
}

/// [`encode_options`] from a configuration.
pub(crate) fn options_of(config: &crate::config::Config) -> EncodeOptions {
    let mut opts = EncodeOptions::default();
    if let Some(v) = config.get_str("rdbcompression") {
        opts.compression = !v.eq_ignore_ascii_case("no");
    }
    let fill = config
        .get_str("list-max-listpack-size")
        .or_else(|| config.get_str("list-max-ziplist-size"));
    if let Some(n) = fill.and_then(|v| v.parse().ok()) {
        opts.list_max_listpack_size = n;
    }
    opts
}

/// `DUMP key`: the serialized value, or a null reply for a missing key.
fn dump(ctx: &mut Ctx<'_>, req: &Request) {
    let Some(obj) = ctx.db().dump(arg(req, 1)) else {
        ctx.null();
        return;
    };
    let payload = obj.to_dump(&encode_options(ctx));
    ctx.bulk(&payload);
}

/// `RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
/// [FREQ frequency]`: creates `key` from a DUMP payload. Errors come in
/// Redis' order: options, an existing key, the TTL, then the payload.
fn restore(ctx: &mut Ctx<'_>, req: &Request) {
    let key = arg(req, 1);
    let mut replace = false;
    let mut absttl = false;
    let mut idle: Option<i64> = None;
    let mut freq: Option<i64> = None;
    let mut j = 4;
    while j < req.len() {
        let has_value = j + 1 < req.len();
        if is(req, j, "replace") {
            replace = true;
        } else if is(req, j, "absttl") {
            absttl = true;
        } else if is(req, j, "idletime") && has_value && freq.is_none() {
            let Some(n) = int_arg(req, j + 1) else {
                return ctx.not_integer();
            };
            if n < 0 {
                return ctx.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(n);
            j += 1;
        } else if is(req, j, "freq") && has_value && idle.is_none() {
            let Some(n) = int_arg(req, j + 1) else {
                return ctx.not_integer();
            };
            if !(0..=255).contains(&n) {
                return ctx.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(n);
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let db = ctx.db();
    if !replace && db.value_type(key).is_some() {
        return ctx.store_error(StoreError::BusyKey);
    }
    let Some(ttl) = int_arg(req, 2) else {
        return ctx.not_integer();
    };
    if ttl < 0 {
        return ctx.error("ERR Invalid TTL value, must be >= 0");
    }
    let payload = arg(req, 3);
    let decoded = match RdbObject::from_dump(payload) {
        // DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: a wrong checksum is let
        // through (the version is still checked), as in Redis.
        Err(DumpError::Checksum { .. })
            if ctx
                .shared
                .debug
                .skip_checksum_validation
                .load(std::sync::atomic::Ordering::Relaxed) =>
        {
            let body = payload
                .get(..payload.len().saturating_sub(FOOTER_SIZE))
                .unwrap_or_default();
            RdbObject::decode(body)
                .map(|(obj, _)| obj)
                .map_err(DumpError::BadData)
        }
        other => other,
    };
    let obj = match decoded {
        Ok(obj) => obj,
        Err(e) => return ctx.error(&e.to_string()),
    };
    let expire_at = match ttl {
        0 => None,
        _ if absttl => Some(ttl as u64),
        _ => Some((ttl as u64).saturating_add(db.now_ms())),
    };
    // The store applies FREQ under an LFU policy and IDLETIME otherwise,
    // as Redis does.
    let opts = RestoreOptions {
        replace,
        expire_at,
        idle_seconds: idle.map(|n| n as u64),
        freq: freq.and_then(|n| u8::try_from(n).ok()),
    };
    match db.restore(key, obj, opts) {
        Ok(_) => ctx.ok(),
        Err(e) => ctx.store_error(e),
    }
}
