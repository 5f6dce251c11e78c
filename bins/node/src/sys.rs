//! The system calls the standard library does not offer: `fork` and
//! `setsid` to daemonize, standard streams moved to `/dev/null`, SIGTERM
//! and SIGINT turned into a shutdown request, TCP
//! keepalive tuning, and listening sockets created with a chosen backlog
//! (and `IPV6_V6ONLY`, as Redis does, so that `bind * ::*` can bind both).
//!
//! # Unsafe code
//!
//! Calling C through `libc` takes `unsafe`. This module and the counting
//! allocator (`alloc.rs`) are the only places in the workspace allowed to
//! use it (`tests/tidy.rs` checks), and each `unsafe` block follows a
//! `// SAFETY:` argument. Everything here is a thin wrapper that returns
//! `io::Result`; the decisions (when to fork, what to do with errors) are
//! made by the callers.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// Turns a C return value (`-1` on error, `errno` set) into a result.
fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// The number of threads of this process, from `/proc/self/task` (Linux).
///
/// # Errors
///
/// When `/proc` cannot be read (not mounted, not Linux).
pub(crate) fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Which side of a [`fork`] this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forked {
    /// The original process; the child has this pid.
    Parent(libc::pid_t),
    /// The new process.
    Child,
}

/// `fork()`, refused unless this process has a single thread.
///
/// Forking a multi-threaded process leaves the child with only the
/// forking thread while locks held by the others stay locked forever (in
/// the allocator, in `std`'s stdout, anywhere); the child could then only
/// use async-signal-safe functions. With one thread there is no such lock,
/// and the child is an ordinary single-threaded copy of the parent.
///
/// # Errors
///
/// When other threads exist (or cannot be counted), or `fork` fails.
pub(crate) fn fork() -> io::Result<Forked> {
    let threads = thread_count()?;
    if threads != 1 {
        return Err(io::Error::other(format!(
            "cannot fork: the process already runs {threads} threads"
        )));
    }
    // SAFETY: fork() takes no arguments and touches no memory of ours. It
    // is sound to continue running arbitrary Rust code in the child because
    // the process has exactly one thread (checked just above; nothing in
    // between starts one), so no lock can be held by a thread that does
    // not exist in the child.
    let pid = check(unsafe { libc::fork() })?;
    Ok(if pid == 0 {
        Forked::Child
    } else {
        Forked::Parent(pid)
    })
}

/// `setsid()`: a new session and process group led by this process, with
/// no controlling terminal (so that the terminal's signals, such as SIGHUP
/// when it closes, no longer reach it).
pub(crate) fn setsid() -> io::Result<()> {
    // SAFETY: setsid() takes no arguments and touches no memory of ours.
    check(unsafe { libc::setsid() })?;
    Ok(())
}

/// Points standard input, output and error at `/dev/null`, as a daemon's
/// must be once its terminal is gone (writes to a closed terminal fail or
/// raise SIGPIPE/SIGTTOU).
pub(crate) fn stdio_to_dev_null() -> io::Result<()> {
    use std::io::Write;
    // What is buffered was meant for the terminal.
    let _ = io::stdout().flush();
    let null = File::options().read(true).write(true).open("/dev/null")?;
    for target in [libc::STDIN_FILENO, libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: dup2() takes two descriptor numbers and no pointers.
        // `null` is open for the whole call. Replacing 0, 1 and 2 is atomic
        // and keeps them open, so `std`'s handles on the standard streams
        // (which hold the numbers, not the files) stay valid: they now
        // write to /dev/null.
        check(unsafe { libc::dup2(null.as_raw_fd(), target) })?;
    }
    Ok(())
}

