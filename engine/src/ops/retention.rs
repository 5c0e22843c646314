//! Retention policies for `cairn forget`: a pure function from snapshots,
//! a policy and a time zone to keep/remove decisions with reasons.
//!
//! Semantics follow restic's documented policy (`restic forget`):
//! snapshots are considered newest first; `--keep-last n` keeps the n
//! newest; each calendar rule (hourly … yearly) keeps the newest snapshot
//! of each of the n most recent periods that have a snapshot (`-1` means
//! every period), and when the snapshots run out before n periods are
//! filled it also keeps the oldest snapshot; `--keep-within D` keeps
//! snapshots newer than the *newest snapshot's* time minus D (not now
//! minus D), where D is a calendar duration such as `1y5m7d2h`
//! ([`CalendarDuration`]: `m` is months), and `--keep-within-daily D`
//! (etc.) keeps one snapshot per period within D; `--keep-tag a,b` keeps
//! snapshots carrying all of `a` and `b` (repeat the flag for
//! alternatives). Periods are computed in the given time zone, so DST
//! changes shift hours but never days. Differences from restic: a snapshot
//! tagged `protected` is always kept; zero counts are rejected by the CLI
//! rather than ignored.

use crate::error::{Error, Result};
use crate::format::tree::Timestamp;
use crate::id::SnapshotId;
use jiff::tz::TimeZone;

/// A calendar duration as restic writes it: `1y5m7d2h` is one year, five
/// months, seven days and two hours. Units: `y` years, `m` months, `d`
/// days, `h` hours; each at most once, any order, no sign.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CalendarDuration {
    /// Years.
    pub years: i32,
    /// Months (not minutes).
    pub months: i32,
    /// Days.
    pub days: i32,
    /// Hours.
    pub hours: i32,
}

impl CalendarDuration {
    /// Parse restic's duration syntax; anything else is an error that
    /// names the accepted units.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid(format!(
                "'{s}' is not a retention duration ({why}): write a number and a unit, \
                 combined like 1y5m7d2h, with y = years, m = months, d = days, h = hours"
            ))
        };
        let mut d = CalendarDuration::default();
        let mut seen = [false; 4];
        let mut num = String::new();
        for c in s.trim().chars() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            if num.is_empty() {
                return Err(bad(&format!("no number before '{c}'")));
            }
            let n: i32 = num.parse().map_err(|_| bad("number too large"))?;
            num.clear();
            let (slot, field) = match c {
                'y' => (0, &mut d.years),
                'm' => (1, &mut d.months),
                'd' => (2, &mut d.days),
                'h' => (3, &mut d.hours),
                _ => return Err(bad(&format!("unknown unit '{c}'"))),
            };
            if std::mem::replace(&mut seen[slot], true) {
                return Err(bad(&format!("unit '{c}' given twice")));
            }
            *field = n;
        }
        if !num.is_empty() {
            return Err(bad("a number without a unit"));
        }
        if !seen.contains(&true) {
            return Err(bad("empty"));
        }
        Ok(d)
    }

    /// All parts zero (restic: the rule is not applied).
    pub fn is_zero(&self) -> bool {
        *self == CalendarDuration::default()
    }

    /// `t` moved back by this duration, as restic computes it (Go's
    /// `AddDate(-y, -m, -d)` then `Add(-h hours)`): the years and months
    /// are taken off the civil date in `tz`, days past the end of the
    /// resulting month roll over into the next one (31 March minus one
    /// month is 3 March), the days are taken off the calendar, and the
    /// hours off the elapsed time. `None` if out of range.
    pub fn before(&self, t: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let ts = jiff::Timestamp::new(t.secs, t.nanos as i32).ok()?;
        let dt = ts.to_zoned_datetime(tz.clone()).datetime();
        let months = i64::from(dt.year()) * 12 + i64::from(dt.month())
            - 1
            - i64::from(self.years) * 12
            - i64::from(self.months);
        let first = jiff::civil::Date::new(
            i16::try_from(months.div_euclid(12)).ok()?,
            i8::try_from(months.rem_euclid(12) + 1).ok()?,
            1,
        )
        .ok()?;
        let day_offset = i64::from(dt.day()) - 1 - i64::from(self.days);
        let date = first
            .checked_add(jiff::Span::new().try_days(day_offset).ok()?)
            .ok()?;
        let wall = date.to_datetime(dt.time());
        let at = tz.to_zoned_datetime(wall).ok()?.timestamp();
        let at = at
            .checked_sub(jiff::SignedDuration::from_hours(i64::from(self.hours)))
            .ok()?;
        Some(Timestamp {
            secs: at.as_second(),
            nanos: at.subsec_nanosecond().max(0) as u32,
        })
    }
}

