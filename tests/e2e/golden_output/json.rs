//! The `--json` output of every command, one golden file per case under
//! `tests/expect/json/`. `dump` is left out: it prints the file itself.

use super::{Case, Waiting, T1, T2, T3};
use nix::sys::signal::Signal;

/// A repository with one backup of [`Case::source`] (tag `daily`).
fn backed_up() -> Case {
    let mut c = Case::init();
    let src = c.source();
    let src = src.to_str().unwrap();
    c.setup(&[
        "backup", src, "--host", "golden", "--time", T1, "--tag", "daily",
    ]);
    c
}

/// A repository with three stdin backups (T1, T2, T3) of one group; the
/// oldest is protected. Returns the case and the IDs, oldest first.
fn three_snapshots() -> (Case, Vec<String>) {
    let mut c = Case::init();
    let mut ids = vec![
        c.setup_stdin("notes.txt", b"first version\n", T1, &[]),
        c.setup_stdin("notes.txt", b"second version\n", T2, &[]),
        c.setup_stdin("notes.txt", b"third version\n", T3, &[]),
    ];
    // Tagging rewrites the snapshot, under a new ID.
    let tagged = c.setup(&["--json", "tag", &ids[0], "--protect"]);
    let tagged: serde_json::Value = serde_json::from_str(&tagged).unwrap();
    ids[0] = tagged["changed"][0]["new"].as_str().unwrap().to_owned();
    (c, ids)
}

#[test]
fn init() {
    let mut c = Case::new();
    c.record(&[
        "--json",
        "init",
        "--kdf-memory-kib",
        "1024",
        "--kdf-iterations",
        "1",
    ]);
    c.finish("json/init.txt");
}

#[test]
fn backup_files() {
    let mut c = Case::init();
    let src = c.source();
    let src = src.to_str().unwrap();
    c.record(&[
        "--json", "backup", src, "--host", "golden", "--time", T1, "--tag", "daily",
    ]);
    // Unchanged: the second backup has a parent and stores no file again.
    c.record(&["--json", "backup", src, "--host", "golden", "--time", T2]);
    c.finish("json/backup-files.txt");
}

#[test]
fn backup_stdin() {
    let mut c = Case::init();
    c.record_stdin(
        &[
            "--json",
            "backup",
            "--stdin",
            "--stdin-name",
            "notes.txt",
            "--host",
            "golden",
            "--time",
            T1,
        ],
        b"golden notes\n",
    );
    c.finish("json/backup-stdin.txt");
}

#[test]
fn snapshots() {
    let mut c = backed_up();
    c.setup_stdin("notes.txt", b"golden notes\n", T2, &["--tag", "a,b"]);
    c.record(&["--json", "snapshots"]);
    c.finish("json/snapshots.txt");
}

#[test]
fn snapshots_with_an_unreadable_one() {
    let mut c = Case::fixture("truncated-snapshot");
    c.record(&["--json", "snapshots"]);
    c.finish("json/snapshots-unreadable.txt");
}

#[test]
fn ls() {
    let mut c = backed_up();
    let src = c.path("src");
    c.record(&["--json", "ls", "latest", &src]);
    c.finish("json/ls.txt");
}

#[test]
fn restore() {
    let mut c = backed_up();
    let out = c.path("out");
    c.record(&["--json", "restore", "latest", "--target", &out]);
    c.finish("json/restore.txt");
}

#[test]
fn forget_by_id() {
    let (mut c, ids) = three_snapshots();
    c.record(&["--json", "forget", &ids[1]]);
    c.finish("json/forget-by-id.txt");
}

#[test]
fn forget_policy_dry_run_then_for_real() {
    let (mut c, _) = three_snapshots();
    c.record(&["--json", "forget", "--keep-last", "1", "--dry-run"]);
    c.record(&["--json", "forget", "--keep-last", "1"]);
    c.finish("json/forget-policy.txt");
}

#[test]
fn forget_prune_dry_run_then_for_real() {
    let (mut c, _) = three_snapshots();
    c.record(&[
        "--json",
        "forget",
        "--keep-last",
        "1",
        "--prune",
        "--dry-run",
    ]);
    c.record(&["--json", "forget", "--keep-last", "1", "--prune"]);
    c.finish("json/forget-prune.txt");
}

#[test]
fn prune_dry_run_then_for_real() {
    let (mut c, ids) = three_snapshots();
    c.setup(&["forget", &ids[1]]);
    c.record(&["--json", "prune", "--dry-run"]);
    c.record(&["--json", "prune"]);
    c.finish("json/prune.txt");
}

#[test]
fn prune_beside_a_running_backup() {
    let (mut c, ids) = three_snapshots();
    let running = Waiting::start(&c, &[]);
    c.setup(&["forget", &ids[1]]);
    // The plan waits for the backup: nothing is swept yet.
    c.record(&["--json", "prune"]);
    assert!(running.finish(b"late data").status.success());
    c.record(&["--json", "prune"]);
    c.finish("json/prune-beside-a-backup.txt");
}

#[test]
fn check_passing() {
    let mut c = backed_up();
    c.record(&["--json", "check"]);
    c.finish("json/check-ok.txt");
}

#[test]
fn check_failing() {
    let mut c = Case::fixture("missing-pack");
    c.record(&["--json", "check"]);
    c.finish("json/check-missing-pack.txt");
}

