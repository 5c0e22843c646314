//! Profiles: named bundles of everything a nightly routine needs (the
//! repository, where its password comes from, S3 settings, what to back
//! up, retention, copy targets, scrub and drill settings, hooks and a
//! schedule), read from a TOML config file.
//!
//! The file is `--config FILE`, else `$XDG_CONFIG_HOME/cairn/cairn.toml`
//! (`~/.config` when unset), else `/etc/cairn/cairn.toml`. `--profile NAME`
//! lends a profile's repository, password source, cache directory and S3
//! settings to any command where no flag or environment variable gives
//! them; `cairn run` and `cairn schedule` use the whole profile.
//!
//! Invariants:
//! * a [`Config`] is validated in full when loaded: every value is parsed
//!   by the same code as the flag it mirrors (`forget`'s retention flags,
//!   `scrub --subset`, `backup --exclude`, `-r`), so a profile means what
//!   the same flags mean, and a bad value fails at load time with the file,
//!   line and key named (exit 2), not at 3 a.m. in the middle of a run;
//! * unknown keys are errors (a misspelt rule is never silently ignored);
//! * a config holds no password: only a password file's path or a command
//!   that prints it, and no error message quotes a value.

mod check;
mod place;
mod raw;
pub mod schedule;
mod sections;
#[cfg(test)]
mod tests;

use crate::location::{Location, S3Settings};
use crate::password;
use cairn_engine::ops::forget::GroupBy;
use cairn_engine::ops::prune::PruneOptions;
use cairn_engine::ops::retention::Policy;
use cairn_engine::ops::scrub::ScrubOptions;
use cairn_engine::source::mongodb::Consistency;
use cairn_engine::{Error, Result};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub use schedule::Schedule;

/// A config file is at most this large (it is a few dozen lines).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// A loaded and validated config file.
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from, as given or found.
    pub path: PathBuf,
    /// Its profiles by name (names are `[A-Za-z0-9_-]`, at most 64).
    pub profiles: BTreeMap<String, Profile>,
}

/// One `[profiles.NAME]` table.
#[derive(Clone, Debug)]
pub struct Profile {
    /// Its name.
    pub name: String,
    /// The repository as written (a local path is absolute); parse it
    /// with [`Profile::location`], which applies the `[s3]` table.
    pub repository: OsString,
    /// `password-file` or `password-command`, if either is given.
    pub password: Option<password::Source>,
    /// `cache-dir` (absolute).
    pub cache_dir: Option<PathBuf>,
    /// The `[s3]` table alone (unset keys are `None`); it wins over the
    /// environment: see [`Profile::s3_settings`].
    pub s3: S3Settings,
    /// `[[sources]]`, in file order: one snapshot each.
    pub sources: Vec<Source>,
    /// `[retention]`, if given (it always holds at least one rule).
    pub retention: Option<Retention>,
    /// `[copy] to`, in file order.
    pub copy: Vec<CopyTarget>,
    /// `[scrub]`, if given.
    pub scrub: Option<ScrubOptions>,
    /// `[drill]`, if given.
    pub drill: Option<Drill>,
    /// `[hooks]`.
    pub hooks: Hooks,
    /// `[schedule]`, if given.
    pub schedule: Option<Schedule>,
}

/// What one backup source takes, and the tags of its snapshots.
#[derive(Clone, Debug)]
pub struct Source {
    /// What to read.
    pub kind: SourceKind,
    /// `tags` (checked as `backup --tag` checks them).
    pub tags: Vec<String>,
}

