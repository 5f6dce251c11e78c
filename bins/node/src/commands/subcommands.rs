//! What commands with subcommands share: Redis' HELP framing and its
//! checks of a subcommand's name and arity, with Redis' error texts.

use ferrodis_resp::Request;

use super::{arg, Ctx};

/// Replies with a command's help, framed as Redis' `addReplyHelp`: a
/// heading, the subcommands' lines, then HELP itself.
pub(super) fn help_reply(ctx: &mut Ctx<'_>, command: &str, lines: &[&str]) {
    ctx.array(lines.len() + 3);
    ctx.simple(&format!(
        "{command} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for line in lines {
        ctx.simple(line);
    }
    ctx.simple("HELP");
    ctx.simple("    Prints this help.");
}

/// Checks a container command's subcommand and its arity, answering as
/// Redis does when it does not fit; returns the lowercase subcommand.
pub(super) fn subcommand(
    ctx: &mut Ctx<'_>,
    req: &Request,
    command: &str,
    subcommands: &[(&str, i32)],
) -> Option<String> {
    let sub = String::from_utf8_lossy(arg(req, 1)).to_ascii_lowercase();
    let Some(&(name, arity)) = subcommands.iter().find(|(n, _)| *n == sub) else {
        let shown: String = String::from_utf8_lossy(arg(req, 1))
            .chars()
            .take(128)
            .collect();
        ctx.error(&format!(
            "ERR unknown subcommand '{shown}'. Try {} HELP.",
            command.to_ascii_uppercase()
        ));
        return None;
    };
    let argc = req.len() as i64;
    let fits = if arity >= 0 {
        argc == i64::from(arity)
    } else {
        argc >= -i64::from(arity)
    };
    if !fits {
        ctx.error(&format!(
            "ERR wrong number of arguments for '{command}|{name}' command"
        ));
        return None;
    }
    Some(sub)
}
