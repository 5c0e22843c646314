//! `cairn parity set K+M|off` and `cairn parity protect`.

use super::Ctx;
use crate::args::ParityCommand;
use cairn_engine::{Error, LockMode, Result};
use serde_json::json;

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
    let mut repo = ctx.open()?;
    if let ParityCommand::Set { spec } = cmd {
        let p = parse(spec)?;
        let _lock = repo.lock(LockMode::Exclusive)?;
        repo.set_parity(p)?;
    }
    let progress = ctx.out.progress("parity");
    let protected = {
        let _lock = repo.lock(LockMode::Shared)?;
        cairn_engine::ops::parity::protect(&repo, &progress)
    };
    progress.finish();
    let n = protected?;
    let setting = repo
        .config()
        .parity
        .map(|(k, m)| format!("{k}+{m}"))
        .unwrap_or_else(|| "off".into());
    if ctx.out.json {
        crate::output::print_json(&json!({"parity": setting, "newly_protected_packs": n}));
    } else {
        ctx.out
            .info(&format!("parity {setting}: {n} packs newly protected"));
    }
    Ok(crate::exit::OK)
}