/// The three kinds of source, as `cairn backup` takes them.
#[derive(Clone, Debug)]
pub enum SourceKind {
    /// `paths` (absolute), as `backup PATH... --exclude GLOB`.
    Paths {
        /// What to back up.
        paths: Vec<PathBuf>,
        /// `exclude` patterns (already checked to compile).
        excludes: Vec<String>,
        /// `one-file-system`.
        one_file_system: bool,
    },
    /// `mongodb`, as `backup mongodb://... --db --collection ...`. The
    /// server's password comes from `CAIRN_MONGODB_PASSWORD_FILE`,
    /// `CAIRN_MONGODB_PASSWORD` or the URI (see `commands::mongo_args`).
    MongoDb {
        /// The URI (may hold a password: show it with `mask_uri`).
        uri: String,
        /// `db`.
        dbs: Vec<String>,
        /// `collection`.
        collections: Vec<String>,
        /// `exclude-collection`.
        exclude_collections: Vec<String>,
        /// `consistency` (default auto).
        consistency: Consistency,
        /// `mongo-timeout` in seconds (default 10).
        timeout_secs: u64,
    },
    /// `command`: its standard output, as `backup --stdin --stdin-name`.
    Command {
        /// The argv, run without a shell (argv[0] looked up in PATH).
        argv: Vec<String>,
        /// `stdin-name` (default `stdin`): the file name in the snapshot.
        stdin_name: String,
    },
}

impl Source {
    /// A one-line description for reports and errors; a MongoDB URI is
    /// shown without its password.
    pub fn label(&self) -> String {
        match &self.kind {
            SourceKind::Paths { paths, .. } => paths
                .iter()
                .map(|p| crate::output::esc_path(p))
                .collect::<Vec<_>>()
                .join(" "),
            SourceKind::MongoDb { uri, .. } => cairn_engine::source::mongodb::mask_uri(uri),
            SourceKind::Command { argv, stdin_name } => format!(
                "command {} > {}",
                crate::output::esc(argv.first().map_or("", String::as_str)),
                crate::output::esc(stdin_name)
            ),
        }
    }
}

/// `[retention]`: `cairn forget`'s policy, grouping and prune options.
#[derive(Clone, Debug)]
pub struct Retention {
    /// The keep rules (never empty).
    pub policy: Policy,
    /// `group-by` (default `host,paths`).
    pub group_by: GroupBy,
    /// `max-unused`, `max-repack-size` (defaults as `cairn prune`);
    /// `dry_run` is false.
    pub prune: PruneOptions,
}

/// One `[copy] to` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CopyTarget {
    /// Another profile of the same file (checked to exist and to differ
    /// from this one): its repository, password and S3 settings.
    Profile(String),
    /// A repository location (absolute path, `local:`, `s3:`), opened with
    /// this profile's password source and `[s3]` settings.
    Location(OsString),
}

/// `[drill]`: `cairn drill`'s options.
#[derive(Clone, Debug)]
pub struct Drill {
    /// `enabled` (default true once the table is present).
    pub enabled: bool,
    /// `tmp-dir` (absolute): where file snapshots are restored.
    pub tmp_dir: Option<PathBuf>,
    /// `to`: a `mongodb://` server for MongoDB snapshots.
    pub to: Option<String>,
    /// `report` (absolute): also write the JSON report here.
    pub report: Option<PathBuf>,
    /// `mongo-timeout` in seconds (default 10).
    pub mongo_timeout_secs: u64,
}

/// `[hooks]`: argv arrays run without a shell (each checked non-empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hooks {
    /// Before the routine.
    pub before: Option<Vec<String>>,
    /// After it succeeded.
    pub after: Option<Vec<String>>,
    /// After it failed (the JSON report on standard input).
    pub on_failure: Option<Vec<String>>,
}

