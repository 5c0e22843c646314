//! `cairn dump SNAPSHOT PATH`: one file's bytes to standard output. A
//! closed stdout ends the dump quietly; any other write failure is an
//! error.

use super::{Ctx, Resolved};
use crate::args::DumpArgs;
use cairn_engine::repo::browse::{dump, find, Found};
use cairn_engine::{Error, Result};
use std::os::unix::ffi::OsStrExt;

/// Run `dump`.
pub fn run(ctx: &Ctx, args: &DumpArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let r = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let node = match find(&repo, &r.snap, args.path.as_bytes()).map_err(|e| r.explain(e))? {
        Found::Node(n) => n,
        Found::Root(_) => return Err(Error::invalid("give a file path inside the snapshot")),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 20, crate::output::Stdout);
    dump(&repo, &node, &mut out)?;
    Ok(crate::exit::OK)
}
