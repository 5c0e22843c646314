//! `cairn run PROFILE`: the nightly routine of a profile in one command,
//! what the old procedure spread over four cron scripts:
//!
//! 1. the `before` hook;
//! 2. a backup of every source (one snapshot each);
//! 3. `forget` by the retention policy, then `prune` — only when every
//!    backup succeeded completely (a failed or partial backup never costs
//!    an old snapshot), and only for this host's snapshots;
//! 4. `copy` to every target (each its own step);
//! 5. `scrub` of the configured subset — also after a failed copy;
//! 6. a `drill` of the latest snapshot, if enabled;
//! 7. the `after` hook (success) or the `on-failure` hook, each with the
//!    JSON report on standard input.
//!
//! Hooks and command sources run without a shell and without the secrets
//! of Cairn's environment (see [`steps::argv_command`]); a hook's
//! output goes to stderr, so `--json` keeps stdout for the report.
//!
//! One JSON report covers the run ([`report::RunReport`]); the exit code
//! is that of the first step that did not succeed, and stderr names it.

mod report;
pub(crate) mod steps;

use super::Ctx;
use crate::profile::{Config, Profile};
use report::{RunReport, Status, Step};
use std::io::Write;
use std::os::fd::AsFd;
use std::process::Stdio;

/// `cairn run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The profile (a `[profiles.NAME]` table of the config file).
    pub profile: String,
    /// Skip the drill even if the profile enables it.
    #[arg(long)]
    pub no_drill: bool,
}

/// Run a profile's routine.
pub fn run(ctx: &Ctx, a: &RunArgs) -> cairn_engine::Result<i32> {
    let config = Config::find_and_load(ctx.config.as_deref())?;
    let profile = config.profile(&a.profile)?.clone();
    let location = profile.location()?;
    let started = jiff::Timestamp::now();
    let clock = std::time::Instant::now();
    let mut report = RunReport {
        profile: profile.name.clone(),
        config: crate::output::esc_path(&config.path),
        repository: location.display(),
        ok: false,
        exit_code: 0,
        failed_step: None,
        started: started.to_string(),
        duration_secs: 0.0,
        steps: Vec::new(),
    };
    routine(ctx, &config, &profile, a, &mut report);
    report.duration_secs = clock.elapsed().as_secs_f64();
    report.conclude();
    // The hooks see the report of the routine itself.
    let hook = if report.ok {
        profile.hooks.after.as_ref().map(|h| ("after_hook", h))
    } else {
        profile
            .hooks
            .on_failure
            .as_ref()
            .map(|h| ("on_failure_hook", h))
    };
    if let Some((name, argv)) = hook {
        let doc = serde_json::to_vec(&report).unwrap_or_default();
        if let Err(e) = run_hook(argv, Some(&doc)) {
            report.steps.push(Step::failed(name, None, &e));
            report.conclude();
        } else {
            report.steps.push(Step::done(name, None, Status::Ok, ()));
        }
    }
    render(ctx, &report);
    Ok(report.exit_code)
}

/// Steps 1–6 (see the module docs); every outcome lands in `report`.
fn routine(ctx: &Ctx, config: &Config, profile: &Profile, a: &RunArgs, report: &mut RunReport) {
    if let Some(argv) = &profile.hooks.before {
        if let Err(e) = run_hook(argv, None) {
            report.steps.push(Step::failed("before_hook", None, &e));
            return;
        }
        report
            .steps
            .push(Step::done("before_hook", None, Status::Ok, ()));
    }
    let repo = match steps::open(ctx, profile, true) {
        Ok(r) => r,
        Err(e) => {
            report.steps.push(Step::failed("open", None, &e));
            return;
        }
    };
    for source in &profile.sources {
        report.steps.push(steps::backup(ctx, &repo, source));
    }
    if let Some(retention) = &profile.retention {
        if !report.all_ok("backup") {
            report.steps.push(Step::skipped(
                "forget",
                None,
                "a backup failed or was partial: every snapshot is kept until a run in which every backup succeeds",
            ));
        } else {
            report.steps.push(steps::forget(ctx, &repo, retention));
        }
    }
    for target in &profile.copy {
        report
            .steps
            .push(steps::copy(ctx, config, profile, &repo, target));
    }
    if let Some(scrub) = &profile.scrub {
        report.steps.push(steps::scrub(ctx, &repo, *scrub));
    }
    match &profile.drill {
        Some(d) if d.enabled && !a.no_drill => report.steps.push(steps::drill(ctx, &repo, d)),
        _ => {}
    }
}

/// Run a hook (argv, no shell), optionally with `stdin`; a non-zero exit
/// is an error that names the hook's program, never its output.
fn run_hook(argv: &[String], stdin: Option<&[u8]>) -> cairn_engine::Result<()> {
    let (mut cmd, shown) = steps::argv_command(argv, "a hook")?;
    // The hook's output goes to stderr: stdout carries the report.
    let to_stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null());
    let mut child = cmd
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(to_stderr)
        .spawn()
        .map_err(|e| cairn_engine::Error::io(format!("starting hook {shown}"), e))?;
    if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A hook that does not read its input is not an error.
        let _ = pipe.write_all(data);
    }
    let status = child
        .wait()
        .map_err(|e| cairn_engine::Error::io(format!("waiting for hook {shown}"), e))?;
    if status.success() {
        Ok(())
    } else {
        Err(cairn_engine::Error::new(
            cairn_engine::ErrorKind::Io,
            format!("hook {shown} failed ({status})"),
        ))
    }
}

/// The report as JSON, or a line per step; the failed step on stderr.
fn render(ctx: &Ctx, report: &RunReport) {
    if ctx.out.json {
        crate::output::print_report(report);
    } else {
        for s in &report.steps {
            let status = match s.status {
                Status::Ok => "ok",
                Status::Partial => "partial",
                Status::Damage => "damage found",
                Status::Failed => "FAILED",
                Status::Skipped => "skipped",
            };
            match &s.error {
                Some(e) => ctx.out.info(&format!(
                    "{}: {status}: {}",
                    s.name(),
                    crate::output::esc(e)
                )),
                None => ctx.out.info(&format!("{}: {status}", s.name())),
            }
        }
        ctx.out.info(&format!(
            "run {}: {} in {:.1}s",
            crate::output::esc(&report.profile),
            if report.ok { "ok" } else { "FAILED" },
            report.duration_secs
        ));
    }
    if let Some(step) = &report.failed_step {
        crate::errln!(
            "cairn: run {}: step {} did not succeed (exit {})",
            crate::output::esc(&report.profile),
            crate::output::esc(step),
            report.exit_code
        );
    }
}

/// The examples `cairn run --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # A profile's routine: backup, forget, prune, copy, scrub, drill
  cairn run nightly
  # Without the drill, with another config file
  cairn --config /etc/cairn/cairn.toml run nightly --no-drill";