impl Config {
    /// Where Cairn looks for a config when `--config` is not given, in
    /// order: `$XDG_CONFIG_HOME/cairn/cairn.toml` (`$HOME/.config` when
    /// unset or relative), then `/etc/cairn/cairn.toml`.
    pub fn search_path() -> Vec<PathBuf> {
        let var = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let user = var("XDG_CONFIG_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| var("HOME").map(|h| h.join(".config")));
        user.map(|d| d.join("cairn").join("cairn.toml"))
            .into_iter()
            .chain([PathBuf::from("/etc/cairn/cairn.toml")])
            .collect()
    }

    /// `explicit` (`--config`), which must exist, else the first file of
    /// [`Config::search_path`] that exists. Finding none is a usage
    /// error naming the places looked at.
    pub fn locate(explicit: Option<&Path>) -> Result<PathBuf> {
        if let Some(p) = explicit {
            return match std::fs::metadata(p) {
                Ok(_) => Ok(p.to_owned()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::invalid(format!(
                    "config file {} does not exist",
                    crate::output::esc_path(p)
                ))),
                Err(e) => Err(Error::io(format!("config file {}", p.display()), e)),
            };
        }
        let places = Self::search_path();
        places
            .iter()
            .find(|p| std::fs::symlink_metadata(p).is_ok())
            .cloned()
            .ok_or_else(|| {
                let shown: Vec<String> =
                    places.iter().map(|p| crate::output::esc_path(p)).collect();
                Error::invalid(format!(
                    "no config file: give --config FILE, or write {}",
                    shown.join(" or ")
                ))
            })
    }

    /// [`Config::locate`], then [`Config::load`].
    pub fn find_and_load(explicit: Option<&Path>) -> Result<Config> {
        Self::load(&Self::locate(explicit)?)
    }

    /// Read and validate a config file (at most [`MAX_CONFIG_BYTES`]).
    /// An invalid file is an `InvalidInput` error (exit 2) naming the
    /// file, line and key.
    pub fn load(path: &Path) -> Result<Config> {
        use std::io::Read;
        let f = std::fs::File::open(path)
            .map_err(|e| Error::io(format!("opening config file {}", path.display()), e))?;
        let mut bytes = Vec::new();
        f.take(MAX_CONFIG_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(format!("reading config file {}", path.display()), e))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(Error::invalid(format!(
                "config file {} is larger than {} bytes",
                crate::output::esc_path(path),
                MAX_CONFIG_BYTES
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let doc = place::Doc { path, text: "" };
            let at = e.utf8_error().valid_up_to();
            let prefix =
                std::str::from_utf8(e.as_bytes().get(..at).unwrap_or_default()).unwrap_or("");
            let line = place::line_of(prefix, at);
            doc.error(
                None,
                &format!("line {line}: not UTF-8 text (TOML files are UTF-8)"),
            )
        })?;
        Self::parse(path, &text)
    }

    /// Validate `text` as the contents of `path` (which is only named).
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        check::config(&place::Doc { path, text })
    }

    /// The profile called `name`; an unknown name is a usage error that
    /// lists the profiles there are.
    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = BTreeMap::keys(&self.profiles).map(String::as_str).collect();
            Error::invalid(format!(
                "no profile '{}' in {} (profiles: {})",
                crate::output::esc(name),
                crate::output::esc_path(&self.path),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })
    }
}

impl Profile {
    /// The S3 settings for this profile's locations: the environment's,
    /// with every key of the `[s3]` table winning over it.
    pub fn s3_settings(&self) -> Result<S3Settings> {
        Ok(S3Settings::from_env()?.overlaid(&self.s3))
    }

    /// The repository's location (with [`Profile::s3_settings`]).
    pub fn location(&self) -> Result<Location> {
        Location::parse_with(&self.repository, &self.s3_settings()?)
    }
}

/// What `--config` / `--profile` lend a command: the profile, when
/// `--profile` is given. With `--config` alone the file is still loaded,
/// so a broken config is reported whichever command names it.
pub fn selected(config: Option<&Path>, profile: Option<&str>) -> Result<Option<Profile>> {
    match (config, profile) {
        (None, None) => Ok(None),
        (Some(path), None) => Config::find_and_load(Some(path)).map(|_| None),
        (_, Some(name)) => {
            let c = Config::find_and_load(config)
                .map_err(|e| e.context(format!("--profile {}", crate::output::esc(name))))?;
            c.profile(name).cloned().map(Some)
        }
    }
}
