//! A dump is one point in time: money moved between accounts while the
//! dump runs never shows up twice or not at all in the stored stream.

use super::*;

/// Sum of `balance` over a dumped `.bson` stream.
fn sum_balances(bson_stream: &[u8]) -> (i64, usize) {
    let mut r = bson_stream;
    let (mut sum, mut n) = (0, 0);
    while !r.is_empty() {
        let d = Document::from_reader(&mut r).expect("valid BSON in dump");
        sum += d.get_i64("balance").expect("balance");
        n += 1;
    }
    (sum, n)
}

#[test]
fn mongodb_dump_is_one_point_in_time_under_concurrent_transfers() {
    let server = MongoServer::start();
    let client = server.client();
    let db = client.database("bank");
    for coll in ["a_accounts", "b_accounts"] {
        let docs: Vec<Document> = (0..20_000_i64)
            .map(|i| doc! {"_id": i, "balance": 100_i64, "pad": "x".repeat(200)})
            .collect();
        for c in docs.chunks(5000) {
            db.collection::<Document>(coll)
                .insert_many(c.to_vec())
                .run()
                .unwrap();
        }
    }
    let expected_total = 2 * 20_000 * 100;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let committed = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let (first_tx, first_rx) = std::sync::mpsc::channel();
    let writer = {
        let (client, stop, committed) = (server.client(), stop.clone(), committed.clone());
        std::thread::spawn(move || {
            let db = client.database("bank");
            let (a, b) = (
                db.collection::<Document>("a_accounts"),
                db.collection::<Document>("b_accounts"),
            );
            let mut n = 0_i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut s = client.start_session().run().unwrap();
                s.start_transaction().run().unwrap();
                let id = (n * 7919) % 20_000;
                a.update_one(doc! {"_id": id}, doc! {"$inc": {"balance": -1_i64}})
                    .session(&mut s)
                    .run()
                    .unwrap();
                b.update_one(doc! {"_id": id}, doc! {"$inc": {"balance": 1_i64}})
                    .session(&mut s)
                    .run()
                    .unwrap();
                s.commit_transaction().run().unwrap();
                n += 1;
                committed.store(n, std::sync::atomic::Ordering::SeqCst);
                if n == 1 {
                    let _ = first_tx.send(());
                }
            }
            n
        })
    };
    // The backup starts once transfers are being committed.
    first_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the writer never committed a transfer");
    let env = Env::init();
    let before = committed.load(std::sync::atomic::Ordering::SeqCst);
    env.json(&["backup", &server.uri()]);
    let during = committed.load(std::sync::atomic::Ordering::SeqCst) - before;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let transfers = writer.join().unwrap();
    eprintln!("{during} of {transfers} transfers committed while the backup ran");
    assert!(during > 0, "no transfer committed while the backup ran");
    let manifest: serde_json::Value =
        serde_json::from_str(&env.ok(&["dump", "latest", "cairn-mongodb.json"])).unwrap();
    assert_eq!(manifest["consistency"], "transaction");
    assert_eq!(manifest["topology"], "replica-set");
    let a = env
        .cmd(&["dump", "latest", "/bank/a_accounts.bson"])
        .output()
        .unwrap()
        .stdout;
    let b = env
        .cmd(&["dump", "latest", "/bank/b_accounts.bson"])
        .output()
        .unwrap()
        .stdout;
    let ((sa, na), (sb, nb)) = (sum_balances(&a), sum_balances(&b));
    assert_eq!((na, nb), (20_000, 20_000));
    assert_eq!(
        sa + sb,
        expected_total,
        "the dump mixes two points in time ({transfers} transfers ran)"
    );
}