#[test]
fn check_with_information() {
    let mut c = Case::fixture("duplicate-blobs");
    c.record(&["--json", "check"]);
    c.finish("json/check-duplicate-blobs.txt");
}

#[test]
fn scrub_passing() {
    let mut c = backed_up();
    c.record(&["--json", "scrub"]);
    c.finish("json/scrub-ok.txt");
}

#[test]
fn scrub_failing() {
    let mut c = Case::fixture("corrupt-pack");
    c.record(&["--json", "scrub"]);
    c.finish("json/scrub-corrupt-pack.txt");
}

#[test]
fn scrub_repair_from_parity() {
    let mut c = Case::init_with(&["--parity", "2+1"]);
    c.setup_stdin("big", &cairn_tests::random_bytes(100_000, 1), T1, &[]);
    let pack = c
        .env
        .packs()
        .into_iter()
        .max_by_key(|p| p.metadata().unwrap().len());
    let pack = pack.expect("a pack");
    let mut b = std::fs::read(&pack).unwrap();
    let i = b.len() / 2;
    b[i] ^= 0x40;
    std::fs::write(&pack, b).unwrap();
    c.record(&["--json", "scrub", "--repair"]);
    c.finish("json/scrub-repair.txt");
}

#[test]
fn verify_passing() {
    let mut c = backed_up();
    c.record(&["--json", "verify", "latest"]);
    c.finish("json/verify-ok.txt");
}

#[test]
fn verify_failing() {
    let mut c = Case::fixture("corrupt-pack");
    c.record(&["--json", "verify", "latest"]);
    c.finish("json/verify-corrupt-pack.txt");
}

#[test]
fn drill_passing_with_report() {
    let mut c = backed_up();
    let (tmp, report) = (c.path("drill"), c.path("drill-report.json"));
    std::fs::create_dir_all(&tmp).unwrap();
    c.record(&[
        "--json",
        "drill",
        "latest",
        "--tmp-dir",
        &tmp,
        "--report",
        &report,
    ]);
    c.record_file(&report);
    c.finish("json/drill-ok.txt");
}

#[test]
fn drill_that_cannot_run() {
    let mut c = backed_up();
    c.record(&[
        "--json",
        "drill",
        "latest",
        "--to",
        "mongodb://127.0.0.1:1/",
    ]);
    c.finish("json/drill-failed.txt");
}

#[test]
fn repair_index() {
    let mut c = Case::fixture("missing-index");
    c.record(&["--json", "repair", "index"]);
    c.finish("json/repair-index.txt");
}

#[test]
fn repair_snapshots() {
    let mut c = Case::fixture("missing-pack");
    c.setup(&["repair", "index"]);
    c.record(&["--json", "repair", "snapshots"]);
    c.finish("json/repair-snapshots.txt");
}

#[test]
fn parity_set_protect_and_off() {
    let mut c = backed_up();
    c.record(&["--json", "parity", "set", "2+1"]);
    c.record(&["--json", "parity", "protect"]);
    c.record(&["--json", "parity", "set", "off"]);
    c.finish("json/parity.txt");
}

#[test]
fn tag() {
    let (mut c, ids) = three_snapshots();
    c.record(&[
        "--json", "tag", &ids[2], "--add", "monthly", "--add", "keep",
    ]);
    c.record(&["--json", "tag", &ids[0], "--unprotect", "--set", "old"]);
    c.finish("json/tag.txt");
}

#[test]
fn unlock_stale_and_all() {
    let mut c = Case::init();
    // A backup killed while it held its lock leaves a stale lock.
    let killed = Waiting::start(&c, &[]).signal(Signal::SIGKILL);
    assert_eq!(killed.status.code(), None, "the backup was not killed");
    c.record(&["--json", "unlock"]);
    // --remove-all also removes the lock of a running process.
    let running = Waiting::start(&c, &[]);
    c.record(&["--json", "unlock", "--remove-all"]);
    running.signal(Signal::SIGKILL);
    c.finish("json/unlock.txt");
}

/// The MongoDB shapes: backup from a server, verify with per-collection
/// counts, restore into a server, drill into temporary databases.
#[test]
fn mongodb_backup_verify_restore_drill() {
    use mongodb::bson::{doc, Document};
    let server = cairn_tests::mongo::MongoServer::start();
    let users = server
        .client()
        .database("app")
        .collection::<Document>("users");
    let docs: Vec<Document> = (0..100)
        .map(|i| doc! {"_id": i, "name": format!("user {i}")})
        .collect();
    users.insert_many(docs).run().unwrap();
    let mut c = Case::init();
    let uri = server.uri();
    c.literal(uri.clone(), "mongodb://<server>/");
    // The dump's manifest, one of its files, holds the cluster time, whose
    // digits vary: so does the total of the snapshot's file bytes.
    c.hide("bytes", "<size>");
    c.hide("bytes_done", "<size>");
    c.record(&["--json", "backup", &uri, "--host", "golden", "--time", T1]);
    c.record(&["--json", "verify", "latest"]);
    c.record(&[
        "--json",
        "restore",
        "latest",
        "--to",
        &uri,
        "--rename-db",
        "app=restored",
    ]);
    c.record(&["--json", "drill", "latest", "--to", &uri]);
    c.finish("json/mongodb.txt");
}
