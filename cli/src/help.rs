//! What `cairn --help` says beyond the flags: the exit codes (rendered
//! from [`crate::exit::TABLE`], never retyped), the environment variables,
//! and the top-level examples. Each command's own examples live in its
//! module (`EXAMPLES`) and are attached in `args.rs`.
//!
//! Invariants, checked by the tests below: every example of every command
//! parses with the real flag definitions, every command has a description
//! and examples, and every `CAIRN_*` variable the CLI reads is listed here.

use std::fmt::Write as _;

/// The end of `cairn -h` (short help): where the rest is.
pub const AFTER_HELP: &str = "\
Run `cairn COMMAND --help` for a command's options and examples, and
`cairn --help` for the exit codes and environment variables.";

/// Environment variables the CLI reads, with their meaning. A flag beats
/// its variable; an empty variable counts as unset.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("CAIRN_REPOSITORY", "repository location (-r)"),
    (
        "CAIRN_REPOSITORY_FILE",
        "file holding the repository location (--repository-file)",
    ),
    (
        "CAIRN_PASSWORD_FILE",
        "file holding the password (--password-file)",
    ),
    (
        "CAIRN_PASSWORD_COMMAND",
        "command printing the password (--password-command)",
    ),
    (
        "CAIRN_PASSWORD",
        "the password itself: less safe than a file or a command",
    ),
    ("CAIRN_CACHE_DIR", "local index cache (--cache-dir)"),
    (
        "CAIRN_PROGRESS_FPS",
        "backup --json: status lines a second [1], as RESTIC_PROGRESS_FPS",
    ),
    (
        "CAIRN_FROM_PASSWORD_FILE",
        "init --copy-chunker-params-from: that one's password file",
    ),
    (
        "CAIRN_TO_PASSWORD_FILE",
        "copy, import: the destination's password file",
    ),
    (
        "CAIRN_MONGODB_PASSWORD_FILE",
        "file holding the MongoDB password",
    ),
    ("CAIRN_MONGODB_PASSWORD", "the MongoDB password itself"),
    (
        "AWS_ACCESS_KEY_ID",
        "S3 key, with AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)",
    ),
    (
        "AWS_SHARED_CREDENTIALS_FILE",
        "S3 credentials file, profile AWS_PROFILE [~/.aws/credentials]",
    ),
    ("AWS_ENDPOINT_URL", "S3 endpoint for s3://BUCKET/PREFIX"),
    (
        "AWS_REGION",
        "S3 region (then AWS_DEFAULT_REGION) [default: us-east-1]",
    ),
    (
        "CAIRN_S3_ADDRESSING",
        "S3 addressing: path (default) or virtual",
    ),
    (
        "CAIRN_S3_RETRIES",
        "retries of a transient S3 failure [default: 8]",
    ),
    (
        "CAIRN_S3_CONNECTIONS",
        "S3 requests in flight [default: 16]",
    ),
    (
        "XDG_CONFIG_HOME",
        "profiles: $XDG_CONFIG_HOME/cairn/cairn.toml [~/.config]",
    ),
    (
        "XDG_CACHE_HOME",
        "cache: $XDG_CACHE_HOME/cairn without --cache-dir [~/.cache]",
    ),
];

/// Examples for `cairn --help`.
const EXAMPLES: &str = "\
Examples:
  # Where the repository is, and the file holding its password
  export CAIRN_REPOSITORY=/backup/repo CAIRN_PASSWORD_FILE=/root/.cairn-password
  cairn init
  cairn backup /srv /etc --tag nightly
  cairn snapshots
  cairn restore latest --target /tmp/restore --include /etc/nginx";

/// The end of `cairn --help`: examples, exit codes, environment.
pub fn after_long_help() -> String {
    let mut s = String::from(EXAMPLES);
    s.push_str("\n\nExit codes:\n");
    for (code, meaning) in crate::exit::TABLE {
        let _ = writeln!(s, "  {code:>3}  {meaning}");
    }
    s.push_str("\nEnvironment:\n");
    let width = ENVIRONMENT.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, meaning) in ENVIRONMENT {
        let _ = writeln!(s, "  {name:<width$}  {meaning}");
    }
    s.push_str(
        "\nSee README.md for the full exit-code table and docs/json.md for the --json output.",
    );
    s
}

#[cfg(test)]
#[path = "help_tests.rs"]
mod tests;
