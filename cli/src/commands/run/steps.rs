//! The steps of `cairn run`, each a call of one engine operation with
//! what the profile says, returning a [`Step`] whatever happens: an error
//! ends the step, never the routine.

use super::report::{Status, Step};
use crate::commands::Ctx;
use crate::profile::{Config, CopyTarget, Drill, Profile, Retention, Source, SourceKind};
use cairn_engine::ops::backup::BackupOptions;
use cairn_engine::ops::scrub::ScrubOptions;
use cairn_engine::{Error, Repository, Result};
use std::io::Read;
use std::process::{Child, ChildStdout, Command, Stdio};

/// Open the profile's repository with its password source. For the
/// profile being run (`env_wins`) a password in the environment wins, as
/// for every command; a copy target's profile always uses its own.
pub fn open(ctx: &Ctx, profile: &Profile, env_wins: bool) -> Result<Repository> {
    let location = profile.location()?;
    let password = match env_wins && crate::password::in_env() {
        true => None,
        false => profile.password.as_ref(),
    };
    ctx.open_at(&location, password, cache_dir(ctx, profile))
}

/// --cache-dir and CAIRN_CACHE_DIR win over the profile's cache-dir.
fn cache_dir<'a>(ctx: &'a Ctx, profile: &'a Profile) -> Option<&'a std::path::Path> {
    ctx.cache_dir.as_deref().or(profile.cache_dir.as_deref())
}

/// Variables that hold secrets of Cairn's own (the repository password,
/// S3 keys, the MongoDB password): hooks and command sources never see
/// them. Files and commands that merely name a secret stay visible.
const SECRETS: &[&str] = &[
    "CAIRN_PASSWORD",
    "CAIRN_MONGODB_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The command for `argv` (run without a shell, without [`SECRETS`] in
/// its environment), and its program as shown in messages; `what` names
/// it when `argv` is empty.
pub fn argv_command(argv: &[String], what: &str) -> Result<(Command, String)> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| Error::invalid(format!("{what} needs a command")))?;
    let mut cmd = Command::new(prog);
    cmd.args(args);
    for k in SECRETS {
        cmd.env_remove(k);
    }
    Ok((cmd, crate::output::esc(prog).into_owned()))
}

/// Back up one source into a new snapshot.
pub fn backup(ctx: &Ctx, repo: &Repository, source: &Source) -> Step {
    let label = source.label();
    let progress = ctx.out.progress("backup");
    let result = backup_source(repo, source, &progress);
    progress.finish();
    match result {
        Ok(summary) => {
            let status = if summary.partial {
                Status::Partial
            } else {
                Status::Ok
            };
            Step::done("backup", Some(label), status, &summary)
        }
        Err(e) => Step::failed("backup", Some(label), &e),
    }
}

fn backup_source(
    repo: &Repository,
    source: &Source,
    progress: &dyn cairn_engine::Progress,
) -> Result<cairn_engine::BackupSummary> {
    let mut opts = BackupOptions {
        tags: source.tags.clone(),
        ..BackupOptions::default()
    };
    match &source.kind {
        SourceKind::Paths {
            paths,
            excludes,
            one_file_system,
        } => {
            opts.paths = paths.clone();
            opts.files.excludes = excludes.clone();
            opts.files.one_file_system = *one_file_system;
            cairn_engine::backup(repo, &opts, progress)
        }
        SourceKind::MongoDb {
            uri,
            dbs,
            collections,
            exclude_collections,
            consistency,
            timeout_secs,
        } => {
            let dump = cairn_engine::source::mongodb::DumpOptions {
                connect: crate::commands::mongo_args::connect(uri, *timeout_secs)?,
                dbs: dbs.clone(),
                collections: collections.clone(),
                exclude_collections: exclude_collections.clone(),
                consistency: *consistency,
            };
            cairn_engine::ops::backup::backup_mongodb(repo, &dump, &opts, progress)
        }
        SourceKind::Command { argv, stdin_name } => {
            let out = CommandOutput::start(argv)?;
            cairn_engine::backup_stdin(repo, stdin_name, out, &opts, progress)
        }
    }
}

/// A command's standard output that fails at its end if the command
/// failed: the backup of a failed export then writes no snapshot (as
/// restic's `--stdin-from-command`).
struct CommandOutput {
    child: Child,
    stdout: ChildStdout,
    shown: String,
    done: bool,
}

impl CommandOutput {
    fn start(argv: &[String]) -> Result<CommandOutput> {
        let (mut cmd, shown) = argv_command(argv, "a command source")?;
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io(format!("starting {shown}"), e))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| Error::internal("a piped child has no stdout"))?;
        Ok(CommandOutput {
            child,
            stdout,
            shown,
            done: false,
        })
    }
}

