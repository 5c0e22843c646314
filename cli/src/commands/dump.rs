//! `cairn dump SNAPSHOT PATH`: one file's bytes to standard output.

use super::Ctx;
use crate::args::DumpArgs;
use cairn_engine::browse::{dump, find, Found};
use cairn_engine::{Error, Result};

/// Run `dump`.
pub fn run(ctx: &Ctx, args: &DumpArgs) -> Result<i32> {
    let repo = ctx.open()?;
    let (_, snap) = repo.find_snapshot(&args.snapshot)?;
    let node = match find(&repo, &snap, args.path.as_bytes())? {
        Found::Node(n) => n,
        Found::Root(_) => return Err(Error::invalid("give a file path inside the snapshot")),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    dump(&repo, &node, &mut out)?;
    Ok(crate::exit::OK)
}
