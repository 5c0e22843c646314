//! The config file exactly as written: serde structures that mirror the
//! TOML schema key for key (kebab-case), with the span of every value a
//! later check may refuse, so that error can name its line.
//!
//! Invariant: every table denies unknown keys, so a misspelt key
//! (`keep-dayly`) is an error at load time instead of a silently ignored
//! rule. Nothing here is interpreted; `check.rs` turns it into the typed
//! [`super::Profile`].

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// A string value and where it is.
pub type Str = Spanned<String>;

/// The whole file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct File {
    #[serde(default)]
    pub profiles: BTreeMap<String, Spanned<Profile>>,
}

/// `[profiles.NAME]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Profile {
    pub repository: Str,
    pub password_file: Option<Str>,
    pub password_command: Option<Str>,
    pub cache_dir: Option<Str>,
    pub s3: Option<S3>,
    #[serde(default)]
    pub sources: Vec<Spanned<Source>>,
    pub retention: Option<Spanned<Retention>>,
    pub copy: Option<Copy>,
    pub scrub: Option<Scrub>,
    pub drill: Option<Drill>,
    pub hooks: Option<Hooks>,
    pub schedule: Option<Spanned<Schedule>>,
}

/// `[profiles.NAME.s3]`: the settings the environment would give.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct S3 {
    pub endpoint: Option<Str>,
    pub region: Option<Str>,
    pub addressing: Option<Str>,
    pub retries: Option<Spanned<i64>>,
    pub connections: Option<Spanned<i64>>,
}

/// `[[profiles.NAME.sources]]`: exactly one of `paths`, `mongodb`,
/// `command`, with the options of that kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Source {
    pub paths: Option<Spanned<Vec<Str>>>,
    pub exclude: Option<Spanned<Vec<Str>>>,
    pub one_file_system: Option<Spanned<bool>>,
    pub mongodb: Option<Str>,
    pub db: Option<Spanned<Vec<Str>>>,
    pub collection: Option<Spanned<Vec<Str>>>,
    pub exclude_collection: Option<Spanned<Vec<Str>>>,
    pub consistency: Option<Str>,
    pub mongo_timeout: Option<Spanned<i64>>,
    pub command: Option<Spanned<Vec<Str>>>,
    pub stdin_name: Option<Str>,
    pub tags: Option<Spanned<Vec<Str>>>,
}

/// `[profiles.NAME.retention]`: `cairn forget`'s policy flags, plus the
/// prune options `forget --prune` takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Retention {
    pub keep_last: Option<Spanned<i64>>,
    pub keep_hourly: Option<Spanned<i64>>,
    pub keep_daily: Option<Spanned<i64>>,
    pub keep_weekly: Option<Spanned<i64>>,
    pub keep_monthly: Option<Spanned<i64>>,
    pub keep_quarterly: Option<Spanned<i64>>,
    pub keep_yearly: Option<Spanned<i64>>,
    pub keep_within: Option<Str>,
    pub keep_within_hourly: Option<Str>,
    pub keep_within_daily: Option<Str>,
    pub keep_within_weekly: Option<Str>,
    pub keep_within_monthly: Option<Str>,
    pub keep_within_quarterly: Option<Str>,
    pub keep_within_yearly: Option<Str>,
    pub keep_tag: Option<Spanned<Vec<Str>>>,
    pub group_by: Option<Str>,
    pub max_unused: Option<Str>,
    pub max_repack_size: Option<Str>,
}

/// `[profiles.NAME.copy]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Copy {
    pub to: Spanned<Vec<Str>>,
}

/// `[profiles.NAME.scrub]`: `cairn scrub`'s flags.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Scrub {
    pub subset: Option<Str>,
    pub stale: Option<Str>,
    pub max_duration: Option<Str>,
}

/// `[profiles.NAME.drill]`: `cairn drill`'s flags.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Drill {
    pub enabled: Option<bool>,
    pub tmp_dir: Option<Str>,
    pub to: Option<Str>,
    pub report: Option<Str>,
    pub mongo_timeout: Option<Spanned<i64>>,
}

/// `[profiles.NAME.hooks]`: argv arrays.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Hooks {
    pub before: Option<Spanned<Vec<Str>>>,
    pub after: Option<Spanned<Vec<Str>>>,
    pub on_failure: Option<Spanned<Vec<Str>>>,
}

/// `[profiles.NAME.schedule]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Schedule {
    pub on_calendar: Option<Str>,
    pub cron: Option<Str>,
}
