//! Helpers for the end-to-end tests: run the real `cairn` binary against a
//! throw-away repository, build source trees, compare restored trees.

mod export_vectors;
mod files;
pub mod forge;
pub mod golden;
pub mod mongo;
pub mod s3;
mod tree;
pub mod vectors;
mod vectors_fields;
pub mod vectors_negative;
mod vectors_negative_objects;
mod vectors_objects;

pub use files::{copy_dir, fingerprint, os, random_bytes, set_writable};
pub use tree::{assert_same_tree, describe, Entry};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Path of the `cairn` binary under test: `$CAIRN_BIN`, or the one built
/// next to this test executable (`target/<profile>/cairn`).
pub fn cairn_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CAIRN_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("cairn");
    assert!(
        bin.exists(),
        "{} not found: build it first (`cargo build -p cairn-cli`) or set CAIRN_BIN",
        bin.display()
    );
    assert_fresh(&bin);
    bin
}

/// `cargo nextest run` builds test binaries, not the `cairn` binary: after
/// an edit, tests would silently run the old one. Refuse a binary older
/// than any engine or CLI source file (`scripts/test.sh` builds first).
fn assert_fresh(bin: &Path) {
    static CHECKED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        fn newest(dir: &Path, out: &mut std::time::SystemTime) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    newest(&p, out);
                } else if let Ok(t) = e.metadata().and_then(|m| m.modified()) {
                    *out = (*out).max(t);
                }
            }
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut sources = std::time::SystemTime::UNIX_EPOCH;
        for d in ["engine/src", "cli/src"] {
            newest(&root.join(d), &mut sources);
        }
        let built = std::fs::metadata(bin)
            .and_then(|m| m.modified())
            .expect("binary mtime");
        assert!(
            built >= sources,
            "{} is older than the engine or CLI sources: run `cargo build --workspace` first \
             (scripts/test.sh does), or set CAIRN_BIN",
            bin.display()
        );
    });
}

/// A scratch area with a repository path, a cache and a password file.
pub struct Env {
    /// Keeps everything alive.
    pub dir: tempfile::TempDir,
    /// The repository location.
    pub repo: PathBuf,
    /// The cache root.
    pub cache: PathBuf,
    /// A file holding the password.
    pub pwfile: PathBuf,
    /// The repository location when it is not the directory `repo` (an
    /// `s3://` URL; `repo` is then where the store keeps its objects as
    /// files, if it does).
    pub location: Option<String>,
    /// More environment for `cairn` (a store's endpoint and keys).
    pub extra_env: Vec<(&'static str, String)>,
}

/// The password every test repository uses.
pub const PASSWORD: &str = "correct horse battery staple";

impl Env {
    /// A fresh scratch area (repository not yet created).
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("cairn-e2e-")
            .tempdir()
            .expect("tempdir");
        let repo = dir.path().join("repo");
        let cache = dir.path().join("cache");
        let pwfile = dir.path().join("password");
        std::fs::write(&pwfile, format!("{PASSWORD}\n")).expect("write pw");
        Env {
            dir,
            repo,
            cache,
            pwfile,
            location: None,
            extra_env: Vec::new(),
        }
    }

    /// A fresh scratch area whose repository (not yet created) is a new
    /// prefix of the test bucket in `store`.
    pub fn on_store(store: &dyn s3::Store) -> Env {
        let mut e = Env::new();
        let prefix = s3::unique_prefix("repo");
        e.location = Some(format!("s3://{}/{prefix}", s3::BUCKET));
        e.extra_env = store.env();
        e.repo = store
            .object_dir(&prefix)
            .unwrap_or_else(|| e.dir.path().join("objects-not-on-disk"));
        e
    }

    /// As [`Env::on_store`], with the repository initialised (cheap KDF).
    pub fn init_on(store: &dyn s3::Store) -> Env {
        let e = Env::on_store(store);
        e.ok(&["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"]);
        e
    }

    /// The repository as `cairn -r` takes it.
    pub fn repo_arg(&self) -> std::ffi::OsString {
        match &self.location {
            Some(l) => l.into(),
            None => self.repo.clone().into(),
        }
    }

