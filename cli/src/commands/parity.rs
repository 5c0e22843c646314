//! `cairn parity set K+M|off` and `cairn parity protect`.

use super::Ctx;
use crate::args::ParityCommand;
use cairn_engine::{Error, Result};

/// Parse `K+M` (`Some`) or `off` (`None`).
pub fn parse(spec: &str) -> Result<Option<(u8, u8)>> {
    if spec == "off" {
        return Ok(None);
    }
    let bad = || Error::invalid(format!("parity '{spec}': use K+M (e.g. 10+2) or off"));
    let (k, m) = spec.split_once('+').ok_or_else(bad)?;
    Ok(Some((
        k.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
    )))
}

/// Run a parity subcommand.
pub fn run(ctx: &Ctx, cmd: &ParityCommand) -> Result<i32> {
    let set = match cmd {
        ParityCommand::Set { spec } => Some(parse(spec)?),
        ParityCommand::Protect => None,
    };
    let mut repo = ctx.open()?;
    let progress = ctx.out.progress("parity");
    let result = cairn_engine::ops::parity::parity(&mut repo, set, &progress);
    progress.finish();
    let r = result?;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        ctx.out.info(&format!(
            "parity {}: {} packs newly protected",
            r.parity, r.newly_protected_packs
        ));
    }
    Ok(crate::exit::OK)
}

/// The examples `cairn parity --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Turn parity on and protect every pack
  cairn parity set 10+2
  # Protect packs written since parity was last set
  cairn parity protect
  # Turn it off
  cairn parity set off";
