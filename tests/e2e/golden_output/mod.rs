//! Golden tests of what scripts and users see: the `--json` output of
//! every command (`json.rs`) and the text and exit code of every error
//! kind (`errors.rs`). A change to either is a visible diff in a file
//! under `tests/expect/`, to be read in review.
//!
//! Each test is one case: it sets up a repository (unrecorded), runs one
//! or a few commands through the real binary and records a transcript —
//! the command line, the exit code, stdout (JSON pretty-printed) and
//! stderr — which `cairn_tests::golden` normalises (IDs, recent times,
//! the scratch directory, stored sizes, durations, host and user) and
//! compares with `tests/expect/<case>.txt`.
//!
//! Bless workflow (see also `tests/expect/README.md`):
//!
//! ```text
//! CAIRN_BLESS=1 cargo nextest run -p cairn-tests -E 'test(/golden_output/)'
//! git diff tests/expect     # read every change: it is what users will see
//! ```
//!
//! Without `CAIRN_BLESS=1` a mismatch fails with a line diff. A new case
//! fails until it is blessed once. Times the tests choose are in 2001 and
//! stay visible; commands run with `TZ=UTC`.

mod browse;
mod errors;
mod json;

use cairn_tests::golden::{assert_golden, Normaliser};
use cairn_tests::Env;
use nix::sys::stat::{utimensat, UtimensatFlags};
use nix::sys::time::TimeSpec;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Snapshot times the cases pin (`--time`), oldest first.
pub const T1: &str = "2001-02-03T04:05:06Z";
pub const T2: &str = "2001-02-04T04:05:06Z";
pub const T3: &str = "2001-02-05T04:05:06Z";
/// The mtime of every file in [`Case::source`] (2001-02-03T04:05:06Z).
const SOURCE_MTIME: i64 = 981_173_106;

/// One golden case: a scratch repository and the transcript so far.
pub struct Case {
    pub env: Env,
    norm: Normaliser,
    transcript: String,
    /// Top-level JSON keys this case hides, with their placeholder.
    hidden: Vec<(&'static str, &'static str)>,
}

impl Case {
    /// A scratch area directly in `/tmp`, so the ancestors a backup
    /// records (and counts in `dirs`) are the same on every machine.
    pub fn new() -> Case {
        let dir = tempfile::Builder::new()
            .prefix("cairn-golden-")
            .tempdir_in("/tmp")
            .expect("tempdir");
        let pwfile = dir.path().join("password");
        fs::write(&pwfile, format!("{}\n", cairn_tests::PASSWORD)).expect("password");
        let env = Env {
            repo: dir.path().join("repo"),
            cache: dir.path().join("cache"),
            pwfile,
            dir,
            location: None,
            extra_env: Vec::new(),
        };
        let mut norm = Normaliser::new();
        norm.literal(env.dir.path().to_str().expect("utf8 tmp"), "<tmp>");
        Case {
            env,
            norm,
            transcript: String::new(),
            hidden: Vec::new(),
        }
    }

    /// With an initialised repository (cheap KDF).
    pub fn init() -> Case {
        Case::init_with(&[])
    }

    /// With a repository initialised with extra `init` flags.
    pub fn init_with(extra: &[&str]) -> Case {
        let mut c = Case::new();
        let mut args = vec!["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"];
        args.extend_from_slice(extra);
        c.setup(&args);
        c
    }

    /// A copy of the damaged repository `tests/fixtures/damaged/<name>`.
    pub fn fixture(name: &str) -> Case {
        let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut c = Case::new();
        cairn_tests::copy_dir(
            &tests.join("fixtures/damaged").join(name).join("repo"),
            &c.env.repo,
        );
        fs::copy(tests.join("golden/v1/password"), &c.env.pwfile).expect("password");
        c.norm.keep_identity();
        c
    }

    /// A path in the scratch area, as a string.
    pub fn path(&self, rel: &str) -> String {
        self.env.path(rel).to_str().expect("utf8 path").to_owned()
    }