    /// A scratch area with an initialised repository (cheap KDF).
    pub fn init() -> Env {
        Env::init_with(&[])
    }

    /// As [`Env::init`], with more `init` flags.
    pub fn init_with(flags: &[&str]) -> Env {
        let e = Env::new();
        let mut argv = vec!["init", "--kdf-memory-kib", "1024", "--kdf-iterations", "1"];
        argv.extend_from_slice(flags);
        e.ok(&argv);
        e
    }

    /// A path inside the scratch area.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Another program with this environment's variables (repository,
    /// password file, cache), e.g. `script` to run `cairn` on a
    /// pseudo-terminal.
    pub fn program(&self, program: &str) -> Command {
        self.with_env(Command::new(program))
    }

    /// A `cairn` command with repository, cache and password set.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.with_env(Command::new(cairn_bin()));
        c.args(args);
        c
    }

    /// Run `cairn` with the repository read-only to it: as root (whom
    /// permissions do not stop) through a read-only bind mount in a
    /// private mount namespace (`unshare`), otherwise with write
    /// permission removed for the run. The flag says whether the storage
    /// really was read-only; callers fingerprint the repository either way.
    pub fn run_read_only(&self, args: &[&str]) -> (Output, bool) {
        let repo = self.repo.to_str().expect("utf8 path");
        if nix::unistd::geteuid().is_root() {
            let script = r#"mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@""#;
            let ns = [
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                repo,
            ];
            let probe = Command::new("unshare").args(ns).arg("true").output();
            if probe.is_ok_and(|o| o.status.success()) {
                let mut c = self.with_env(Command::new("unshare"));
                c.args(ns).arg(cairn_bin()).args(args);
                return (c.output().expect("spawn unshare"), true);
            }
            return (self.run(args), false);
        }
        set_writable(&self.repo, false);
        let out = self.run(args);
        set_writable(&self.repo, true);
        (out, true)
    }

    fn with_env(&self, mut c: Command) -> Command {
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("CAIRN_REPOSITORY", self.repo_arg())
            .env("CAIRN_CACHE_DIR", &self.cache)
            .env("CAIRN_PASSWORD_FILE", &self.pwfile)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        c
    }

    /// A `cairn` command run as the unprivileged user `nobody`, for tests
    /// of files that root could read anyway; only root can make one. The
    /// binary is copied into the scratch directory (the build directory
    /// may be private to root), which becomes traversable, and the
    /// repository, cache and password file are handed to `nobody`.
    pub fn cmd_as_nobody(&self, args: &[&str]) -> Command {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        const NOBODY: u32 = 65534;
        let bin = self.path("cairn-copy");
        if !bin.exists() {
            std::fs::copy(cairn_bin(), &bin).expect("copy cairn");
        }
        let public = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(&bin, public.clone()).expect("chmod");
        std::fs::set_permissions(self.dir.path(), public).expect("chmod");
        std::fs::create_dir_all(&self.cache).expect("mkdir cache");
        for e in walkdir::WalkDir::new(&self.repo)
            .into_iter()
            .chain(walkdir::WalkDir::new(&self.cache))
            .filter_map(Result::ok)
        {
            std::os::unix::fs::chown(e.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
        }
        std::os::unix::fs::chown(&self.pwfile, Some(NOBODY), Some(NOBODY)).expect("chown");
        let mut c = self.with_env(Command::new(&bin));
        c.args(args).uid(NOBODY).gid(NOBODY);
        c
    }

    /// Run and capture.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("spawn cairn")
    }

    /// Run, require exit 0, return stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_success(&out, args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run with `--json`, require exit 0, parse stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = vec!["--json"];
        a.extend_from_slice(args);
        let s = self.ok(&a);
        json_doc(&s).unwrap_or_else(|e| panic!("bad JSON from {args:?}: {e}\n{s}"))
    }

    /// Back up `path`, return the JSON summary.
    pub fn backup(&self, path: &Path, extra: &[&str]) -> serde_json::Value {
        let p = path.to_str().expect("utf8 path");
        let mut a = vec!["backup", p];
        a.extend_from_slice(extra);
        self.json(&a)
    }

    /// Every repository file with its BLAKE3, for "nothing changed" checks.
    pub fn repo_fingerprint(&self) -> BTreeMap<PathBuf, String> {
        fingerprint(&self.repo)
    }

    /// Flip bits (`mask`) of one byte a third into every pack larger than
    /// 20 kB (data packs of the test trees); returns their file names.
    pub fn corrupt_data_packs(&self, mask: u8) -> Vec<String> {
        let mut names = Vec::new();
        for p in self.packs() {
            let mut b = std::fs::read(&p).expect("read pack");
            if b.len() > 20_000 {
                let i = b.len() / 3;
                b[i] ^= mask;
                std::fs::write(&p, b).expect("write pack");
                names.push(p.file_name().expect("name").to_string_lossy().into_owned());
            }
        }
        names
    }

    /// Restore the latest snapshot into the scratch directory `dir`;
    /// returns that directory.
    pub fn restore_latest(&self, dir: &str) -> PathBuf {
        let t = self.path(dir);
        self.ok(&[
            "restore",
            "latest",
            "--target",
            t.to_str().expect("utf8 path"),
        ]);
        t
    }

    /// Wait (at most 30 s) until a running backup has begun writing a pack.
    pub fn wait_until_writing(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::read_dir(self.repo.join("data"))
            .expect("data dir")
            .filter_map(Result::ok)
            .all(|e| !e.file_name().to_string_lossy().starts_with(".tmp-"))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "backup never started writing"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Wait (at most 30 s) until some process holds a lock: a lock file
    /// under its final name, not the `.tmp-` temporary it is written as
    /// (which `cairn unlock` does not see yet).
    pub fn wait_until_locked(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !std::fs::read_dir(self.repo.join("locks"))
            .expect("locks dir")
            .filter_map(Result::ok)
            .any(|e| !e.file_name().to_string_lossy().starts_with('.'))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no process took a lock"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// All pack files.
    pub fn packs(&self) -> Vec<PathBuf> {
        walkdir::WalkDir::new(self.repo.join("data"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().to_path_buf())
            .collect()
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

/// Say why a test, or part of one, does not run here (`skipped: REASON`
/// on stderr, which `cargo nextest --no-capture` or a failure shows). The
/// caller then returns, or leaves the part out; where the condition holds
/// the test asserts everything.
pub fn skip(reason: &str) {
    eprintln!("skipped: {reason}");
}

/// Is `systemd-analyze` installed? Unit files are verified with it where
/// it is; elsewhere the caller skips that part (see [`skip`]).
pub fn has_systemd_analyze() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        skip("systemd-analyze is not installed: units not verified");
    }
    found
}

/// Do the tests run as root (needed to mount, make devices, chown)?
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Panic with the command's output unless it exited 0.
pub fn assert_success(out: &Output, args: &[&str]) {
    assert!(
        out.status.success(),
        "cairn {args:?} failed with {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Assert an exact exit code, and that it was not a panic.
pub fn assert_code(out: &Output, code: i32) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "cairn panicked: {stderr}");
    assert_eq!(
        out.status.code(),
        Some(code),
        "stderr: {stderr}\nstdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// The JSON document a command printed: the whole of stdout, or, for a
/// command that streams JSON lines (`backup`: status, error and
/// verbose_status lines, then one summary), its `summary` line.
pub fn json_doc(stdout: &str) -> Result<serde_json::Value, String> {
    match serde_json::from_str(stdout) {
        Ok(v) => Ok(v),
        Err(whole) => {
            let mut summary = None;
            for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| format!("{whole}; line {line:?}: {e}"))?;
                if v["message_type"].is_null() {
                    return Err(format!("{whole}; a line without message_type: {line}"));
                }
                if v["message_type"] == "summary" {
                    summary = Some(v);
                }
            }
            summary.ok_or_else(|| format!("{whole}; no summary line"))
        }
    }
}

/// The JSON document (or the summary of a JSON stream, see [`json_doc`])
/// a finished command printed on stdout; panics naming what it got.
pub fn stdout_json(out: &Output) -> serde_json::Value {
    let text = String::from_utf8_lossy(&out.stdout);
    json_doc(&text).unwrap_or_else(|e| panic!("bad JSON on stdout: {e}\n{text}"))
}
