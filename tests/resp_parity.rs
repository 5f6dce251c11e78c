//! The request parser answers exactly as a real `redis-server` 7 does: the
//! same protocol error texts for malformed input, and the same arguments for
//! inline commands with quotes and escapes.

use bytes::BytesMut;
use ferrodis_resp::RequestDecoder;
use ferrodis_suite::Server;
use std::time::Duration;

/// What our parser makes of `input`: the error reply a server sends.
fn our_error_reply(input: &[u8]) -> Vec<u8> {
    let mut buf = BytesMut::from(input);
    let mut decoder = RequestDecoder::default();
    loop {
        match decoder.decode(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("no error for {:?}", String::from_utf8_lossy(input)),
            Err(e) => return format!("-ERR {e}\r\n").into_bytes(),
        }
    }
}

#[test]
fn protocol_errors_match_redis() {
    let redis = Server::redis(&[]);
    let mut big_inline = vec![b'a'; 64 * 1024 + 100];
    big_inline.push(b'x');
    let mut big_mbulk = b"*".to_vec();
    big_mbulk.extend(vec![b'1'; 64 * 1024 + 100]);
    let mut big_bulk = b"*1\r\n$".to_vec();
    big_bulk.extend(vec![b'1'; 64 * 1024 + 100]);
    let inputs: Vec<Vec<u8>> = vec![
        b"set \"a b\r\n".to_vec(),
        b"set 'a b\r\n".to_vec(),
        b"get \"a\"b\r\n".to_vec(),
        b"*abc\r\n".to_vec(),
        b"*2147483648\r\n".to_vec(),
        b"*01\r\n".to_vec(),
        b"*1\r\nx3\r\nfoo\r\n".to_vec(),
        b"*1\r\n:3\r\n".to_vec(),
        b"*1\r\n\r\n".to_vec(),
        b"*1\r\n$-1\r\n".to_vec(),
        b"*1\r\n$abc\r\n".to_vec(),
        b"*1\r\n$536870913\r\n".to_vec(),
        big_inline,
        big_mbulk,
        big_bulk,
    ];
    for input in inputs {
        let theirs = redis.exchange(&input, Duration::from_millis(500));
        let ours = our_error_reply(&input);
        let show = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(40)]).into_owned();
        assert_eq!(
            String::from_utf8_lossy(&ours),
            String::from_utf8_lossy(&theirs),
            "input {:?}",
            show(&input)
        );
    }
}

#[test]
fn unauthenticated_limits_match_redis() {
    let redis = Server::redis(&["--requirepass", "secret"]);
    for input in [&b"*11\r\n"[..], b"*1\r\n$16385\r\n"] {
        let theirs = redis.exchange(input, Duration::from_millis(500));
        let mut decoder = RequestDecoder::default();
        decoder.set_auth_required(true);
        let err = decoder
            .decode(&mut BytesMut::from(input))
            .expect_err("limit");
        assert_eq!(format!("-ERR {err}\r\n").as_bytes(), &theirs[..]);
    }
}

#[test]
fn inline_arguments_match_redis() {
    let redis = Server::redis(&[]);
    let lines: &[&[u8]] = &[
        b"ECHO hello",
        b"ECHO \"a b\"",
        b"ECHO \"\\x41\\x4a\\n\\r\\t\\b\\a\\\\\\\"\\q\"",
        b"ECHO \"\\xZZ\"",
        b"ECHO 'it\\'s \\n'",
        b"ECHO ab\"cd\"",
        b"ECHO a\x0bb",
        b"   ECHO\t  x  ",
        b"ECHO \"\"",
    ];
    for line in lines {
        let mut input = line.to_vec();
        input.extend_from_slice(b"\r\n");
        let mut client = redis.client();
        client.send_raw(&input);
        let echoed = client.read();
        let args = RequestDecoder::default()
            .decode(&mut BytesMut::from(&input[..]))
            .expect("valid")
            .expect("complete");
        assert_eq!(args.len(), 2, "line {:?}", String::from_utf8_lossy(line));

        assert_eq!(
            echoed,
            ferrodis_resp::Frame::Bulk(args[1].clone()),
            "line {:?}",
            String::from_utf8_lossy(line)
        );
    }
}
