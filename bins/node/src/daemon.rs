//! `daemonize yes`: running in the background, as redis-server does.
//!
//! Redis forks: the parent exits with status 0 at once, the child starts a
//! new session (`setsid`: its own process group, no controlling terminal)
//! and points its standard streams at `/dev/null`, so that only the log
//! file (when `logfile` is set) records what it says. Ferrodis does the
//! same, with one difference: the parent waits until the child has
//! written its pid file, loaded its dataset and started serving, then
//! exits with 0; if the child fails to start (a port in use, a corrupt
//! data file), the parent prints the child's error and exits with 1
//! (Redis' parent has exited with 0 before the child can fail). Scripts
//! that start the server and connect at once then never race it.
//!
//! # Why `fork` and not re-executing the binary
//!
//! A forked child keeps the configuration already loaded (including what
//! was read from standard input with `-`), the working directory and the
//! pid Redis users expect: the daemon's pid is the one in the pid file and
//! the log. Re-executing `/proc/self/exe` with `setsid` in `pre_exec` would
//! need the arguments replayed and standard input kept aside. `fork` is
//! only sound while the process has one thread, so the server detaches
//! first thing after reading its configuration, before any thread starts,
//! and [`crate::sys::fork`] checks that it is so.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use crate::sys;

/// What the detached child tells the waiting parent.
const READY: u8 = b'R';
const FAILED: u8 = b'E';

/// Which process this is after [`detach`].
pub(crate) enum Detached {
    /// The original process: the child reported (or failed); exit with
    /// this status.
    Parent(ExitCode),
    /// The daemon: report to the parent through this once started.
    Child(Ready),
}

/// The daemon's end of the channel to the waiting parent.
pub(crate) struct Ready(UnixStream);

impl Ready {
    /// Tells the parent that the server is up: it exits with status 0.
    pub(crate) fn succeeded(mut self) {
        // The parent may have been killed meanwhile; nothing to do then.
        let _ = self.0.write_all(&[READY]);
    }

    /// Tells the parent why the server could not start: it prints `why`
    /// and exits with status 1.
    pub(crate) fn failed(mut self, why: &str) {
        let mut msg = vec![FAILED];
        msg.extend_from_slice(why.as_bytes());
        let _ = self.0.write_all(&msg);
    }
}

/// Forks into the background. Must be called before any thread starts.
///
/// # Errors
///
/// When the process cannot fork (other threads running, `fork` failing).
pub(crate) fn detach() -> io::Result<Detached> {
    let (mut parent_end, child_end) = UnixStream::pair()?;
    match sys::fork()? {
        sys::Forked::Parent(pid) => {
            drop(child_end);
            Ok(Detached::Parent(wait_for_child(&mut parent_end, pid)))
        }
        sys::Forked::Child => {
            drop(parent_end);
            // A failure here leaves the child attached to the terminal;
            // report it rather than run half-detached.
            let detached = sys::setsid().and_then(|()| sys::stdio_to_dev_null());
            let ready = Ready(child_end);
            match detached {
                Ok(()) => Ok(Detached::Child(ready)),
                Err(e) => {
                    let e = io::Error::new(e.kind(), format!("cannot detach: {e}"));
                    ready.failed(&e.to_string());
                    Err(e)
                }
            }
        }
    }
}

/// The parent's side: reads the child's report until it closes its end.
fn wait_for_child(channel: &mut UnixStream, pid: libc::pid_t) -> ExitCode {
    let mut report = Vec::new();
    // Reading ends when the child writes its report and drops its end, or
    // dies: either way its end closes.
    let _ = channel.read_to_end(&mut report);
    match report.split_first() {
        Some((&READY, _)) => ExitCode::SUCCESS,
        Some((&FAILED, why)) => {
            eprintln!("{}", String::from_utf8_lossy(why));
            ExitCode::FAILURE
        }
        _ => {
            eprintln!("ferrodis-node: the server (pid {pid}) exited while starting in the background; see its log file");
            ExitCode::FAILURE
        }
    }
}