    /// A `cairn` command for this repository, in UTC.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.env.cmd(args);
        c.env("TZ", "UTC");
        c
    }

    /// Run a setup step (not recorded); it must succeed. Returns stdout.
    pub fn setup(&mut self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("spawn cairn");
        cairn_tests::assert_success(&out, args);
        self.learn(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A setup backup of standard input (`--host golden`, time `time`);
    /// returns the snapshot ID.
    pub fn setup_stdin(&mut self, name: &str, data: &[u8], time: &str, extra: &[&str]) -> String {
        let mut args = vec![
            "--json",
            "backup",
            "--stdin",
            "--stdin-name",
            name,
            "--host",
            "golden",
            "--time",
            time,
        ];
        args.extend_from_slice(extra);
        let out = self.output_with_stdin(&args, data);
        cairn_tests::assert_success(&out, &args);
        self.learn(&out);
        let v = cairn_tests::stdout_json(&out);
        v["snapshot_id"].as_str().expect("snapshot_id").to_owned()
    }

    /// Run `args` with `data` on standard input.
    pub fn output_with_stdin(&self, args: &[&str], data: &[u8]) -> Output {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cairn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(data)
            .expect("feed stdin");
        child.wait_with_output().expect("wait")
    }

    /// A source tree with fixed content, modes and times: `docs/readme.txt`,
    /// `docs/empty`, an executable `run.sh` and a symlink `link`.
    pub fn source(&self) -> PathBuf {
        let src = self.env.path("src");
        fs::create_dir_all(src.join("docs")).expect("mkdir");
        for (rel, data, mode) in [
            ("docs/readme.txt", &b"hello, golden world\n"[..], 0o644),
            ("docs/empty", b"", 0o644),
            ("run.sh", b"#!/bin/sh\necho golden\n", 0o755),
        ] {
            fs::write(src.join(rel), data).expect("write");
            fs::set_permissions(src.join(rel), fs::Permissions::from_mode(mode)).expect("chmod");
        }
        std::os::unix::fs::symlink("docs/readme.txt", src.join("link")).expect("symlink");
        let t = TimeSpec::new(SOURCE_MTIME, 0);
        for p in [
            "docs/readme.txt",
            "docs/empty",
            "run.sh",
            "link",
            "docs",
            "",
        ] {
            let p = src.join(p);
            if p.is_dir() {
                fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).expect("chmod");
            }
            utimensat(None, &p, &t, &t, UtimensatFlags::NoFollowSymlink).expect("utimensat");
        }
        src
    }

    /// Remember the IDs in an output and in the repository, so that
    /// later abbreviations of them are recognised.
    fn learn(&mut self, out: &Output) {
        self.norm.learn_ids(&String::from_utf8_lossy(&out.stdout));
        self.norm.learn_ids(&String::from_utf8_lossy(&out.stderr));
        self.norm.learn_repository(&self.env.repo);
    }

    /// Show `text` as `placeholder` in this case's golden file.
    pub fn literal(&mut self, text: impl Into<String>, placeholder: &str) {
        self.norm.literal(text, placeholder);
    }

    /// Show the top-level `key` of every JSON document as `placeholder`:
    /// for a value that varies in this case only (say why where called).
    pub fn hide(&mut self, key: &'static str, placeholder: &'static str) {
        self.hidden.push((key, placeholder));
    }

    /// Run and record.
    pub fn record(&mut self, args: &[&str]) -> Output {
        let out = self.cmd(args).output().expect("spawn cairn");
        self.record_output(args, &out);
        out
    }

    /// Run with `data` on standard input, and record.
    pub fn record_stdin(&mut self, args: &[&str], data: &[u8]) -> Output {
        let out = self.output_with_stdin(args, data);
        self.record_output(args, &out);
        out
    }

    /// Record the output of a command run elsewhere as `cairn <args>`.
    pub fn record_output(&mut self, args: &[&str], out: &Output) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "cairn panicked: {stderr}");
        self.learn(out);
        let shown: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
        let code = out
            .status
            .code()
            .map_or_else(|| format!("killed by {:?}", out.status), |c| c.to_string());
        self.transcript
            .push_str(&format!("$ cairn {}\nexit: {code}\n", shown.join(" ")));
        let stdout = if args.contains(&"--json") {
            self.pretty_json(&out.stdout, args)
        } else {
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        self.section("stdout", &stdout);
        self.section("stderr", &stderr);
        self.transcript.push('\n');
    }

    /// Append a file the command wrote (e.g. a drill report).
    pub fn record_file(&mut self, path: &str) {
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let text = if path.ends_with(".json") {
            self.pretty_json(text.as_bytes(), &[path])
        } else {
            text
        };
        self.section(&format!("file {path}"), &text);
        self.transcript.push('\n');
    }

    fn section(&mut self, name: &str, body: &str) {
        if body.is_empty() {
            self.transcript.push_str(&format!("{name}: (none)\n"));
        } else {
            self.transcript.push_str(&format!("{name}:\n{body}"));
            if !body.ends_with('\n') {
                self.transcript.push_str("\n(no newline at end)\n");
            }
        }
    }

    /// Every JSON document in `bytes`, normalised and pretty-printed; in
    /// `--json` mode stdout must hold nothing else.
    fn pretty_json(&self, bytes: &[u8], what: &[&str]) -> String {
        let mut out = String::new();
        for v in serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>() {
            let mut v = v.unwrap_or_else(|e| {
                panic!(
                    "{what:?} printed something that is not JSON ({e}):\n{}",
                    String::from_utf8_lossy(bytes)
                )
            });
            self.norm.json(&mut v);
            for (key, placeholder) in &self.hidden {
                if let Some(x) = v.get_mut(*key) {
                    *x = serde_json::Value::String((*placeholder).to_owned());
                }
            }
            out.push_str(&serde_json::to_string_pretty(&v).expect("pretty"));
            out.push('\n');
        }
        out
    }

    /// Normalise the transcript and compare it with `tests/expect/<rel>`.
    pub fn finish(mut self, rel: &str) {
        self.norm.learn_repository(&self.env.repo);
        let text = self.norm.text(&self.transcript);
        assert_golden(rel, &text);
    }
}

