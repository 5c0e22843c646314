//! `cairn export`, `export verify [--repair]`, reading exports with
//! `-r export:DIR` and `cairn import`: self-contained volume sets for cold
//! media (`format-spec/v1/export.md`).

use cairn_tests::{assert_code, assert_same_tree, random_bytes, Env};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

mod reading;

/// The volumes in `dir` (directories or tar files), sorted.
fn volumes(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("cairn-")
        })
        .collect();
    v.sort();
    v
}

/// Pack names on a directory volume.
fn packs_in(vol: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Ok(fan) = fs::read_dir(vol.join("data")) else {
        return out;
    };
    for d in fan {
        for f in fs::read_dir(d.unwrap().path()).unwrap() {
            out.insert(f.unwrap().file_name().into_string().unwrap());
        }
    }
    out
}

/// `export --json` of `env`'s repository into `to`.
fn export(env: &Env, to: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["--json", "export", "--to", to.to_str().unwrap()];
    args.extend_from_slice(extra);
    serde_json::from_str(&env.ok(&args)).unwrap()
}

/// `cairn -r export:DIRS[0] --volumes-at DIRS[1..] ARGS`.
fn on_export(env: &Env, dirs: &[&Path], args: &[&str]) -> Output {
    let loc = format!("export:{}", dirs[0].display());
    let mut all: Vec<String> = vec!["-r".into(), loc];
    for d in &dirs[1..] {
        all.push("--volumes-at".into());
        all.push(d.to_str().unwrap().into());
    }
    all.extend(args.iter().map(|s| s.to_string()));
    env.run(&all.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Restore snapshot `snap` of the export in `dirs` to a fresh target and
/// return where `src` landed in it.
fn restore(
    env: &Env,
    dirs: &[&Path],
    snap: &str,
    src: &Path,
    name: &str,
) -> Result<PathBuf, String> {
    let target = env.path(name);
    let out = on_export(
        env,
        dirs,
        &["restore", snap, "--target", target.to_str().unwrap()],
    );
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(target.join(src.strip_prefix("/").unwrap()))
}

/// `export verify --json DIR [--repair]`: (document, exit code).
fn verify(env: &Env, dir: &Path, repair: bool) -> (Value, i32) {
    let mut args = vec!["--json", "export", "verify", dir.to_str().unwrap()];
    if repair {
        args.push("--repair");
    }
    // No password: verifying and repairing an export needs none.
    let out = env
        .cmd(&args)
        .env_remove("CAIRN_PASSWORD_FILE")
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (doc, out.status.code().unwrap())
}

fn states(doc: &Value) -> Vec<(String, String, bool)> {
    doc["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["state"].as_str().unwrap().to_owned(),
                v["rebuildable"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Flip one byte in the middle of `file`.
fn flip(file: &Path) {
    let mut b = fs::read(file).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x20;
    fs::write(file, b).unwrap();
}

fn sha256sum_ok(vol: &Path) -> bool {
    std::process::Command::new("sha256sum")
        .args(["-c", "--quiet", "SHA256SUMS"])
        .current_dir(vol)
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_1gb_export_in_100mib_volumes_restores_survives_a_lost_volume_and_repairs_two_flips() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for i in 0..16u64 {
        fs::write(
            src.join(format!("f{i:02}")),
            random_bytes(64 << 20, 1000 + i),
        )
        .unwrap();
    }
    env.backup(&src, &[]);
    let out = env.path("out");
    let r = export(&env, &out, &["--volume-size", "100M"]);
    let vols = volumes(&out);
    assert_eq!(vols.len(), r["volumes"].as_array().unwrap().len());
    assert!(
        vols.len() >= 11,
        "1 GiB in 100 MiB volumes, plus parity: {r}"
    );
    for v in &vols {
        let size: u64 = walkdir::WalkDir::new(v)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.metadata().unwrap().len())
            .sum();
        assert!(size <= 100 << 20, "{} is {size} bytes", v.display());
        assert!(sha256sum_ok(v), "sha256sum -c fails in {}", v.display());
    }
    // The set holds exactly the repository's packs (one snapshot uses all).
    let exported: BTreeSet<String> = vols.iter().flat_map(|v| packs_in(v)).collect();
    let repo_packs: BTreeSet<String> = env
        .packs()
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(exported, repo_packs);
    let restored = restore(&env, &[&out], "latest", &src, "r1").unwrap();
    assert_same_tree(&src, &restored);
    fs::remove_dir_all(env.path("r1")).unwrap();

    // One whole data volume lost: the restore names it, verify says it can
    // be rebuilt, repair rebuilds it byte for byte.
    let lost = vols[2].clone();
    let original: BTreeSet<String> = packs_in(&lost);
    fs::remove_dir_all(&lost).unwrap();
    let err = restore(&env, &[&out], "latest", &src, "r2").unwrap_err();
    let lost_name = lost.file_name().unwrap().to_str().unwrap();
    assert!(
        err.starts_with("exit Some(14)") && err.contains(lost_name),
        "{err}"
    );
    let (doc, code) = verify(&env, &out, false);
    assert_eq!(code, 4, "{doc}");
    assert!(
        states(&doc).contains(&(lost_name.to_owned(), "missing".into(), true)),
        "{doc}"
    );
    let (doc, code) = verify(&env, &out, true);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(packs_in(&lost), original);
    assert!(sha256sum_ok(&lost));
    let restored = restore(&env, &[&out], "latest", &src, "r2").unwrap();
    assert_same_tree(&src, &restored);
    fs::remove_dir_all(env.path("r2")).unwrap();

    // One byte flipped in each of two volumes, in packs of different
    // parity groups (the longest pack of one, the shortest of another).
    let by_size = |v: &Path| {
        let mut p: Vec<PathBuf> = packs_in(v)
            .iter()
            .map(|n| v.join("data").join(&n[..2]).join(n))
            .collect();
        p.sort_by_key(|f| fs::metadata(f).unwrap().len());
        p
    };
    let (a, b) = (by_size(&vols[0]), by_size(&vols[1]));
    assert!(b.len() >= 2, "volume 2 should hold several packs");
    flip(a.last().unwrap());
    flip(&b[0]);
    let (doc, code) = verify(&env, &out, false);
    assert_eq!(code, 4);
    let damaged: Vec<String> = states(&doc)
        .into_iter()
        .filter(|s| s.1 == "damaged" && s.2)
        .map(|s| s.0)
        .collect();
    assert_eq!(damaged.len(), 2, "{doc}");
    assert!(!sha256sum_ok(&vols[0]) && !sha256sum_ok(&vols[1]));
    let (doc, code) = verify(&env, &out, true);
    assert_eq!(code, 0, "{doc}");
    let (doc, code) = verify(&env, &out, false);
    assert_eq!(code, 0, "{doc}");
    assert!(sha256sum_ok(&vols[0]) && sha256sum_ok(&vols[1]));
    let restored = restore(&env, &[&out], "latest", &src, "r3").unwrap();
    assert_same_tree(&src, &restored);
}

#[test]
fn an_incremental_export_holds_no_pack_of_its_base_and_restores_with_it() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), random_bytes(20 << 20, 1)).unwrap();
    env.backup(&src, &[]);
    let base = env.path("base");
    export(&env, &base, &["--volume-size", "30M"]);
    fs::write(src.join("b"), random_bytes(10 << 20, 2)).unwrap();
    env.backup(&src, &[]);
    let catalogue = volumes(&base)[0].join("CATALOGUE");
    let inc = env.path("inc");
    let r = export(
        &env,
        &inc,
        &[
            "latest",
            "--volume-size",
            "30M",
            "--incremental-from",
            catalogue.to_str().unwrap(),
        ],
    );
    assert_eq!(r["bases"].as_array().unwrap().len(), 1, "{r}");
    assert!(r["packs_in_bases"].as_u64().unwrap() >= 1, "{r}");
    let in_base: BTreeSet<String> = volumes(&base).iter().flat_map(|v| packs_in(v)).collect();
    let in_inc: BTreeSet<String> = volumes(&inc).iter().flat_map(|v| packs_in(v)).collect();
    assert!(!in_inc.is_empty());
    assert!(
        in_base.is_disjoint(&in_inc),
        "the increment repeats base packs"
    );
    // Alone it names the base volumes it needs; with them it restores.
    let empty = env.path("empty");
    fs::create_dir_all(&empty).unwrap();
    let o = on_export(
        &env,
        &[&inc, &empty],
        &["restore", "latest", "--target", "/nonexistent"],
    );
    assert_code(&o, 14);
    let base_name = volumes(&base)[0]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(String::from_utf8_lossy(&o.stderr).contains(&base_name[..14]));
    let restored = restore(&env, &[&inc, &base], "latest", &src, "r").unwrap();
    assert_same_tree(&src, &restored);
}

#[test]
fn tar_volumes_restore_in_place_and_extract_into_one_repository() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/x"), random_bytes(9 << 20, 7)).unwrap();
    fs::write(src.join("y"), b"small").unwrap();
    env.backup(&src, &[]);
    let out = env.path("out");
    export(&env, &out, &["--volume-size", "12M", "--tar"]);
    let tars = volumes(&out);
    assert!(tars.len() >= 2 && tars.iter().all(|t| t.extension().unwrap() == "tar"));
    let restored = restore(&env, &[&out], "latest", &src, "r").unwrap();
    assert_same_tree(&src, &restored);
    // The merge property: extracting every volume's contents into one
    // directory gives a repository any Cairn opens.
    let merged = env.path("merged");
    let x = env.path("x");
    fs::create_dir_all(&x).unwrap();
    for t in &tars {
        let st = std::process::Command::new("tar")
            .arg("-xf")
            .arg(t)
            .arg("-C")
            .arg(&x)
            .status()
            .unwrap();
        assert!(st.success());
    }
    for v in volumes(&x) {
        let st = std::process::Command::new("cp")
            .arg("-rn")
            .arg(format!("{}/.", v.display()))
            .arg(&merged)
            .status()
            .unwrap();
        assert!(st.success());
    }
    let target = env.path("m");
    env.ok(&[
        "-r",
        merged.to_str().unwrap(),
        "restore",
        "latest",
        "--target",
        target.to_str().unwrap(),
    ]);
    assert_same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
    // A lost tar volume is rebuilt as a tar.
    fs::remove_file(&tars[0]).unwrap();
    let (doc, code) = verify(&env, &out, true);
    assert_eq!(code, 0, "{doc}");
    assert!(tars[0].is_file());
}

