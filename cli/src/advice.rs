//! How the CLI words an engine [`Remedy`]: the engine names what helps,
//! this table says it in the commands of this binary. One place, so the
//! advice stays in step with the command names.

use cairn_engine::ops::Finding;
use cairn_engine::{Error, Remedy};
use std::borrow::Cow;

/// The advice for `remedy`, as the end of an error sentence.
pub fn wording(remedy: Remedy) -> Cow<'static, str> {
    Cow::Borrowed(match remedy {
        Remedy::RestoreOrForget(id) => {
            return Cow::Owned(format!(
                "restore the file from a copy of the repository, or remove the snapshot: `cairn forget {}`",
                id.to_hex()
            ))
        }
        Remedy::RestorePackOrForget(id) => {
            return Cow::Owned(format!(
                "restore the lost pack from a copy of the repository (`cairn scrub --repair --from DIR`), or remove the snapshot: `cairn forget {}`",
                id.to_hex()
            ))
        }
        Remedy::ScrubRepair => {
            "run `cairn scrub --repair` (it rebuilds the pack from parity, or with --from DIR from a copy of the repository)"
        }
        Remedy::ScrubRepairThenRepairSnapshots => {
            "run `cairn scrub --repair` (parity, or --from a copy of the repository); if that cannot help, `cairn repair snapshots` keeps the rest"
        }
        Remedy::RestorePackFromCopy => {
            "restore it from a copy of the repository (`cairn scrub --repair --from DIR` copies it); without a copy its data is lost: follow the advice given for each snapshot"
        }
        Remedy::RestorePacksOrRepairSnapshots => {
            "restore the missing packs from a copy of the repository (`cairn scrub --repair --from DIR`), or run `cairn repair snapshots` to make it restorable minus the lost files"
        }
        Remedy::Init => "run `cairn init` to create one",
        Remedy::WaitOrUnlock => {
            "wait for it to finish, or run `cairn unlock` if that process is gone"
        }
        Remedy::Unlock => "run `cairn unlock` after checking no cairn process is running",
        Remedy::Retry => "run the command again",
        Remedy::Check => "run `cairn check`",
        Remedy::RepairIndex => {
            "run `cairn repair index`, which rebuilds the index from the pack trailers"
        }
        Remedy::RepairSnapshots => {
            "restore the file from a copy of the repository, or run `cairn repair snapshots`"
        }
        Remedy::PruneThenRetry => "run `cairn prune`, which removes unreadable plans, then retry",
        Remedy::ListSnapshots => "see `cairn snapshots`",
        Remedy::Unprotect => "`cairn tag --unprotect` it first",
        _ => "",
    })
}

/// A finding as the user reads it: the problem, then the advice.
pub fn finding(f: &Finding) -> String {
    match f.remedy.map(wording) {
        Some(w) if !w.is_empty() => format!("{}; {w}", f.problem),
        _ => f.problem.clone(),
    }
}

/// The error as the user reads it: the engine's message, then the advice.
pub fn message(e: &Error) -> String {
    match e.remedy().map(wording) {
        Some(w) if !w.is_empty() => format!("{e}; {w}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_remedy_is_worded_with_a_command_or_an_instruction() {
        for r in [
            Remedy::Init,
            Remedy::WaitOrUnlock,
            Remedy::Unlock,
            Remedy::Retry,
            Remedy::Check,
            Remedy::RepairIndex,
            Remedy::RepairSnapshots,
            Remedy::PruneThenRetry,
            Remedy::ListSnapshots,
            Remedy::ScrubRepair,
            Remedy::ScrubRepairThenRepairSnapshots,
            Remedy::RestorePackFromCopy,
            Remedy::RestorePacksOrRepairSnapshots,
            Remedy::RestoreOrForget(cairn_engine::SnapshotId([7; 32])),
            Remedy::RestorePackOrForget(cairn_engine::SnapshotId([7; 32])),
            Remedy::Unprotect,
        ] {
            assert!(!wording(r).is_empty(), "{r:?}");
        }
        let e = Error::new(cairn_engine::ErrorKind::Locked, "locked").with_remedy(Remedy::Retry);
        assert_eq!(message(&e), "locked; run the command again");
    }
}
