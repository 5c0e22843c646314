//! The Debian package: `scripts/package-deb.sh` (cargo-deb, from
//! setup.sh) packages the binary under test, `dpkg` installs it into a
//! scratch root (never the machine's own), and the installed `cairn
//! version` runs. The package carries the binary, one compressed manual
//! page per command, the three completion scripts and the systemd template
//! units, and removes cleanly.

use cairn_tests::{assert_success, cairn_bin, s3::tool};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    let shown = format!("{cmd:?}");
    assert_success(&out, &[shown.as_str()]);
    out
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Build the package from the binary under test; the path of the .deb.
fn package(out_dir: &Path) -> PathBuf {
    let bin = cairn_bin();
    // <target dir>/<profile dir>/cairn: package exactly that build.
    let profile_dir = bin.parent().unwrap();
    let profile = match profile_dir.file_name().unwrap().to_str().unwrap() {
        "debug" => "dev".to_owned(),
        other => other.to_owned(),
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/package-deb.sh");
    let cargo_deb = tool("cargo-deb");
    let out = run(Command::new(script)
        .args(["--profile", &profile, "--no-build", "--output"])
        .arg(out_dir)
        .env("CARGO_TARGET_DIR", profile_dir.parent().unwrap())
        .env("CAIRN_TOOLS", cargo_deb.ancestors().nth(3).unwrap()));
    let deb = PathBuf::from(text(&out).lines().last().unwrap_or_default());
    assert!(deb.starts_with(out_dir) && deb.exists(), "{deb:?}");
    deb
}

/// The paths the package holds, as `dpkg-deb --contents` lists them.
fn contents(deb: &Path) -> BTreeSet<String> {
    let out = run(Command::new("dpkg-deb").arg("--contents").arg(deb));
    text(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_owned())
        .collect()
}

/// The manual pages `cairn man --dir` writes, as the package names them.
fn man_pages(scratch: &Path) -> Vec<String> {
    let dir = scratch.join("man");
    run(Command::new(cairn_bin()).arg("man").arg("--dir").arg(&dir));
    let mut pages: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .map(|name| format!("/usr/share/man/man1/{name}.gz"))
        .collect();
    pages.sort();
    assert!(pages.len() > 30, "{pages:?}");
    pages
}

/// `systemd-analyze verify` accepts an instance of the template units,
/// pointed at the installed binary (the scratch root is not `/`), without
/// a word of warning. Manual pages are not looked up: they are installed
/// in the scratch root, where `man` does not look.
fn verify_units(dir: &Path, service: &str, timer: &str, installed: &Path) {
    if !cairn_tests::has_systemd_analyze() {
        return;
    }
    std::fs::create_dir_all(dir).unwrap();
    let service = service.replace("/usr/bin/cairn", installed.to_str().unwrap());
    let units = [
        (dir.join("cairn-run@nightly.service"), service.as_str()),
        (dir.join("cairn-run@nightly.timer"), timer),
    ];
    for (path, text) in &units {
        std::fs::write(path, text).unwrap();
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(units.iter().map(|(p, _)| p))
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn debian_package_installs_into_a_scratch_root_and_runs() {
    let scratch = tempfile::tempdir().unwrap();
    let deb = package(&scratch.path().join("out"));

    let control = text(&run(Command::new("dpkg-deb").arg("--field").arg(&deb)));
    assert!(control.contains("Package: cairn\n"), "{control}");
    assert!(control.contains("Depends: libc6"), "{control}");

    let held = contents(&deb);
    let mut want = man_pages(scratch.path());
    want.extend(
        [
            "/usr/bin/cairn",
            "/usr/share/bash-completion/completions/cairn",
            "/usr/share/zsh/vendor-completions/_cairn",
            "/usr/share/fish/vendor_completions.d/cairn.fish",
            "/usr/lib/systemd/system/cairn-run@.service",
            "/usr/lib/systemd/system/cairn-run@.timer",
            "/usr/share/doc/cairn/copyright",
        ]
        .map(str::to_owned),
    );
    for path in &want {
        assert!(held.contains(path), "the package lacks {path}: {held:?}");
    }

    // dpkg's own database lives in the scratch root too.
    let root = scratch.path().join("root");
    let admin = root.join("var/lib/dpkg");
    for d in ["updates", "info"] {
        std::fs::create_dir_all(admin.join(d)).unwrap();
    }
    std::fs::write(admin.join("status"), "").unwrap();
    let dpkg = |args: &[&str]| {
        let mut cmd = Command::new("dpkg");
        cmd.arg("--root")
            .arg(&root)
            .args(["--force-not-root", "--force-depends"]);
        run(cmd.args(args))
    };
    dpkg(&["--install", deb.to_str().unwrap()]);
    let status = text(&dpkg(&["--status", "cairn"]));
    assert!(status.contains("Status: install ok installed"), "{status}");

    // The installed binary is the one under test, stripped.
    let installed = root.join("usr/bin/cairn");
    let version = |bin: &Path| text(&run(Command::new(bin).arg("version")));
    assert_eq!(version(&installed), version(&cairn_bin()));
    assert!(version(&installed).contains("repository format: reads 1, writes 1"));

    // The completions are those the binary prints, and the top manual
    // page decompresses to cairn(1).
    let bash = run(Command::new(&installed).args(["completions", "bash"]));
    assert_eq!(
        std::fs::read(root.join("usr/share/bash-completion/completions/cairn")).unwrap(),
        bash.stdout
    );
    let page = text(&run(Command::new("gzip")
        .arg("-dc")
        .arg(root.join("usr/share/man/man1/cairn.1.gz"))));
    assert!(
        page.contains(".TH cairn 1"),
        "{}",
        &page[..page.len().min(300)]
    );

    // The template unit runs the installed binary on the profile it is
    // instantiated for.
    let unit =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/cairn-run@.service")).unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/cairn --config /etc/cairn/cairn.toml run %i\n"));
    let timer =
        std::fs::read_to_string(root.join("usr/lib/systemd/system/cairn-run@.timer")).unwrap();
    assert!(timer.contains("\nPersistent=true\n") && timer.contains("\nWantedBy=timers.target\n"));
    verify_units(&scratch.path().join("units"), &unit, &timer, &installed);

    dpkg(&["--remove", "cairn"]);
    assert!(!installed.exists());
    assert!(!root
        .join("usr/lib/systemd/system/cairn-run@.service")
        .exists());
}