/// `a` as a shell word: quoted when it holds anything but plain characters.
fn shell_word(a: &str) -> String {
    let plain = !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=+,<>@%".contains(&b));
    if plain {
        a.to_owned()
    } else {
        format!("'{}'", a.replace('\'', r"'\''"))
    }
}

/// A `backup --stdin` that has taken its lock and waits for input that
/// never comes (until the pipe is closed or the process signalled).
pub struct Waiting {
    pub child: Child,
    /// Its arguments, for the transcript.
    pub args: Vec<String>,
}

impl Waiting {
    /// Start it (`extra` flags at the end: global ones such as `--json`
    /// may go anywhere) and wait for its lock.
    pub fn start(case: &Case, extra: &[&str]) -> Waiting {
        let mut args = vec!["backup", "--stdin", "--host", "golden", "--time", T1];
        args.extend_from_slice(extra);
        let child = case
            .cmd(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn backup");
        case.env.wait_until_locked();
        Waiting {
            child,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Its process ID.
    pub fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Send `sig` and collect the output.
    pub fn signal(self, sig: nix::sys::signal::Signal) -> Output {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        nix::sys::signal::kill(pid, sig).expect("kill");
        self.child.wait_with_output().expect("wait")
    }

    /// Feed `data`, close standard input and collect the output.
    pub fn finish(mut self, data: &[u8]) -> Output {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin.write_all(data).expect("feed");
        drop(stdin);
        self.child.wait_with_output().expect("wait")
    }
}
