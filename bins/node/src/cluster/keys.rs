//! The keys of a command, as the cluster slot check sees them: the table's
//! fixed positions, plus the commands whose keys move (a `numkeys`
//! argument, SORT's STORE, the sharded Pub/Sub channels, which Redis
//! routes like keys).

use ferrodis_resp::Request;

use crate::commands::Spec;

/// The argument indexes of the keys (and sharded channels) of `req`, a
/// call of `spec` with a valid arity.
pub(crate) fn key_positions(spec: &Spec, req: &Request) -> Vec<usize> {
    let argc = req.len();
    let numkeys_at = |at: usize, first: usize| -> Vec<usize> {
        let n = req
            .arg(at)
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0);
        (first..first.saturating_add(n).min(argc)).collect()
    };
    match spec.name {
        "zunionstore" | "zinterstore" | "zdiffstore" => {
            let mut keys = vec![1];
            keys.extend(numkeys_at(2, 3));
            keys
        }
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            numkeys_at(1, 2)
        }
        "blmpop" | "bzmpop" => numkeys_at(2, 3),
        "sort" | "sort_ro" => {
            let args: Vec<&[u8]> = req.args().collect();
            crate::commands::sort_key_positions(&args)
        }
        "migrate" => crate::commands::migrate::key_positions(req),
        "spublish" => vec![1],
        "ssubscribe" | "sunsubscribe" => (1..argc).collect(),
        _ => crate::commands::key_positions(spec, argc),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::commands::lookup;

    /// A decoded request of `words` (for tests here and elsewhere).
    pub(crate) fn request(words: &[&str]) -> Request {
        let mut wire = format!("*{}\r\n", words.len());
        for w in words {
            wire.push_str(&format!("${}\r\n{w}\r\n", w.len()));
        }
        let mut buf = bytes::BytesMut::from(wire.as_bytes());
        let mut req = Request::default();
        let mut decoder = ferrodis_resp::RequestDecoder::default();
        assert_eq!(decoder.decode_into(&mut buf, &mut req), Ok(true));
        req
    }

    fn keys(words: &[&str]) -> Vec<String> {
        let req = request(words);
        let spec = lookup(words[0].as_bytes()).expect("a command");
        key_positions(spec, &req)
            .into_iter()
            .map(|i| words[i].to_owned())
            .collect()
    }

    #[test]
    fn fixed_and_moving_keys() {
        assert_eq!(keys(&["get", "a"]), ["a"]);
        assert_eq!(keys(&["mset", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(keys(&["exists", "a", "b", "c"]), ["a", "b", "c"]);
        assert_eq!(
            keys(&["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"]),
            ["d", "a", "b"]
        );
        assert_eq!(keys(&["zinter", "2", "a", "b", "WITHSCORES"]), ["a", "b"]);
        assert_eq!(keys(&["blmpop", "0", "2", "a", "b", "LEFT"]), ["a", "b"]);
        assert_eq!(keys(&["lmpop", "1", "a", "LEFT"]), ["a"]);
        assert_eq!(keys(&["sort", "a", "STORE", "d"]), ["a", "d"]);
        assert_eq!(keys(&["ssubscribe", "c1", "c2"]), ["c1", "c2"]);
        assert_eq!(keys(&["ping"]), Vec::<String>::new());
        // A bad numkeys gives no keys (the command itself then errors).
        assert_eq!(keys(&["zunion", "x", "a"]), Vec::<String>::new());
        assert_eq!(keys(&["zunion", "9", "a"]), ["a"]);
    }
}
