//! The one exit-code table. README.md documents exactly these codes;
//! scripts and cron jobs depend on them, so they never change meaning.

use cairn_engine::ops::Outcome;
use cairn_engine::ErrorKind;

/// Success.
pub const OK: i32 = 0;
/// The command could not run: any error not listed below (I/O failure, a
/// repository too damaged to open, a missing snapshot, …).
pub const ERROR: i32 = 1;
/// Bad flag, argument or pattern (usage error).
pub const USAGE: i32 = 2;
/// Backup finished, but some files could not be read (snapshot is partial).
pub const PARTIAL: i32 = 3;
/// An audit (check, scrub, verify, drill) ran to the end and found damage.
pub const DAMAGE_FOUND: i32 = 4;
/// No repository at the given location.
pub const NO_REPOSITORY: i32 = 10;
/// The repository is locked by another process.
pub const LOCKED: i32 = 11;
/// Wrong password.
pub const WRONG_PASSWORD: i32 = 12;
/// The storage refused the credentials or permission (an S3 store's
/// "access denied", "invalid access key", "signature does not match").
pub const ACCESS_DENIED: i32 = 13;
/// An export lacks volumes the command needs (the message names them).
pub const VOLUMES_MISSING: i32 = 14;
/// A bug in cairn (an internal invariant failed); please report it.
pub const INTERNAL: i32 = 70;
/// Interrupted (SIGINT/SIGTERM).
pub const INTERRUPTED: i32 = 130;

/// Every code with its one-line meaning, in order. `cairn --help` prints
/// this table; README.md's "Exit codes" explains each code at length and
/// lists exactly these (a test checks both).
pub const TABLE: &[(i32, &str)] = &[
    (OK, "success"),
    (
        ERROR,
        "the command could not run (I/O, damaged repository, missing snapshot, ...)",
    ),
    (
        USAGE,
        "usage error: bad flag, argument, time, pattern or config; no repository",
    ),
    (
        PARTIAL,
        "backup completed, but some files could not be read (partial snapshot)",
    ),
    (
        DAMAGE_FOUND,
        "check, scrub, verify or drill ran to the end and found damage",
    ),
    (NO_REPOSITORY, "no repository at the given location"),
    (LOCKED, "the repository is locked by another process"),
    (WRONG_PASSWORD, "wrong password"),
    (
        ACCESS_DENIED,
        "the storage refused access (S3 credentials or permissions)",
    ),
    (
        VOLUMES_MISSING,
        "an export volume set lacks volumes the command needs",
    ),
    (INTERNAL, "internal error: a bug in cairn; please report it"),
    (
        INTERRUPTED,
        "interrupted (SIGINT/SIGTERM); the repository is consistent",
    ),
];

/// Map the outcome of an operation that ran to the end to its exit code.
pub fn for_outcome(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Success => OK,
        Outcome::Partial => PARTIAL,
        Outcome::DamageFound => DAMAGE_FOUND,
    }
}

/// Map an engine error kind to its exit code.
pub fn code_for(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::RepositoryNotFound => NO_REPOSITORY,
        ErrorKind::Locked => LOCKED,
        ErrorKind::WrongPassword => WRONG_PASSWORD,
        ErrorKind::AccessDenied => ACCESS_DENIED,
        ErrorKind::VolumesMissing => VOLUMES_MISSING,
        ErrorKind::Interrupted => INTERRUPTED,
        ErrorKind::InvalidInput => USAGE,
        ErrorKind::Internal => INTERNAL,
        _ => ERROR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_stable() {
        assert_eq!(code_for(ErrorKind::RepositoryNotFound), 10);
        assert_eq!(code_for(ErrorKind::Locked), 11);
        assert_eq!(code_for(ErrorKind::WrongPassword), 12);
        assert_eq!(code_for(ErrorKind::AccessDenied), 13);
        assert_eq!(code_for(ErrorKind::VolumesMissing), 14);
        assert_eq!(code_for(ErrorKind::Interrupted), 130);
        assert_eq!(code_for(ErrorKind::Corrupt), 1);
        assert_eq!(code_for(ErrorKind::NoSpace), 1);
        assert_eq!(code_for(ErrorKind::InvalidInput), 2);
        assert_eq!(code_for(ErrorKind::Internal), 70);
        assert_eq!(for_outcome(Outcome::Success), 0);
        assert_eq!(for_outcome(Outcome::Partial), 3);
        assert_eq!(for_outcome(Outcome::DamageFound), 4);
    }

    #[test]
    fn the_table_has_every_code_once_and_the_readme_lists_it() {
        let kinds = [
            ErrorKind::RepositoryNotFound,
            ErrorKind::Locked,
            ErrorKind::WrongPassword,
            ErrorKind::AccessDenied,
            ErrorKind::VolumesMissing,
            ErrorKind::Interrupted,
            ErrorKind::InvalidInput,
            ErrorKind::Internal,
            ErrorKind::Corrupt,
        ];
        let outcomes = [Outcome::Success, Outcome::Partial, Outcome::DamageFound];
        let codes: Vec<i32> = TABLE.iter().map(|(c, _)| *c).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(codes, sorted, "TABLE is in order, each code once");
        for k in kinds {
            assert!(codes.contains(&code_for(k)), "{k:?}");
        }
        for o in outcomes {
            assert!(codes.contains(&for_outcome(o)), "{o:?}");
        }
        // README.md's "### Exit codes" table: its first column is TABLE's.
        let readme = include_str!("../../README.md");
        let section = readme
            .split("### Exit codes")
            .nth(1)
            .and_then(|s| s.split("\n#").next())
            .unwrap();
        let listed: Vec<i32> = section
            .lines()
            .filter_map(|l| l.strip_prefix("| ")?.split(' ').next()?.parse().ok())
            .collect();
        assert_eq!(
            listed, codes,
            "README.md's exit codes differ from exit::TABLE"
        );
    }
}
