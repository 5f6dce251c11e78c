//! The interactive loop: commands read line by line, with line editing and
//! history on a terminal (rustyline), or plainly from standard input
//! (`ferrodis-cli -c -p 7000 < commands.txt`), as redis-cli's `repl()`.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

use crate::config::OutputMode;
use crate::session::{Exit, Session};

/// Commands that are kept out of the history: they may carry passwords.
pub fn is_sensitive(args: &[String]) -> bool {
    let is = |i: usize, s: &str| args.get(i).is_some_and(|a| a.eq_ignore_ascii_case(s));
    let argc = args.len();
    if is(0, "auth") || (argc > 1 && is(0, "acl") && is(1, "setuser")) {
        return true;
    }
    if argc > 2
        && is(0, "config")
        && is(1, "set")
        && (is(2, "masterauth") || is(2, "masteruser") || is(2, "requirepass"))
    {
        return true;
    }
    if argc > 4 && is(0, "hello") {
        let mut j = 2;
        while j < argc {
            let more = argc - 1 - j;
            if is(j, "auth") && more >= 2 {
                return true;
            } else if is(j, "setname") && more > 0 {
                j += 1;
            } else {
                return false;
            }
            j += 1;
        }
    }
    if argc > 7 && is(0, "migrate") {
        for j in 6..argc {
            let more = argc - 1 - j;
            if (is(j, "auth") && more > 0) || (is(j, "auth2") && more >= 2) {
                return true;
            }
            if is(j, "keys") && more > 0 {
                return false;
            }
        }
    }
    false
}

fn history_path() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FERRODISCLI_HISTFILE") {
        if p.is_empty() || p == "/dev/null" {
            return None;
        }
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ferrodiscli_history"))
}

const HELP: &str = "\
ferrodis-cli, a redis-cli compatible client.
Type a command and its arguments, as with redis-cli:
      set mykey somevalue
      3 incr counter      (run a command three times)
      connect <host> <port>
      clear               (clear the screen)
      quit / exit
Redis' own documentation describes every command: https://redis.io/commands
";

/// What one line asks for.
enum Step {
    Continue,
    Quit,
}

/// Runs one line of input (`repl()`'s body); `history` receives it when it
/// should be remembered.
fn run_line(s: &mut Session, line: &[u8], history: &mut dyn FnMut(&[u8])) -> Result<Step, Exit> {
    if line.is_empty() {
        return Ok(Step::Continue);
    }
    let Some(parts) = ferrodis_resp::split_args(line) else {
        s.say("Invalid argument(s)\n");
        history(line);
        return Ok(Step::Continue);
    };
    let raw: Vec<Vec<u8>> = parts.iter().map(|b| b.to_vec()).collect();
    let argv: Vec<String> = parts
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    if argv.is_empty() {
        return Ok(Step::Continue);
    }
    let mut repeat = 1;
    let mut skip = 0;
    if argv.len() > 1 {
        if let Ok(n) = argv[0].trim_start().parse::<i64>() {
            if n <= 0 {
                s.say("Invalid redis-cli repeat command option value.\n");
                return Ok(Step::Continue);
            }
            repeat = n;
            skip = 1;
        }
    }
    let cmd = &raw[skip..];
    if !is_sensitive(&argv[skip..]) {
        history(line);
    }
    let first = argv[0].to_ascii_lowercase();
    if first == "quit" || first == "exit" {
        return Ok(Step::Quit);
    }
    if first.starts_with(':') {
        if first == ":set" && argv.len() >= 2 {
            let pref = argv[1].to_ascii_lowercase();
            if pref != "hints" && pref != "nohints" {
                s.say(&format!("unknown redis-cli preference '{}'\n", argv[1]));
            }
        } else {
            s.say(&format!(
                "unknown redis-cli internal command '{}'\n",
                argv[0]
            ));
        }
        return Ok(Step::Continue);
    }
    if first == "restart" {
        s.say("Use 'restart' only in Lua debugging mode.\n");
        return Ok(Step::Continue);
    }
    if argv.len() == 3 && first == "connect" {
        s.cfg.host = argv[1].clone();
        s.cfg.port = u16::try_from(ferrodis_trib::cluster::atoi(&argv[2])).unwrap_or(0);
        s.connect(true, false);
        return Ok(Step::Continue);
    }
    if argv.len() == 1 && first == "clear" {
        s.say("\x1b[H\x1b[2J");
        return Ok(Step::Continue);
    }
    let c0 = cmd
        .first()
        .map(|c| c.to_ascii_lowercase())
        .unwrap_or_default();
    if c0 == b"help" || c0 == b"?" {
        s.say(HELP);
        return Ok(Step::Continue);
    }
    let started = Instant::now();
    s.issue(cmd, repeat)?;
    let elapsed = started.elapsed().as_secs_f64();
    if elapsed >= 0.5 && s.cfg.output == OutputMode::Standard {
        s.say(&format!("({elapsed:.2}s)\n"));
    }
    Ok(Step::Continue)
}

/// The interactive loop; returns the exit status.
pub fn run(s: &mut Session, stdin_is_tty: bool) -> i32 {
    s.interactive = true;
    let result = if stdin_is_tty {
        edit_loop(s)
    } else {
        plain_loop(s)
    };
    match result {
        Ok(()) => 0,
        Err(Exit(code)) => code,
    }
}

fn plain_loop(s: &mut Session) -> Result<(), Exit> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return Ok(()),
            Ok(_) => {}
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if let Step::Quit = run_line(s, &line, &mut |_| {})? {
            return Ok(());
        }
    }
}

fn edit_loop(s: &mut Session) -> Result<(), Exit> {
    use rustyline::error::ReadlineError;
    let mut editor = match rustyline::DefaultEditor::new() {
        Ok(e) => e,
        Err(_) => return plain_loop(s),
    };
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    loop {
        let prompt = if s.connected() {
            s.prompt()
        } else {
            "not connected> ".to_owned()
        };
        let line = match editor.readline(&prompt) {
            Ok(l) => l,
            Err(ReadlineError::Interrupted | ReadlineError::Eof) => return Ok(()),
            Err(_) => return Ok(()),
        };
        let mut remember = |l: &[u8]| {
            let _ = editor.add_history_entry(String::from_utf8_lossy(l).as_ref());
            if let Some(h) = &history {
                let _ = editor.save_history(h);
            }
        };
        if let Step::Quit = run_line(s, line.as_bytes(), &mut remember)? {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn passwords_stay_out_of_the_history() {
        assert!(is_sensitive(&v("auth secret")));
        assert!(is_sensitive(&v("config set requirepass x")));
        assert!(is_sensitive(&v("hello 3 auth user pass")));
        assert!(!is_sensitive(&v("hello 3 setname x")));
        assert!(!is_sensitive(&v("set auth x")));
    }
}