/// Sets an integer socket option.
fn set_int_option(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is a descriptor borrowed for the call, hence open. The
    // pointer is to `value`, a live c_int on this stack frame, and the
    // length passed is exactly its size, so the kernel reads only it.
    check(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

/// Reads an integer socket option (tests read back what was set).
#[cfg(test)]
fn int_option(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is borrowed for the call, hence open. Both pointers are
    // to live locals of this frame; `len` holds the size of `value`, so the
    // kernel writes at most that many bytes into it, and writes the length
    // it used back into `len`.
    check(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            std::ptr::from_mut(&mut value).cast::<libc::c_void>(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// Redis' `anetKeepAlive`: turns on TCP keepalive with the first probe
/// after `interval` idle seconds, then a probe every `interval / 3`
/// seconds (at least 1), the peer being declared dead after 3 unanswered
/// probes. Outside Linux only `SO_KEEPALIVE` is set.
pub(crate) fn set_keepalive(fd: BorrowedFd<'_>, interval: libc::c_int) -> io::Result<()> {
    set_int_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    #[cfg(target_os = "linux")]
    {
        set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, interval)?;
        set_int_option(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            (interval / 3).max(1),
        )?;
        set_int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3)?;
    }
    #[cfg(not(target_os = "linux"))]
    let _ = interval;
    Ok(())
}

/// A non-blocking TCP socket listening on `addr` with an accept queue of
/// `backlog` connections (the kernel caps it at `net.core.somaxconn`),
/// with `SO_REUSEADDR`, and `IPV6_V6ONLY` for IPv6 addresses, as Redis'
/// `anetTcpServer` creates it.
pub(crate) fn tcp_listener(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    let kind = libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
    // SAFETY: socket() takes no pointers.
    let raw: RawFd = check(unsafe { libc::socket(domain, kind, 0) })?;
    // SAFETY: `raw` is the descriptor socket() just created: open, and
    // owned by nothing else, so `OwnedFd` may take it (and closes it on
    // every error path below).
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    set_int_option(fd.as_fd(), libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: `sockaddr_in` is a C struct of integers (and, on some
            // systems, padding bytes): all zeroes is a valid value, and
            // what the C API expects in the fields not set below.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = a.port().to_be();
            sa.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            bind(fd.as_fd(), &sa)?;
        }
        SocketAddr::V6(a) => {
            set_int_option(fd.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 1)?;
            // SAFETY: as for `sockaddr_in` above.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_flowinfo = a.flowinfo();
            sa.sin6_addr.s6_addr = a.ip().octets();
            sa.sin6_scope_id = a.scope_id();
            bind(fd.as_fd(), &sa)?;
        }
    }
    // SAFETY: listen() takes a descriptor (open: `fd` owns it) and an int.
    check(unsafe { libc::listen(fd.as_raw_fd(), backlog) })?;
    Ok(std::net::TcpListener::from(fd))
}

/// A socket address structure `bind` accepts: `sockaddr_in` or
/// `sockaddr_in6`.
trait SockAddr {}
impl SockAddr for libc::sockaddr_in {}
impl SockAddr for libc::sockaddr_in6 {}

fn bind<A: SockAddr>(fd: BorrowedFd<'_>, sa: &A) -> io::Result<()> {
    // SAFETY: `fd` is borrowed, hence open. `sa` is a reference to a live,
    // fully initialised `sockaddr_in` or `sockaddr_in6` (the only types
    // implementing `SockAddr`), whose family field matches its type, and
    // the length passed is exactly its size: the kernel reads only those
    // bytes.
    check(unsafe {
        libc::bind(
            fd.as_raw_fd(),
            std::ptr::from_ref(sa).cast::<libc::sockaddr>(),
            std::mem::size_of::<A>() as libc::socklen_t,
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, Ipv6Addr, TcpStream};

    fn option(fd: BorrowedFd<'_>, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        int_option(fd, level, name).unwrap()
    }

    #[test]
    fn keepalive_follows_redis_anet_keepalive() {
        let listener = tcp_listener((Ipv4Addr::LOCALHOST, 0).into(), 16).unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = TcpStream::connect(addr).unwrap();
        listener.set_nonblocking(false).unwrap();
        let (server, _) = listener.accept().unwrap();
        let fd = server.as_fd();
        assert_eq!(option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);
        // (interval, expected TCP_KEEPINTVL): a third, at least 1.
        for (interval, every) in [(7, 2), (300, 100), (1, 1), (2, 1)] {
            set_keepalive(fd, interval).unwrap();
            assert_ne!(option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);
            if cfg!(target_os = "linux") {
                assert_eq!(option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), interval);
                assert_eq!(option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL), every);
                assert_eq!(option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT), 3);
            }
        }
    }

    #[test]
    fn listener_is_nonblocking_reusable_and_serves() {
        let listener = tcp_listener((Ipv4Addr::LOCALHOST, 0).into(), 511).unwrap();
        let fd = listener.as_fd();
        assert_ne!(option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR), 0);
        assert_ne!(option(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN), 0);
        // Non-blocking: nothing to accept yet.
        let err = listener.accept().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        listener.set_nonblocking(false).unwrap();
        let (mut server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        client.write_all(b"ping").unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ping");
        // A second socket on the same port is refused while this one
        // listens.
        let taken = tcp_listener(listener.local_addr().unwrap(), 511).unwrap_err();
        assert_eq!(taken.kind(), io::ErrorKind::AddrInUse);
    }

    #[test]
    fn ipv6_listener_is_v6_only_so_ipv4_can_share_the_port() {
        let Ok(v6) = tcp_listener((Ipv6Addr::UNSPECIFIED, 0).into(), 16) else {
            return; // No IPv6 on this machine: nothing to check.
        };
        assert_ne!(option(v6.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 0);
        let port = v6.local_addr().unwrap().port();
        let v4 = tcp_listener((Ipv4Addr::UNSPECIFIED, port).into(), 16);
        assert!(v4.is_ok(), "{v4:?}");
    }

    #[test]
    fn this_test_process_is_multithreaded_so_fork_is_refused() {
        // The test harness runs tests on threads of its own.
        std::thread::scope(|s| {
            s.spawn(|| {
                assert!(thread_count().unwrap() >= 2);
                let err = fork().unwrap_err();
                assert!(err.to_string().contains("cannot fork"), "{err}");
            });
        });
    }
}

/// The shutdown signal received and not yet handled (0: none).
static SHUTDOWN_SIGNAL: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Records SIGTERM / SIGINT for [`take_shutdown_signal`]; a second SIGINT
/// before the first is handled exits at once with status 1 (someone
/// pressing Ctrl+C again wants out without waiting for a save), as Redis
/// does.
extern "C" fn on_shutdown_signal(sig: libc::c_int) {
    use std::sync::atomic::Ordering;
    let before = SHUTDOWN_SIGNAL.swap(sig, Ordering::SeqCst);
    if before != 0 && sig == libc::SIGINT {
        // SAFETY: _exit is async-signal-safe and takes a plain integer.
        unsafe { libc::_exit(1) };
    }
}

/// Installs the handlers of SIGTERM and SIGINT: they only record the
/// signal, which the server's periodic work picks up with
/// [`take_shutdown_signal`] and handles as a `SHUTDOWN`.
///
/// # Errors
///
/// When `sigaction` fails.
pub(crate) fn install_shutdown_signals() -> io::Result<()> {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `act` is a zeroed `sigaction` (a valid value: no flags,
        // empty mask once sigemptyset has run) whose handler is a function
        // of the right `extern "C" fn(c_int)` type; the handler only does
        // an atomic swap and, possibly, `_exit`, both async-signal-safe.
        // The pointers passed live for the duration of the calls.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = on_shutdown_signal as extern "C" fn(libc::c_int) as usize;
            check(libc::sigemptyset(&mut act.sa_mask))?;
            check(libc::sigaction(sig, &act, std::ptr::null_mut()))?;
        }
    }
    Ok(())
}

/// A signal asking the server to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShutdownSignal {
    Term,
    Int,
}

/// The shutdown signal received since the last call, if any.
pub(crate) fn take_shutdown_signal() -> Option<ShutdownSignal> {
    match SHUTDOWN_SIGNAL.swap(0, std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        libc::SIGINT => Some(ShutdownSignal::Int),
        _ => Some(ShutdownSignal::Term),
    }
}

/// Lowers the calling thread's scheduling priority to `nice` (Linux nice
/// values are per thread), so that background work (a slot export) yields
/// the cores to the threads serving clients. Best effort: an error is
/// returned for the caller to ignore or log.
pub(crate) fn nice_this_thread(nice: libc::c_int) -> io::Result<()> {
    // SAFETY: gettid() takes no arguments and touches no memory.
    let tid = unsafe { libc::gettid() };
    // SAFETY: setpriority() takes plain integers (which, who, value) and
    // touches no memory of ours; on Linux PRIO_PROCESS with a thread id
    // applies to that thread alone.
    check(unsafe { libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice) })?;
    Ok(())
}
