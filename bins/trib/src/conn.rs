//! A small blocking RESP connection: connect (with a timeout), `AUTH`,
//! send commands as RESP arrays, read replies as [`Frame`]s.
//!
//! Nothing read from the network can make it panic: a malformed stream is
//! [`Error::Protocol`], a closed one [`Error::Closed`].

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrodis_resp::{Frame, FrameDecoder};

use crate::error::{io_message, Error, Result};

/// How to reach and authenticate to a node.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// The longest a TCP connect may take; `None`: the system's limit.
    pub connect_timeout: Option<Duration>,
    /// `AUTH` password (`-a`, `--pass`).
    pub password: Option<String>,
    /// `AUTH` user name (`--user`); used only with a password.
    pub user: Option<String>,
}

/// One blocking connection to a RESP server.
#[derive(Debug)]
pub struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    decoder: FrameDecoder,
    host: String,
    port: u16,
}

impl Conn {
    /// Connects to `host:port` (every address the name resolves to, in
    /// turn), with `timeout` per attempt when given.
    pub fn connect(host: &str, port: u16, timeout: Option<Duration>) -> Result<Conn> {
        let addr = format!("{host}:{port}");
        let connect_error = |e: &std::io::Error| Error::Connect {
            addr: addr.clone(),
            message: io_message(e),
        };
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| connect_error(&e))?;
        let mut last = None;
        for sa in addrs {
            let attempt = match timeout {
                Some(t) => TcpStream::connect_timeout(&sa, t),
                None => TcpStream::connect(sa),
            };
            match attempt {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(Conn {
                        stream,
                        buf: BytesMut::with_capacity(16 * 1024),
                        decoder: FrameDecoder::default(),
                        host: host.to_owned(),
                        port,
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        let e = last.unwrap_or_else(|| std::io::Error::other("Name or service not known"));
        Err(connect_error(&e))
    }

    /// Connects and, when `opts` has a password, authenticates.
    pub fn open(host: &str, port: u16, opts: &ConnectOptions) -> Result<Conn> {
        let mut conn = Conn::connect(host, port, opts.connect_timeout)?;
        if let Some(pass) = &opts.password {
            conn.auth(opts.user.as_deref(), pass)?;
        }
        Ok(conn)
    }

    /// Sends `AUTH [user] pass`; [`Error::Auth`] with the server's text
    /// when refused.
    pub fn auth(&mut self, user: Option<&str>, pass: &str) -> Result<()> {
        let reply = match user {
            Some(u) => self.call(&["AUTH", u, pass])?,
            None => self.call(&["AUTH", pass])?,
        };
        match error_text(&reply) {
            Some(msg) => Err(Error::Auth(msg)),
            None => Ok(()),
        }
    }

    /// The host name this connection was opened with.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port this connection was opened with.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends one command as a RESP array of bulk strings.
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<()> {
        let frame = Frame::command(args.iter().map(|a| Bytes::copy_from_slice(a.as_ref())));
        self.stream.write_all(&frame.to_bytes())?;
        Ok(())
    }

    /// Writes bytes as they are (pipe mode, inline commands).
    pub fn write_raw(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// Reads one reply; blocks until it is complete (or the read timeout).
    pub fn read_reply(&mut self) -> Result<Frame> {
        loop {
            if let Some(frame) = self.try_decode()? {
                return Ok(frame);
            }
            self.fill()?;
        }
    }

    /// A reply already in the buffer, without reading the socket.
    pub fn try_decode(&mut self) -> Result<Option<Frame>> {
        Ok(self.decoder.decode(&mut self.buf)?)
    }

    /// Reads once from the socket into the buffer; [`Error::Closed`] at EOF.
    pub fn fill(&mut self) -> Result<usize> {
        let mut chunk = [0u8; 16 * 1024];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            return Err(Error::Closed);
        }
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// Reads raw bytes (a replication payload): what is already buffered
    /// first, then the socket; [`Error::Closed`] at EOF.
    pub fn read_raw(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.buf.is_empty() {
            self.fill()?;
        }
        let n = out.len().min(self.buf.len());
        let chunk = self.buf.split_to(n);
        if let Some(dst) = out.get_mut(..n) {
            dst.copy_from_slice(&chunk);
        }
        Ok(n)
    }

    /// Sends a command and reads its reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame> {
        self.send(args)?;
        self.read_reply()
    }

    /// Limits how long a read waits (`None`: forever).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.stream.set_read_timeout(timeout)?;
        Ok(())
    }

    /// A second handle on the socket (a writer thread beside a reader).
    pub fn try_clone_stream(&self) -> Result<TcpStream> {
        Ok(self.stream.try_clone()?)
    }

    /// Closes the writing half: the server sees EOF after what was sent.
    pub fn shutdown_write(&self) -> Result<()> {
        self.stream.shutdown(Shutdown::Write)?;
        Ok(())
    }
}

/// The text of an error reply (`-ERR ...` or RESP3 `!...`), else `None`.
pub fn error_text(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Error(b) | Frame::BlobError(b) => Some(String::from_utf8_lossy(b).into_owned()),
        _ => None,
    }
}

/// The bytes of a string reply (simple, bulk or verbatim), else `None`.
pub fn string_bytes(frame: &Frame) -> Option<&[u8]> {
    match frame {
        Frame::Simple(b) | Frame::Bulk(b) => Some(b),
        Frame::Verbatim { data, .. } => Some(data),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn pair(server_bytes: &'static [u8]) -> Conn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut b = [0u8; 1024];
            let _ = s.read(&mut b);
            s.write_all(server_bytes).unwrap();
        });
        Conn::connect("127.0.0.1", port, Some(Duration::from_secs(5))).unwrap()
    }

    #[test]
    fn reads_a_nested_reply() {
        let mut c = pair(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n");
        let f = c.call(&["LRANGE", "x", "0", "-1"]).unwrap();
        assert_eq!(
            f,
            Frame::Array(vec![
                Frame::Bulk("a".into()),
                Frame::Array(vec![Frame::Integer(1)])
            ])
        );
    }

    #[test]
    fn garbage_is_a_protocol_error_and_eof_is_closed() {
        let mut c = pair(b"?what\r\n");
        assert!(matches!(c.call(&["PING"]), Err(Error::Protocol(_))));
        let mut c = pair(b"$10\r\nabc");
        assert!(matches!(c.call(&["PING"]), Err(Error::Closed)));
    }

    #[test]
    fn refused_connections_say_so_as_redis_cli_does() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let e = Conn::connect("127.0.0.1", port, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Could not connect to Redis at 127.0.0.1:{port}: Connection refused")
        );
    }
}
