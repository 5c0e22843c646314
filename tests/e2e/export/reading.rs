//! Reading an export when volumes are missing: exactly the volumes a
//! snapshot needs are asked for (named in the error with `--volumes-at`,
//! asked on the terminal without it).

use super::{export, on_export, restore, volumes};
use cairn_tests::{assert_code, random_bytes, Env};
use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::process::Output;

/// Three snapshots of distinct data, exported so they spread over volumes.
fn three_snapshots(env: &Env) -> (PathBuf, Vec<String>) {
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    let mut ids = Vec::new();
    for i in 0..3u64 {
        for f in fs::read_dir(&src).unwrap() {
            fs::remove_file(f.unwrap().path()).unwrap();
        }
        fs::write(src.join(format!("s{i}")), random_bytes(14 << 20, 50 + i)).unwrap();
        let s = env.backup(&src, &[]);
        ids.push(s["snapshot_id"].as_str().unwrap().to_owned());
    }
    (src, ids)
}

/// The volume names the error of `out` lists.
fn listed(out: &Output, all: &[String]) -> BTreeSet<String> {
    assert_code(out, 14);
    let err = String::from_utf8_lossy(&out.stderr);
    all.iter()
        .filter(|n| err.contains(n.as_str()))
        .cloned()
        .collect()
}

#[test]
fn a_restore_asks_for_exactly_the_volumes_its_snapshot_needs() {
    let env = Env::init();
    let (src, ids) = three_snapshots(&env);
    let out = env.path("out");
    export(&env, &out, &["--volume-size", "20M"]);
    let vols = volumes(&out);
    let names: Vec<String> = vols
        .iter()
        .map(|v| v.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    let empty = env.path("empty");
    fs::create_dir_all(&empty).unwrap();
    let mut seen = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        // Only the last (a parity) volume at hand: the error lists the rest
        // that this snapshot needs.
        let one = env.path(&format!("one{i}"));
        fs::create_dir_all(&one).unwrap();
        cairn_tests::copy_dir(vols.last().unwrap(), &one.join(names.last().unwrap()));
        let needed = listed(
            &on_export(
                &env,
                &[&one, &empty],
                &["restore", id, "--target", "/nonexistent"],
            ),
            &names,
        );
        assert!(
            !needed.is_empty() && needed.len() < vols.len() - 1,
            "{needed:?}"
        );
        // Exactly those volumes (beside the parity volume, which holds no
        // pack) suffice ...
        let sub = env.path(&format!("sub{i}"));
        fs::create_dir_all(&sub).unwrap();
        cairn_tests::copy_dir(vols.last().unwrap(), &sub.join(names.last().unwrap()));
        for n in &needed {
            cairn_tests::copy_dir(&out.join(n), &sub.join(n));
        }
        let restored = restore(&env, &[&sub], id, &src, &format!("r{i}")).unwrap();
        assert_eq!(
            fs::read(restored.join(format!("s{i}"))).unwrap(),
            random_bytes(14 << 20, 50 + i as u64)
        );
        // ... and each of them is necessary.
        for n in &needed {
            let aside = env.path("aside");
            fs::rename(sub.join(n), &aside).unwrap();
            let again = listed(
                &on_export(
                    &env,
                    &[&sub, &empty],
                    &["restore", id, "--target", "/nonexistent"],
                ),
                &names,
            );
            assert_eq!(again, BTreeSet::from([n.clone()]));
            fs::rename(&aside, sub.join(n)).unwrap();
        }
        seen.push(needed);
    }
    assert_ne!(seen[0], seen[2], "different data, different volumes");
}

#[test]
fn a_missing_volume_is_asked_for_on_the_terminal() {
    let env = Env::init();
    let (src, ids) = three_snapshots(&env);
    let out = env.path("out");
    export(&env, &out, &["--volume-size", "20M"]);
    let vols = volumes(&out);
    let shelf = env.path("shelf");
    fs::create_dir_all(&shelf).unwrap();
    for v in &vols[..vols.len() - 1] {
        fs::rename(v, shelf.join(v.file_name().unwrap())).unwrap();
    }
    // `script` gives cairn a terminal; the answer names the shelf.
    let target = env.path("t");
    let inner = format!(
        "{} -r export:{} restore {} --target {}",
        cairn_tests::cairn_bin().display(),
        out.display(),
        ids[1],
        target.display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", env.dir.path())
        .env("CAIRN_CACHE_DIR", &env.cache)
        .env("CAIRN_PASSWORD_FILE", &env.pwfile)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", shelf.display()).as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(text.contains("Insert or mount them"), "{text}");
    let restored = target.join(src.strip_prefix("/").unwrap());
    assert_eq!(
        fs::read(restored.join("s1")).unwrap(),
        random_bytes(14 << 20, 51)
    );
}
