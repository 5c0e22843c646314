//! `cairn cat KIND [ID]`: one repository object decoded as JSON (always
//! JSON, like `restic cat`: indented, or with `--json` one compact line),
//! with the field names of `format-spec/v1`; secrets are never shown (see
//! `cairn_engine::ops::cat`).

use super::Ctx;
use cairn_engine::ops::cat::Object;
use cairn_engine::{Error, Result};
use clap::Args;

#[derive(Args, Debug)]
pub struct CatArgs {
    /// What to show: config, snapshot, tree, index, pack-trailer, key or lock.
    #[arg(value_name = "KIND")]
    pub kind: String,
    /// The object's ID (a unique prefix, except for trees; `latest` for a
    /// snapshot); none for config.
    #[arg(value_name = "ID")]
    pub id: Option<String>,
}

/// Run `cat`.
pub fn run(ctx: &Ctx, a: &CatArgs) -> Result<i32> {
    let what = Object::parse(&a.kind, a.id.as_deref())?;
    let repo = ctx.open()?;
    let doc = cairn_engine::ops::cat::cat(&repo, &what)?;
    if ctx.out.json {
        // One compact document a line, as every `--json` output.
        crate::output::print_report(&doc);
    } else {
        let text =
            serde_json::to_string_pretty(&doc).map_err(|e| Error::internal(e.to_string()))?;
        crate::outln!("{text}");
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn cat --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # The repository's config and the latest snapshot, decoded
  cairn cat config
  cairn cat snapshot latest
  # An index file, a pack's trailer, a key file or a lock by ID prefix
  cairn cat index 9c1e
  cairn cat pack-trailer 07b2
  cairn cat key 5d
  cairn cat lock 1a
  # A tree needs its full ID (from `cat snapshot`'s \"tree\")
  cairn cat tree 3f2a9c1d00000000000000000000000000000000000000000000000000000000";