#[test]
fn import_brings_snapshots_into_a_repository_and_writes_to_an_export_are_refused() {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), random_bytes(3 << 20, 9)).unwrap();
    env.backup(&src, &[]);
    let out = env.path("out");
    export(&env, &out, &["--volume-size", "10M"]);
    let before = cairn_tests::fingerprint(&out);
    let o = on_export(&env, &[&out], &["backup", src.to_str().unwrap()]);
    assert_code(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("read-only"));
    let o = on_export(&env, &[&out], &["forget", "latest"]);
    assert!(!o.status.success());
    assert_eq!(cairn_tests::fingerprint(&out), before, "an export changed");

    let other = Env::init();
    let args = [
        "import",
        out.to_str().unwrap(),
        "--to",
        other.repo.to_str().unwrap(),
        "--to-password-file",
        other.pwfile.to_str().unwrap(),
    ];
    env.ok(&args);
    env.ok(&args); // again: nothing new
    let snaps: Value = serde_json::from_str(&other.ok(&["snapshots", "--json"])).unwrap();
    assert_eq!(snaps.as_array().unwrap().len(), 1);
    let target = other.path("t");
    other.ok(&["restore", "latest", "--target", target.to_str().unwrap()]);
    assert_same_tree(&src, &target.join(src.strip_prefix("/").unwrap()));
}
