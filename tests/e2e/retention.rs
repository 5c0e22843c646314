//! forget, tag and snapshot filters.

use cairn_tests::{assert_code, Env};
use std::fs;

fn with_history() -> Env {
    let env = Env::init();
    let src = env.path("src");
    fs::create_dir_all(&src).unwrap();
    for day in 1..=6 {
        fs::write(src.join("f"), format!("day {day}")).unwrap();
        let host = if day % 2 == 0 { "even" } else { "odd" };
        env.backup(
            &src,
            &[
                "--time",
                &format!("2026-03-0{day}T12:00:00Z"),
                "--host",
                host,
                "--tag",
                &format!("d{day}"),
            ],
        );
    }
    env
}

fn count(env: &Env, extra: &[&str]) -> usize {
    let mut a = vec!["snapshots"];
    a.extend_from_slice(extra);
    env.json(&a).as_array().unwrap().len()
}

#[test]
fn forget_by_policy_dry_run_then_for_real() {
    let env = with_history();
    let plan = env.json(&["forget", "--keep-daily", "1", "--dry-run"]);
    assert_eq!(plan["remove"].as_array().unwrap().len(), 4, "{plan}");
    assert_eq!(count(&env, &[]), 6, "dry run removed something");
    let groups = plan["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "grouped by host and paths: {plan}");
    assert!(plan.to_string().contains("daily snapshot"));
    env.json(&["forget", "--keep-daily", "1"]);
    assert_eq!(count(&env, &[]), 2);
    // The survivors are the newest of each host.
    let left = env.json(&["snapshots"]);
    let tags: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tags"][0].as_str().unwrap())
        .collect();
    assert_eq!(tags, vec!["d5", "d6"]);
    env.restore_latest("out");
}

#[test]
fn protected_snapshots_are_never_forgotten() {
    let env = with_history();
    let oldest = env.json(&["snapshots"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let t = env.json(&["tag", &oldest, "--protect"]);
    let protected = t["changed"][0]["new"].as_str().unwrap().to_owned();
    env.json(&["forget", "--keep-last", "1", "--group-by", ""]);
    let left = env.json(&["snapshots"]);
    let ids: Vec<&str> = left
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{left}");
    assert!(ids.contains(&protected.as_str()));
    assert_code(&env.run(&["forget", &protected[..8]]), 2);
    env.json(&["tag", &protected[..8], "--unprotect"]);
    let now = env.json(&["snapshots", "--tag", "d1"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.json(&["forget", &now[..8]]);
    assert_eq!(count(&env, &[]), 1);
}

#[test]
fn tags_and_filters() {
    let env = with_history();
    assert_eq!(count(&env, &["--host", "odd"]), 3);
    assert_eq!(count(&env, &["--tag", "d2", "--tag", "d3"]), 2);
    assert_eq!(
        count(&env, &["--latest", "1"]),
        2,
        "newest per host+paths group"
    );
    assert_eq!(
        count(&env, &["--path", env.path("src").to_str().unwrap()]),
        6
    );
    assert_eq!(count(&env, &["--path", "/nowhere"]), 0);
    let id = env.json(&["snapshots", "--tag", "d4"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    env.json(&["tag", &id[..10], "--add", "keep", "--remove", "d4"]);
    let s = &env.json(&["snapshots", "--tag", "keep"])[0];
    assert_eq!(s["tags"], serde_json::json!(["keep"]));
    env.json(&["tag", "latest", "--set", "a", "--set", "b"]);
    assert_eq!(count(&env, &["--tag", "b"]), 1);
    assert_code(&env.run(&["forget"]), 2);
    assert_code(&env.run(&["tag", "latest"]), 2);
}
