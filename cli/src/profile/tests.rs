//! The typed result of a valid config, and the place named for invalid
//! ones (the binary-level tests are in `tests/e2e/profiles.rs`).

use super::*;
use cairn_engine::ops::retention::Period;

const FULL: &str = r#"
[profiles.nightly]
repository = "s3://backups/host1"
password-command = "pass show cairn"
cache-dir = "/var/cache/cairn"

[profiles.nightly.s3]
endpoint = "http://127.0.0.1:3900"
region = "garage"
addressing = "path"
connections = 4

[[profiles.nightly.sources]]
paths = ["/srv/data", "/etc"]
exclude = ["*.tmp"]
one-file-system = true
tags = ["nightly"]

[[profiles.nightly.sources]]
mongodb = "mongodb://backup:pw@127.0.0.1:27017/"
db = ["shop"]
consistency = "transaction"

[[profiles.nightly.sources]]
command = ["agentctl", "export-state"]
stdin-name = "agent-state.json"

[profiles.nightly.retention]
keep-daily = 7
keep-monthly = 12
keep-within = "1y2m"
keep-tag = ["keep,forever"]
max-unused = "10%"

[profiles.nightly.copy]
to = ["offsite", "/mnt/usb/cairn"]

[profiles.nightly.scrub]
subset = "5%"
max-duration = "30min"

[profiles.nightly.drill]
tmp-dir = "/var/tmp"

[profiles.nightly.hooks]
on-failure = ["/usr/local/bin/alert", "cairn failed"]

[profiles.nightly.schedule]
on-calendar = "*-*-* 02:30:00"
cron = "30 2 * * *"

[profiles.offsite]
repository = "/srv/offsite"
password-file = "/root/.cairn-offsite"
"#;

fn parse(text: &str) -> Result<Config> {
    Config::parse(Path::new("/etc/cairn/cairn.toml"), text)
}

