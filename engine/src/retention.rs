//! Retention policies for `cairn forget`: a pure function from snapshots,
//! a policy and a time zone to keep/remove decisions with reasons.
//!
//! Semantics follow restic's documented policy (`restic forget`):
//! snapshots are considered newest first; `--keep-last n` keeps the n
//! newest; each calendar rule (hourly … yearly) keeps the newest snapshot
//! of each of the n most recent periods that have a snapshot (`-1` means
//! every period); `--keep-within D` keeps everything not older than D
//! measured back from the *newest snapshot* (not from now), and
//! `--keep-within-daily D` (etc.) keeps one snapshot per period within D;
//! `--keep-tag` keeps snapshots with any listed tag. Periods are computed
//! in the given time zone, so DST changes shift hours but never days.
//! Differences from restic: a snapshot tagged `protected` is always kept;
//! quarters are a period of their own (`--keep-quarterly`).

use crate::id::SnapshotId;
use crate::tree::Timestamp;
use jiff::tz::TimeZone;

/// The reserved tag that makes a snapshot immune to `forget`.
pub const PROTECTED_TAG: &str = "protected";

/// Calendar periods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    /// Calendar hour.
    Hourly,
    /// Calendar day.
    Daily,
    /// ISO week.
    Weekly,
    /// Calendar month.
    Monthly,
    /// Calendar quarter.
    Quarterly,
    /// Calendar year.
    Yearly,
}

impl Period {
    /// All periods, shortest first.
    pub const ALL: [Period; 6] = [
        Period::Hourly,
        Period::Daily,
        Period::Weekly,
        Period::Monthly,
        Period::Quarterly,
        Period::Yearly,
    ];

    /// The option name suffix (`hourly`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Period::Hourly => "hourly",
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Quarterly => "quarterly",
            Period::Yearly => "yearly",
        }
    }

    fn key(self, t: Timestamp, tz: &TimeZone) -> (i32, i32, i32, i32) {
        let Ok(ts) = jiff::Timestamp::new(t.secs, t.nanos as i32) else {
            return (i32::MIN, 0, 0, 0);
        };
        let z = ts.to_zoned_datetime(tz.clone());
        let (y, m, d, h) = (
            i32::from(z.year()),
            i32::from(z.month()),
            i32::from(z.day()),
            i32::from(z.hour()),
        );
        match self {
            Period::Hourly => (y, m, d, h),
            Period::Daily => (y, m, d, 0),
            Period::Weekly => {
                let w = z.date().iso_week_date();
                (i32::from(w.year()), i32::from(w.week()), 0, 0)
            }
            Period::Monthly => (y, m, 0, 0),
            Period::Quarterly => (y, (m - 1) / 3, 0, 0),
            Period::Yearly => (y, 0, 0, 0),
        }
    }
}

/// A retention policy. Counts of `-1` mean "every period".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// Keep the n newest.
    pub last: Option<i64>,
    /// Per period: keep the newest snapshot of the n newest periods.
    pub periods: Vec<(Period, i64)>,
    /// Keep everything within this many seconds of the newest snapshot.
    pub within: Option<i64>,
    /// Per period: keep one per period within this many seconds.
    pub within_periods: Vec<(Period, i64)>,
    /// Keep snapshots with any of these tags.
    pub tags: Vec<String>,
}

impl Policy {
    /// No rule at all (forget would remove everything unprotected).
    pub fn is_empty(&self) -> bool {
        self.last.is_none()
            && self.periods.is_empty()
            && self.within.is_none()
            && self.within_periods.is_empty()
            && self.tags.is_empty()
    }
}

/// What the policy sees of a snapshot.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The snapshot.
    pub id: SnapshotId,
    /// Its time.
    pub time: Timestamp,
    /// Its tags.
    pub tags: Vec<String>,
}

/// A decision with the rules that caused it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The snapshot.
    pub id: SnapshotId,
    /// Keep it?
    pub keep: bool,
    /// Why (empty when removed: no rule kept it).
    pub reasons: Vec<String>,
}

/// Apply `policy` to one group of snapshots. Output is newest first.
pub fn apply(policy: &Policy, snaps: &[Candidate], tz: &TimeZone) -> Vec<Decision> {
    let mut order: Vec<&Candidate> = snaps.iter().collect();
    order.sort_by(|a, b| b.time.cmp(&a.time).then(b.id.cmp(&a.id)));
    let newest = order.first().map(|c| c.time.secs).unwrap_or(0);
    let mut out: Vec<Decision> = order
        .iter()
        .map(|c| Decision {
            id: c.id,
            keep: false,
            reasons: Vec::new(),
        })
        .collect();
    let mut keep = |i: usize, why: String| {
        if let Some(d) = out.get_mut(i) {
            d.keep = true;
            d.reasons.push(why);
        }
    };
    for (i, c) in order.iter().enumerate() {
        if c.tags.iter().any(|t| t == PROTECTED_TAG) {
            keep(i, "protected".into());
        }
        if let Some(t) = c.tags.iter().find(|t| policy.tags.contains(t)) {
            keep(i, format!("tag {t}"));
        }
        if policy.last.is_some_and(|n| n < 0 || (i as i64) < n) {
            keep(i, "last snapshot".into());
        }
        if policy
            .within
            .is_some_and(|w| newest.saturating_sub(c.time.secs) <= w)
        {
            keep(i, "within".into());
        }
    }
    for &(period, n) in &policy.periods {
        let mut seen = 0i64;
        let mut last_key = None;
        for (i, c) in order.iter().enumerate() {
            if n >= 0 && seen >= n {
                break;
            }
            let key = period.key(c.time, tz);
            if last_key != Some(key) {
                last_key = Some(key);
                seen += 1;
                keep(i, format!("{} snapshot", period.name()));
            }
        }
    }
    for &(period, within) in &policy.within_periods {
        let mut last_key = None;
        for (i, c) in order.iter().enumerate() {
            if newest.saturating_sub(c.time.secs) > within {
                break;
            }
            let key = period.key(c.time, tz);
            if last_key != Some(key) {
                last_key = Some(key);
                keep(i, format!("within-{} snapshot", period.name()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(i: u8, secs: i64, tags: &[&str]) -> Candidate {
        Candidate {
            id: SnapshotId([i; 32]),
            time: Timestamp { secs, nanos: 0 },
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn keep_last_and_daily_and_tags() {
        let day = 86_400;
        let snaps: Vec<Candidate> = (0..10u8)
            .map(|i| snap(i, 1_700_000_000 + i64::from(i) * day / 2, &[]))
            .collect();
        let p = Policy {
            last: Some(2),
            periods: vec![(Period::Daily, 3)],
            ..Policy::default()
        };
        let d = apply(&p, &snaps, &TimeZone::UTC);
        let kept: Vec<u8> = d.iter().filter(|d| d.keep).map(|d| d.id.0[0]).collect();
        // Newest two (9, 8), plus the newest of each of the 3 newest days
        // (19th: 9, 18th: 8, 17th: 6).
        assert_eq!(kept, vec![9, 8, 6]);
        let mut with_tag = snaps.clone();
        with_tag[0].tags = vec!["protected".into()];
        let d = apply(&Policy::default(), &with_tag, &TimeZone::UTC);
        assert_eq!(d.iter().filter(|d| d.keep).count(), 1);
    }
}