impl std::fmt::Display for CalendarDuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, u) in [
            (self.years, 'y'),
            (self.months, 'm'),
            (self.days, 'd'),
            (self.hours, 'h'),
        ] {
            if n != 0 {
                write!(f, "{n}{u}")?;
            }
        }
        if self.is_zero() {
            f.write_str("0h")?;
        }
        Ok(())
    }
}

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
    /// Keep everything newer than the newest snapshot minus this.
    pub within: Option<CalendarDuration>,
    /// Per period: keep one per period newer than the newest minus this.
    pub within_periods: Vec<(Period, CalendarDuration)>,
    /// Keep snapshots that carry every tag of any one of these lists.
    pub tags: Vec<Vec<String>>,
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
    let newest = order.first().map(|c| c.time).unwrap_or_default();
    // A cutoff that cannot be computed (out of range) keeps everything.
    let cutoff = |d: &CalendarDuration| {
        d.before(newest, tz).unwrap_or(Timestamp {
            secs: i64::MIN,
            nanos: 0,
        })
    };
    let oldest = order.len().saturating_sub(1);
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
    let within = policy.within.filter(|d| !d.is_zero());
    for (i, c) in order.iter().enumerate() {
        if c.tags.iter().any(|t| t == PROTECTED_TAG) {
            keep(i, "protected".into());
        }
        for group in &policy.tags {
            if !group.is_empty() && group.iter().all(|t| c.tags.contains(t)) {
                keep(i, format!("tags {}", group.join(",")));
            }
        }
        if let Some(d) = within {
            if c.time > cutoff(&d) {
                keep(i, format!("within {d}"));
            }
        }
    }
    if let Some(n) = policy.last.filter(|n| *n != 0) {
        for i in 0..order.len() {
            if n >= 0 && i as i64 >= n {
                break;
            }
            keep(i, "last snapshot".into());
        }
    }
    for &(period, n) in &policy.periods {
        let mut left = n;
        let mut last_key = None;
        for (i, c) in order.iter().enumerate() {
            if left == 0 {
                break;
            }
            let key = period.key(c.time, tz);
            if last_key != Some(key) {
                last_key = Some(key);
                left -= i64::from(left > 0);
                keep(i, format!("{} snapshot", period.name()));
            } else if i == oldest {
                // Counts left but no older period: restic keeps the oldest.
                keep(i, format!("oldest {} snapshot", period.name()));
            }
        }
    }
    for (period, d) in &policy.within_periods {
        if d.is_zero() {
            continue;
        }
        let limit = cutoff(d);
        let mut last_key = None;
        for (i, c) in order.iter().enumerate() {
            if c.time <= limit {
                break;
            }
            let key = period.key(c.time, tz);
            if last_key != Some(key) {
                last_key = Some(key);
                keep(i, format!("{} within {d}", period.name()));
            } else if i == oldest {
                keep(i, format!("oldest {} within {d}", period.name()));
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

    /// First ID bytes of the snapshots `p` keeps, newest first (UTC).
    fn kept(p: &Policy, snaps: &[Candidate]) -> Vec<u8> {
        apply(p, snaps, &TimeZone::UTC)
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.id.0[0])
            .collect()
    }

    fn at(s: &str) -> Timestamp {
        let t: jiff::Timestamp = s.parse().unwrap();
        Timestamp {
            secs: t.as_second(),
            nanos: 0,
        }
    }

    #[test]
    fn six_m_means_six_months_as_in_restic() {
        let d = CalendarDuration::parse("6m").unwrap();
        assert_eq!(d.months, 6);
        let newest = at("2026-12-01T00:00:00Z");
        assert_eq!(
            d.before(newest, &TimeZone::UTC),
            Some(at("2026-06-01T00:00:00Z"))
        );
        let d = CalendarDuration::parse("1y5m7d2h").unwrap();
        assert_eq!((d.years, d.months, d.days, d.hours), (1, 5, 7, 2));
        assert_eq!(d.to_string(), "1y5m7d2h");
        // Go's AddDate normalisation: 31 March minus one month is "31
        // February", which rolls over to 3 March.
        let d = CalendarDuration::parse("1m").unwrap();
        assert_eq!(
            d.before(at("2026-03-31T12:00:00Z"), &TimeZone::UTC),
            Some(at("2026-03-03T12:00:00Z"))
        );
        // Days cross month and year boundaries on the calendar.
        let d = CalendarDuration::parse("2d").unwrap();
        assert_eq!(
            d.before(at("2026-01-01T05:00:00Z"), &TimeZone::UTC),
            Some(at("2025-12-30T05:00:00Z"))
        );
        for bad in [
            "",
            "6",
            "m",
            "6x",
            "6min",
            "5s",
            "2w",
            "1d1d",
            "-1d",
            "1.5d",
            "99999999999y",
        ] {
            assert!(CalendarDuration::parse(bad).is_err(), "{bad}");
        }
        assert!(CalendarDuration::parse("0d").unwrap().is_zero());
    }

    #[test]
    fn keep_within_is_strictly_newer_than_the_cutoff() {
        let newest = at("2026-12-01T00:00:00Z").secs;
        let snaps = vec![
            snap(1, newest, &[]),
            snap(2, newest - 86_400, &[]),
            snap(3, newest - 86_400 - 1, &[]),
        ];
        let p = Policy {
            within: Some(CalendarDuration::parse("1d").unwrap()),
            ..Policy::default()
        };
        let kept = kept(&p, &snaps);
        assert_eq!(
            kept,
            vec![1],
            "restic keeps only snapshots after the cutoff"
        );
    }

    #[test]
    fn counts_left_keep_the_oldest_snapshot_as_restic_does() {
        let day = 86_400;
        // Two snapshots on one day: daily 5 keeps the newest of the day and,
        // with counts left and nothing older, the oldest too.
        let snaps = vec![snap(1, 10 * day + 100, &[]), snap(2, 10 * day + 50, &[])];
        let p = Policy {
            periods: vec![(Period::Daily, 5)],
            ..Policy::default()
        };
        let d = apply(&p, &snaps, &TimeZone::UTC);
        assert!(d.iter().all(|d| d.keep), "{d:?}");
        assert_eq!(d[1].reasons, vec!["oldest daily snapshot".to_string()]);
    }

    #[test]
    fn keep_tag_groups_need_every_tag() {
        let snaps = vec![snap(1, 100, &["a"]), snap(2, 50, &["a", "b"])];
        let p = Policy {
            tags: vec![vec!["a".into(), "b".into()]],
            ..Policy::default()
        };
        let kept = kept(&p, &snaps);
        assert_eq!(kept, vec![2]);
    }
}