#[test]
fn a_full_profile_is_typed() {
    let c = parse(FULL).unwrap();
    let p = c.profile("nightly").unwrap();
    assert_eq!(p.repository, OsString::from("s3://backups/host1"));
    assert_eq!(
        p.password,
        Some(password::Source::Command("pass show cairn".into()))
    );
    assert_eq!(p.cache_dir.as_deref(), Some(Path::new("/var/cache/cairn")));
    assert_eq!(p.s3.region.as_deref(), Some("garage"));
    assert_eq!(p.s3.connections, Some(4));
    assert_eq!(p.s3.retries, None);
    assert_eq!(p.sources.len(), 3);
    match &p.sources[0].kind {
        SourceKind::Paths {
            paths,
            excludes,
            one_file_system,
        } => {
            assert_eq!(paths, &[PathBuf::from("/srv/data"), PathBuf::from("/etc")]);
            assert_eq!(excludes, &["*.tmp"]);
            assert!(one_file_system);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.sources[0].tags, ["nightly"]);
    match &p.sources[1].kind {
        SourceKind::MongoDb {
            uri,
            dbs,
            collections,
            exclude_collections,
            consistency,
            timeout_secs,
        } => {
            assert!(uri.starts_with("mongodb://backup:pw@"));
            assert_eq!(dbs, &["shop"]);
            assert!(collections.is_empty() && exclude_collections.is_empty());
            assert_eq!(*consistency, Consistency::Transaction);
            assert_eq!(*timeout_secs, 10);
        }
        other => panic!("{other:?}"),
    }
    // The label never shows the server's password.
    assert!(
        !p.sources[1].label().contains("pw"),
        "{}",
        p.sources[1].label()
    );
    match &p.sources[2].kind {
        SourceKind::Command { argv, stdin_name } => {
            assert_eq!(argv, &["agentctl", "export-state"]);
            assert_eq!(stdin_name, "agent-state.json");
        }
        other => panic!("{other:?}"),
    }
    let r = p.retention.as_ref().unwrap();
    assert_eq!(
        r.policy.periods,
        [(Period::Daily, 7), (Period::Monthly, 12)]
    );
    assert!(r.policy.within.is_some());
    assert_eq!(
        r.policy.tags,
        [vec!["keep".to_owned(), "forever".to_owned()]]
    );
    assert!(r.group_by.host && r.group_by.paths && !r.group_by.tags);
    assert!(
        matches!(r.prune.max_unused, cairn_engine::ops::prune::MaxUnused::Percent(p) if p == 10.0),
        "{:?}",
        r.prune
    );
    assert!(!r.prune.dry_run && r.prune.max_repack.is_none());
    assert_eq!(
        p.copy,
        [
            CopyTarget::Profile("offsite".into()),
            CopyTarget::Location("/mnt/usb/cairn".into())
        ]
    );
    let s = p.scrub.unwrap();
    assert_eq!(s.subset.percent, Some(5));
    assert_eq!(s.max_duration, Some(std::time::Duration::from_secs(1800)));
    let d = p.drill.as_ref().unwrap();
    assert!(d.enabled);
    assert_eq!(d.tmp_dir.as_deref(), Some(Path::new("/var/tmp")));
    assert!(d.to.is_none() && d.report.is_none() && d.mongo_timeout_secs == 10);
    assert_eq!(p.hooks.before, None);
    assert_eq!(
        p.hooks.on_failure.as_deref(),
        Some(&["/usr/local/bin/alert".to_owned(), "cairn failed".to_owned()][..])
    );
    let sch = p.schedule.as_ref().unwrap();
    assert_eq!(sch.for_systemd().unwrap(), "*-*-* 02:30:00");
    assert_eq!(sch.for_cron().unwrap(), "30 2 * * *");
    let off = c.profile("offsite").unwrap();
    assert_eq!(
        off.password,
        Some(password::Source::File("/root/.cairn-offsite".into()))
    );
    assert!(off.sources.is_empty() && off.retention.is_none() && off.schedule.is_none());
}

#[test]
fn the_s3_table_wins_over_the_environment() {
    let env = S3Settings {
        endpoint: Some("http://env:1".into()),
        region: Some("env-region".into()),
        retries: Some(3),
        ..S3Settings::default()
    };
    let c = parse(FULL).unwrap();
    let p = c.profile("nightly").unwrap();
    let s = env.overlaid(&p.s3);
    assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
    assert_eq!(s.region.as_deref(), Some("garage"));
    assert_eq!(s.retries, Some(3));
    assert_eq!(s.connections, Some(4));
    // Whatever the process environment holds, the table's keys win.
    let from_env = p.s3_settings().unwrap();
    assert_eq!(from_env.region.as_deref(), Some("garage"));
    match p.location().unwrap() {
        Location::S3(c) => {
            assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:3900"));
            assert_eq!((c.bucket.as_str(), c.prefix.as_str()), ("backups", "host1"));
            assert_eq!(c.region, "garage");
            assert_eq!(c.concurrency, 4);
        }
        other => panic!("{other:?}"),
    }
}

/// Each invalid file names the line and key of its fault.
#[test]
fn faults_are_placed() {
    let cases: &[(&str, &str)] = &[
        (
            "[profiles.a]\nrepository = \"/r\"\ncopy.to = [\"a\"]\n",
            "line 3, key profiles.a.copy.to[0]: a profile cannot copy to itself",
        ),
        (
            "[profiles.a]\nrepository = \"/r\"\n[[profiles.a.sources]]\ncommand = []\n",
            "line 4, key profiles.a.sources[0].command: an empty command",
        ),
        (
            "[profiles.a]\nrepository = \"/r\"\n[[profiles.a.sources]]\ncommand = [\"x\"]\nstdin-name = \"a/b\"\n",
            "line 5, key profiles.a.sources[0].stdin-name: --stdin-name 'a/b' must be a plain file name",
        ),
        (
            "[profiles.a]\nrepository = \"/r\"\n[profiles.a.s3]\naddressing = \"both\"\n",
            "line 4, key profiles.a.s3.addressing: expected \"path\" or \"virtual\"",
        ),
        (
            "[profiles.a]\nrepository = \"/r\"\n[profiles.a.schedule]\n",
            "line 3, key profiles.a.schedule: give on-calendar",
        ),
        (
            "[profiles.a]\nrepository = \"/r\"\nhooks.after = \"notify --token s3cr3t\"\n",
            "line 3, key profiles.a.hooks.after: invalid type: a string, expected a sequence",
        ),
    ];
    for (text, want) in cases {
        let e = parse(text).unwrap_err();
        assert_eq!(e.kind(), cairn_engine::ErrorKind::InvalidInput);
        let msg = e.to_string();
        assert!(
            msg.starts_with("config file /etc/cairn/cairn.toml, ") && msg.contains(want),
            "{msg}\nwanted: {want}"
        );
        assert!(!msg.contains("s3cr3t"), "{msg}");
    }
}

/// The README's example config is valid, and its sample error is what
/// Cairn prints for it with `keep-daily = -7`.
#[test]
fn the_readme_example_is_true() {
    let readme = include_str!("../../../README.md");
    let start = readme.find("```toml\n# /etc/cairn/cairn.toml\n").unwrap() + "```toml\n".len();
    let len = readme.get(start..).unwrap().find("```").unwrap();
    let example = readme.get(start..start + len).unwrap();
    let c = parse(example).unwrap();
    assert_eq!(c.profiles.len(), 2);
    let e = parse(&example.replace("keep-daily = 7", "keep-daily = -7")).unwrap_err();
    let shown = format!("cairn: error: {e}\n");
    assert!(readme.contains(&shown), "README does not show: {shown}");
}
