//! The one JSON report of `cairn run`, and how its steps become an exit
//! code: each step has a status; the first step that did not succeed
//! names the exit code and is reported on stderr.

use serde::Serialize;

/// How one step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// It did what it should.
    Ok,
    /// A backup that could not read everything (exit 3).
    Partial,
    /// An audit (scrub, drill) that found damage (exit 4).
    Damage,
    /// It could not run or failed (its error's exit code).
    Failed,
    /// Not run, because an earlier step failed and running it would not
    /// be safe (see `reason`).
    Skipped,
}

/// One step of the routine.
#[derive(Debug, Serialize)]
pub struct Step {
    /// `before_hook`, `backup`, `forget`, `copy`, `scrub`, `drill`,
    /// `after_hook`, `on_failure_hook`.
    pub step: &'static str,
    /// What it worked on (a source, a copy target), when there are several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// How it ended.
    pub status: Status,
    /// The exit code this step alone would have had.
    pub exit_code: i32,
    /// Its own report (what the single command prints with `--json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
    /// Why it failed, or why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Step {
    /// A step that ran to the end with `status` and `report`.
    pub fn done(
        step: &'static str,
        target: Option<String>,
        status: Status,
        report: impl Serialize,
    ) -> Step {
        let exit_code = match status {
            Status::Ok | Status::Skipped => crate::exit::OK,
            Status::Partial => crate::exit::PARTIAL,
            Status::Damage => crate::exit::DAMAGE_FOUND,
            Status::Failed => crate::exit::ERROR,
        };
        Step {
            step,
            target,
            status,
            exit_code,
            report: serde_json::to_value(report).ok(),
            error: None,
        }
    }

    /// A step that failed with `e`.
    pub fn failed(step: &'static str, target: Option<String>, e: &cairn_engine::Error) -> Step {
        Step {
            step,
            target,
            status: Status::Failed,
            exit_code: crate::exit::code_for(e.kind()),
            report: None,
            error: Some(crate::advice::message(e)),
        }
    }

    /// A step not run, and why.
    pub fn skipped(step: &'static str, target: Option<String>, why: &str) -> Step {
        Step {
            step,
            target,
            status: Status::Skipped,
            exit_code: crate::exit::OK,
            report: None,
            error: Some(why.to_owned()),
        }
    }

    /// `backup (/srv)` or `scrub`: how the step is named in messages.
    pub fn name(&self) -> String {
        match &self.target {
            Some(t) => format!("{} ({t})", self.step),
            None => self.step.to_owned(),
        }
    }
}

/// The whole routine's report: the `--json` document of `cairn run`, and
/// what the hooks get on standard input.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The profile run.
    pub profile: String,
    /// The config file it came from.
    pub config: String,
    /// The repository.
    pub repository: String,
    /// Every step went well.
    pub ok: bool,
    /// The routine's exit code: that of the first step that did not
    /// succeed, 0 if none.
    pub exit_code: i32,
    /// That step's name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_step: Option<String>,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// Wall-clock seconds.
    pub duration_secs: f64,
    /// The steps in the order they ran.
    pub steps: Vec<Step>,
}

impl RunReport {
    /// Set `ok`, `exit_code` and `failed_step` from the steps.
    pub fn conclude(&mut self) {
        let first = self
            .steps
            .iter()
            .find(|s| !matches!(s.status, Status::Ok | Status::Skipped));
        self.ok = first.is_none();
        self.exit_code = first.map_or(crate::exit::OK, |s| s.exit_code);
        self.failed_step = first.map(Step::name);
    }

    /// Did every step called `step` so far end `ok`?
    pub fn all_ok(&self, step: &str) -> bool {
        self.steps
            .iter()
            .filter(|s| s.step == step)
            .all(|s| s.status == Status::Ok)
    }
}
