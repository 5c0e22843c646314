//! `cairn dump SNAPSHOT PATH`: one file's bytes to standard output. A
//! closed stdout ends the dump quietly; any other write failure is an
//! error.

use super::{Ctx, Resolved};
use crate::args::DumpArgs;
use cairn_engine::Result;
use std::os::unix::ffi::OsStrExt;

/// Run `dump`.
pub fn run(ctx: &Ctx, args: &DumpArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let r = Resolved::find(&repo, &args.snapshot, &args.filter)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, crate::output::Stdout);
    cairn_engine::ops::dump::dump(&repo, &r.snap, args.path.as_bytes(), &mut out)
        .map_err(|e| r.explain(e))?;
    Ok(crate::exit::OK)
}

/// The examples `cairn dump --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # One file to standard output
  cairn dump latest /etc/hostname
  # A --stdin snapshot, back into the program that made it
  cairn dump 3fa9c2 mongo.archive | mongorestore --archive";
