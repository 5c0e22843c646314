//! `cairn ls SNAPSHOT [PATH]`: every entry under PATH, recursively, like
//! `restic ls`; `--long` adds metadata; `--json` prints one object a line.

use super::Ctx;
use crate::args::LsArgs;
use crate::output::{local_time, rfc3339};
use cairn_engine::{Node, NodeKind, Result};
use serde_json::json;
use std::io::Write;

fn kind_name(k: NodeKind) -> &'static str {
    match k {
        NodeKind::File => "file",
        NodeKind::Dir => "dir",
        NodeKind::Symlink => "symlink",
        NodeKind::Fifo => "fifo",
        NodeKind::CharDevice => "chardev",
        NodeKind::BlockDevice => "blockdev",
        NodeKind::Socket => "socket",
    }
}

fn mode_string(n: &Node) -> String {
    let mut s = String::with_capacity(10);
    s.push(n.kind.letter());
    for shift in [6u32, 3, 0] {
        let bits = (n.mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// Run `ls`.
pub fn run(ctx: &Ctx, args: &LsArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let (_, snap) = repo.find_snapshot(&args.snapshot)?;
    let path = args.path.clone().unwrap_or_else(|| "/".into());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut visit = |p: &[u8], n: &Node| -> Result<()> {
        let shown = String::from_utf8_lossy(p);
        let line = if ctx.out.json {
            json!({
                "path": shown,
                "path_bytes_hex": if std::str::from_utf8(p).is_err() { Some(cairn_engine::id::hex_encode(p)) } else { None },
                "type": kind_name(n.kind),
                "mode": n.mode,
                "uid": n.uid,
                "gid": n.gid,
                "user": n.user,
                "group": n.group,
                "size": n.size,
                "mtime": rfc3339(n.mtime),
                "target": n.target.as_ref().map(|t| String::from_utf8_lossy(t).into_owned()),
            })
            .to_string()
        } else if args.long {
            let target = n
                .target
                .as_ref()
                .map(|t| format!(" -> {}", String::from_utf8_lossy(t)))
                .unwrap_or_default();
            format!(
                "{} {:>8} {:>8} {:>12} {} {}{}",
                mode_string(n),
                n.user.clone().unwrap_or_else(|| n.uid.to_string()),
                n.group.clone().unwrap_or_else(|| n.gid.to_string()),
                n.size,
                local_time(n.mtime),
                shown,
                target
            )
        } else {
            shown.into_owned()
        };
        writeln!(out, "{line}").map_err(|e| cairn_engine::Error::io("writing output", e))
    };
    cairn_engine::browse::walk(&repo, &snap, path.as_bytes(), true, &mut visit)?;
    out.flush()
        .map_err(|e| cairn_engine::Error::io("writing output", e))?;
    Ok(crate::exit::OK)
}
