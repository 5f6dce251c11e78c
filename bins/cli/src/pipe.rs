//! `--pipe`: raw RESP from standard input to the server, as fast as it
//! goes, replies counted (errors printed) until the final `ECHO` with a
//! random payload comes back, as redis-cli's pipe mode.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrodis_resp::Frame;
use ferrodis_trib::{Conn, Error};

/// Pipes standard input to `conn`; returns the exit status.
pub fn run(mut conn: Conn, timeout_secs: u64) -> i32 {
    let mut rng = ferrodis_trib::rng::Rng::from_time();
    let magic: Vec<u8> = (0..20).map(|_| (rng.next_u64() & 0xff) as u8).collect();
    let mut writer = match conn.try_clone_stream() {
        Ok(w) => w,
        Err(e) => {
            eprintln_flush(&format!("Error writing to the server: {e}"));
            return 1;
        }
    };
    let eof = Arc::new(AtomicBool::new(false));
    let eof_w = Arc::clone(&eof);
    let magic_w = magic.clone();
    let writer_thread = std::thread::spawn(move || -> Result<(), String> {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(format!("Error reading from stdin: {e}")),
            };
            writer
                .write_all(buf.get(..n).unwrap_or_default())
                .map_err(|e| format!("Error writing to the server: {e}"))?;
        }
        let mut echo = b"\r\n*2\r\n$4\r\nECHO\r\n$20\r\n".to_vec();
        echo.extend_from_slice(&magic_w);
        echo.extend_from_slice(b"\r\n");
        {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"All data transferred. Waiting for the last reply...\n");
            let _ = out.flush();
        }
        eof_w.store(true, Ordering::SeqCst);
        writer
            .write_all(&echo)
            .map_err(|e| format!("Error writing to the server: {e}"))
    });
    let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
    let (mut errors, mut replies) = (0u64, 0u64);
    let mut last_read = Instant::now();
    loop {
        match conn.read_reply() {
            Ok(frame) => {
                last_read = Instant::now();
                match &frame {
                    Frame::Error(e) | Frame::BlobError(e) => {
                        eprintln_flush(&String::from_utf8_lossy(e));
                        errors += 1;
                        replies += 1;
                    }
                    Frame::Bulk(b) if eof.load(Ordering::SeqCst) && b[..] == magic[..] => {
                        let mut out = std::io::stdout().lock();
                        let _ = out.write_all(b"Last reply received from server.\n");
                        let _ = out.flush();
                        break;
                    }
                    _ => replies += 1,
                }
            }
            Err(Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                if eof.load(Ordering::SeqCst)
                    && timeout_secs > 0
                    && last_read.elapsed() > Duration::from_secs(timeout_secs)
                {
                    eprintln_flush(&format!("No replies for {timeout_secs} seconds: exiting."));
                    errors += 1;
                    break;
                }
            }
            Err(_) => {
                eprintln_flush("Error reading replies from server");
                return 1;
            }
        }
    }
    if let Ok(Err(msg)) = writer_thread.join() {
        eprintln_flush(&msg);
        return 1;
    }
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "errors: {errors}, replies: {replies}");
    let _ = out.flush();
    i32::from(errors > 0)
}

fn eprintln_flush(text: &str) {
    let _ = std::io::stdout().flush();
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}
