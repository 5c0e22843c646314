//! `cairn ls SNAPSHOT [PATH]`: every entry under PATH, recursively, like
//! `restic ls`; `--long` adds metadata; `--json` prints one object a line.
//! Names, owners and link targets are escaped in human output; a closed
//! stdout (`| head`) ends the listing quietly.

use super::{Ctx, Resolved};
use crate::args::LsArgs;
use crate::output::{esc, esc_bytes, local_time, write_error};
use cairn_engine::ops::ls::Entry;
use cairn_engine::{Node, Result};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;

/// `ls -l`'s mode string: type letter, then rwx for owner, group and
/// others; setuid and setgid show as `s` in the owner's and group's x
/// place (`S` when that x bit is off), sticky as `t` in the others' (`T`).
fn mode_string(n: &Node) -> String {
    let mut s = String::with_capacity(10);
    s.push(n.kind.letter());
    for (shift, special, set, unset) in [
        (6u32, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (n.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(match (n.mode & special != 0, bits & 1 != 0) {
            (true, true) => set,
            (true, false) => unset,
            (false, true) => 'x',
            (false, false) => '-',
        });
    }
    s
}

/// One entry as `ls --long` shows it (`find --long` too): mode, owner,
/// group, size, time, path and a symlink's target.
pub(crate) fn long_line(e: &Entry) -> String {
    let (p, n) = (e.path, e.node);
    let target = n
        .target
        .as_ref()
        .map(|t| format!(" -> {}", esc_bytes(t)))
        .unwrap_or_default();
    format!(
        "{} {:>8} {:>8} {:>12} {} {}{}",
        mode_string(n),
        n.user
            .as_deref()
            .map(|u| esc(u).into_owned())
            .unwrap_or_else(|| n.uid.to_string()),
        n.group
            .as_deref()
            .map(|g| esc(g).into_owned())
            .unwrap_or_else(|| n.gid.to_string()),
        n.size,
        local_time(n.mtime),
        esc_bytes(p),
        target
    )
}

/// Run `ls`.
pub fn run(ctx: &Ctx, args: &LsArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let r = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let path = args
        .path
        .as_ref()
        .map(|p| p.as_bytes().to_vec())
        .unwrap_or_else(|| b"/".to_vec());
    let mut out = std::io::BufWriter::new(crate::output::Stdout);
    let mut visit = |e: &Entry| -> Result<()> {
        let line = if ctx.out.json {
            serde_json::to_value(e).map_or_else(|_| String::new(), |v| v.to_string())
        } else if args.long {
            long_line(e)
        } else {
            esc_bytes(e.path)
        };
        writeln!(out, "{line}").map_err(write_error)
    };
    cairn_engine::ops::ls::ls(&repo, &r.snap, &path, &mut visit).map_err(|e| r.explain(e))?;
    out.flush().map_err(write_error)?;
    Ok(crate::exit::OK)
}

/// The examples `cairn ls --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # The top of the newest snapshot
  cairn ls latest
  # One directory, with mode, owner, size and time
  cairn ls latest /etc --long
  # The newest snapshot of another host
  cairn ls latest /srv --host web1";

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_engine::NodeKind;

    #[test]
    fn mode_string_shows_special_bits_like_ls() {
        let mode = |m: u32| {
            let mut n = Node::new(b"f".to_vec(), NodeKind::File);
            n.mode = m;
            mode_string(&n)
        };
        assert_eq!(mode(0o755), "-rwxr-xr-x");
        assert_eq!(mode(0o4755), "-rwsr-xr-x");
        assert_eq!(mode(0o4644), "-rwSr--r--");
        assert_eq!(mode(0o2755), "-rwxr-sr-x");
        assert_eq!(mode(0o2745), "-rwxr-Sr-x");
        assert_eq!(mode(0o1777), "-rwxrwxrwt");
        assert_eq!(mode(0o1776), "-rwxrwxrwT");
        assert_eq!(mode(0o7000), "---S--S--T");
    }
}