impl Read for CommandOutput {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stdout.read(buf)?;
        if n == 0 && !buf.is_empty() && !self.done {
            self.done = true;
            let status = self.child.wait()?;
            if !status.success() {
                return Err(std::io::Error::other(Error::new(
                    cairn_engine::ErrorKind::Io,
                    format!("{} failed ({status}); no snapshot was written", self.shown),
                )));
            }
        }
        Ok(n)
    }
}

impl Drop for CommandOutput {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Forget this host's snapshots by the policy, then prune.
pub fn forget(ctx: &Ctx, repo: &Repository, r: &Retention) -> Step {
    // The host name backups record, so this host's snapshots match.
    let host = cairn_engine::this_host();
    let result = cairn_engine::SnapshotFilter::new(&[host], &[], &[]).and_then(|filter| {
        let opts = cairn_engine::ops::forget::ForgetOptions {
            snapshots: Vec::new(),
            filter,
            group_by: r.group_by,
            policy: r.policy.clone(),
            dry_run: false,
            prune: Some(r.prune.clone()),
        };
        let progress = ctx.out.progress("prune");
        let result = cairn_engine::ops::forget::forget(repo, &opts, &progress);
        progress.finish();
        result
    });
    match result {
        Ok(rep) => Step::done("forget", None, Status::Ok, &rep),
        Err(e) => Step::failed("forget", None, &e),
    }
}

/// A profile's copy target, named for reports, and opened: another
/// profile with its own password and settings, or a location with this
/// profile's password and `[s3]` settings.
pub fn open_target(
    ctx: &Ctx,
    config: &Config,
    profile: &Profile,
    target: &CopyTarget,
) -> (String, Result<Repository>) {
    match target {
        CopyTarget::Profile(name) => (
            format!("profile {name}"),
            config.profile(name).and_then(|p| open(ctx, p, false)),
        ),
        CopyTarget::Location(raw) => {
            let label =
                crate::output::esc_bytes(std::os::unix::ffi::OsStrExt::as_bytes(raw.as_os_str()));
            let dst = profile
                .s3_settings()
                .and_then(|s3| crate::location::Location::parse_with(raw, &s3))
                .and_then(|loc| {
                    ctx.open_at(&loc, profile.password.as_ref(), cache_dir(ctx, profile))
                });
            (label, dst)
        }
    }
}

/// Copy every snapshot to one target (those it has are skipped).
pub fn copy(
    ctx: &Ctx,
    config: &Config,
    profile: &Profile,
    repo: &Repository,
    target: &CopyTarget,
) -> Step {
    let (label, dst) = open_target(ctx, config, profile, target);
    let result = dst.and_then(|dst| {
        let ids: Vec<_> = repo.snapshots()?.into_iter().map(|(id, _)| id).collect();
        let progress = ctx.out.progress("copy");
        let r = cairn_engine::ops::copy::copy(repo, &dst, &ids, &progress);
        progress.finish();
        r
    });
    match result {
        Ok(r) => Step::done("copy", Some(label), Status::Ok, &r),
        Err(e) => Step::failed("copy", Some(label), &e),
    }
}

/// Scrub the configured subset.
pub fn scrub(ctx: &Ctx, repo: &Repository, opts: ScrubOptions) -> Step {
    let progress = ctx.out.progress("scrub");
    let result = cairn_engine::ops::scrub::scrub_run(repo, opts, false, None, &progress);
    progress.finish();
    match result {
        Ok(run) => {
            let status = match run.outcome() {
                cairn_engine::ops::Outcome::DamageFound => Status::Damage,
                _ => Status::Ok,
            };
            Step::done("scrub", None, status, &run)
        }
        Err(e) => Step::failed("scrub", None, &e),
    }
}

/// Drill the latest snapshot of this repository.
pub fn drill(ctx: &Ctx, repo: &Repository, d: &Drill) -> Step {
    let prepared = repo.find_snapshot("latest").and_then(|(id, snap)| {
        let target = match &d.to {
            Some(uri) => cairn_engine::ops::drill::DrillTarget::MongoDb(
                crate::commands::mongo_args::connect(uri, d.mongo_timeout_secs)?,
            ),
            None => cairn_engine::ops::drill::DrillTarget::Directory(
                d.tmp_dir.clone().unwrap_or_else(std::env::temp_dir),
            ),
        };
        Ok((id, snap, target))
    });
    let (id, snap, target) = match prepared {
        Ok(p) => p,
        Err(e) => return Step::failed("drill", None, &e),
    };
    let progress = ctx.out.progress("drill");
    let record = cairn_engine::ops::drill::drill(repo, &id, &snap, &target, &progress);
    progress.finish();
    if let Some(path) = &d.report {
        let text = serde_json::to_vec_pretty(&record).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            return Step::failed(
                "drill",
                None,
                &Error::io(format!("writing the drill report {}", path.display()), e),
            );
        }
    }
    match &record.result {
        Err(e) => Step::failed("drill", None, e),
        Ok(r) if !r.mismatches.is_empty() => Step::done("drill", None, Status::Damage, &record),
        Ok(_) => Step::done("drill", None, Status::Ok, &record),
    }
}
