//! MongoDB failures: a wrong password, an unreachable server, a server
//! killed in the middle of a dump. Each fails with its documented exit
//! code and a message that names the server but never the password, and
//! none writes a snapshot.

use super::*;

#[test]
fn mongodb_wrong_password_is_clear_and_not_echoed() {
    let mut server = MongoServer::start();
    server
        .client()
        .database("admin")
        .run_command(doc! {"createUser": "backup", "pwd": "right-pass-123", "roles": ["root"]})
        .run()
        .unwrap();
    server
        .client()
        .database("app")
        .collection::<Document>("c")
        .insert_one(doc! {"x": 1})
        .run()
        .unwrap();
    server.restart(&["--auth"]);
    let env = Env::init();
    let uri = format!(
        "mongodb://backup@127.0.0.1:{}/?authSource=admin",
        server.port
    );
    let secret = "wrong-pass-456";
    let out = env
        .cmd(&["backup", &uri])
        .env("CAIRN_MONGODB_PASSWORD", secret)
        .output()
        .unwrap();
    assert_code(&out, 1);
    let all = String::from_utf8_lossy(&[out.stdout, out.stderr].concat()).into_owned();
    assert!(all.contains("authentication failed"), "{all}");
    assert!(!all.contains(secret), "password leaked: {all}");
    // Password inside the URI: masked in messages and in the snapshot.
    let with_pw = format!(
        "mongodb://backup:{secret}@127.0.0.1:{}/?authSource=admin",
        server.port
    );
    let out = env.run(&["backup", &with_pw]);
    assert_code(&out, 1);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(secret));
    let good = format!(
        "mongodb://backup:right-pass-123@127.0.0.1:{}/?authSource=admin",
        server.port
    );
    env.json(&["backup", &good]);
    let snaps = env.ok(&["--json", "snapshots"]);
    assert!(
        !snaps.contains("right-pass-123") && snaps.contains("backup:****@"),
        "{snaps}"
    );
}

#[test]
fn mongodb_unreachable_server_fails_fast() {
    let env = Env::init();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = Instant::now();
    let out = env.run(&[
        "backup",
        &format!("mongodb://127.0.0.1:{port}/"),
        "--mongo-timeout",
        "3",
    ]);
    assert_code(&out, 1);
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "took {:?}",
        start.elapsed()
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no reachable server"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn mongodb_server_killed_mid_backup_writes_no_snapshot() {
    let mut server = MongoServer::start();
    let client = server.client();
    let coll = client.database("big").collection::<Document>("blobs");
    for i in 0..40 {
        let bytes: Vec<u8> = (0..2_000_000u32).map(|j| ((j ^ i) % 253) as u8).collect();
        coll.insert_one(doc! {"_id": i, "data": Binary { subtype: BinarySubtype::Generic, bytes }})
            .run()
            .unwrap();
    }
    let env = Env::init();
    let child = env
        .cmd(&["backup", &server.uri(), "--mongo-timeout", "3"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Kill the server once the backup holds its lock and has begun writing.
    env.wait_until_writing();
    server.kill();
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(0),
        "backup succeeded although the server died"
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    assert!(
        std::fs::read_dir(env.repo.join("snapshots"))
            .unwrap()
            .next()
            .is_none(),
        "a snapshot was written"
    );
    // The repository is still consistent: a file backup and restore work.
    let src = env.path("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("f"), b"after the crash").unwrap();
    env.backup(&src, &[]);
    env.restore_latest("out");
}
