//! Golden tests for the retention policy engine: its decisions over many
//! policy combinations and calendars (DST changes in a zone with DST, year
//! boundaries, snapshots with identical times) are pinned in
//! `tests/golden/retention.txt`. Regenerate deliberately with
//! `CAIRN_BLESS=1 cargo test -p cairn-engine --test retention_golden` and
//! review the diff: every changed line is a changed keep/remove decision.

use cairn_engine::ops::retention::{apply, CalendarDuration, Candidate, Period, Policy};
use cairn_engine::SnapshotId;
use cairn_engine::Timestamp;
use jiff::tz::TimeZone;

fn at(s: &str) -> i64 {
    s.parse::<jiff::Timestamp>().expect("timestamp").as_second()
}

/// Snapshots across a DST change, a year boundary and identical times.
fn history() -> Vec<Candidate> {
    let mut times: Vec<i64> = Vec::new();
    // Every 6 hours for 10 days around the CET→CEST switch (2026-03-29).
    let start = at("2026-03-24T00:30:00Z");
    times.extend((0..40).map(|i| start + i * 6 * 3600));
    // Nightly around the new year 2025/2026 and the CEST→CET switch.
    let ny = at("2025-12-25T01:00:00Z");
    times.extend((0..14).map(|i| ny + i * 86_400));
    let autumn = at("2026-10-20T23:30:00Z");
    times.extend((0..12).map(|i| autumn + i * 86_400));
    // Monthly for two years, plus three snapshots at the very same second.
    let base = at("2024-01-15T12:00:00Z");
    times.extend((0..24).map(|i| base + i * 30 * 86_400));
    let same = at("2026-06-01T08:00:00Z");
    times.extend([same, same, same]);
    times
        .into_iter()
        .enumerate()
        .map(|(i, secs)| Candidate {
            id: SnapshotId([(i % 251) as u8; 32]),
            time: Timestamp { secs, nanos: 0 },
            tags: if i % 17 == 0 {
                vec!["monthly-report".into()]
            } else {
                Vec::new()
            },
        })
        .collect()
}

fn dur(s: &str) -> CalendarDuration {
    CalendarDuration::parse(s).expect("duration")
}

fn policies() -> Vec<(&'static str, Policy)> {
    let p = |periods: Vec<(Period, i64)>| Policy {
        periods,
        ..Policy::default()
    };
    vec![
        (
            "last-5",
            Policy {
                last: Some(5),
                ..Policy::default()
            },
        ),
        ("hourly-10", p(vec![(Period::Hourly, 10)])),
        ("daily-7", p(vec![(Period::Daily, 7)])),
        (
            "daily-7-weekly-4-monthly-12-yearly-3",
            p(vec![
                (Period::Daily, 7),
                (Period::Weekly, 4),
                (Period::Monthly, 12),
                (Period::Yearly, 3),
            ]),
        ),
        ("quarterly-all", p(vec![(Period::Quarterly, -1)])),
        (
            "within-3d",
            Policy {
                within: Some(dur("3d")),
                ..Policy::default()
            },
        ),
        (
            "within-daily-30d",
            Policy {
                within_periods: vec![(Period::Daily, dur("30d"))],
                ..Policy::default()
            },
        ),
        (
            "within-6m (six months, as in restic)",
            Policy {
                within: Some(dur("6m")),
                ..Policy::default()
            },
        ),
        (
            "within-monthly-1y2m+weekly-3",
            Policy {
                within_periods: vec![(Period::Monthly, dur("1y2m"))],
                periods: vec![(Period::Weekly, 3)],
                ..Policy::default()
            },
        ),
        (
            "tag-monthly-report+last-1",
            Policy {
                last: Some(1),
                tags: vec![vec!["monthly-report".into()]],
                ..Policy::default()
            },
        ),
    ]
}

fn render() -> String {
    let snaps = history();
    let mut out = String::new();
    for (zone_name, tz) in [
        ("UTC", TimeZone::UTC),
        (
            "CET-1CEST",
            TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("tz"),
        ),
    ] {
        for (name, policy) in policies() {
            out.push_str(&format!("## {name} in {zone_name}\n"));
            for d in apply(&policy, &snaps, &tz) {
                let c = snaps.iter().find(|c| c.id == d.id).expect("candidate");
                let t = jiff::Timestamp::from_second(c.time.secs).expect("ts");
                let local = t
                    .to_zoned_datetime(tz.clone())
                    .strftime("%Y-%m-%d %H:%M %Z")
                    .to_string();
                out.push_str(&format!(
                    "{} {local} {}\n",
                    if d.keep { "keep  " } else { "remove" },
                    d.reasons.join(", ")
                ));
            }
        }
    }
    out
}

#[test]
fn retention_decisions_match_golden() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/retention.txt");
    let got = render();
    if std::env::var_os("CAIRN_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &got).expect("write golden");
    }
    let want = std::fs::read_to_string(&path).expect("golden file: run with CAIRN_BLESS=1 once");
    assert!(
        got == want,
        "retention decisions changed; review with CAIRN_BLESS=1 and git diff"
    );
}
