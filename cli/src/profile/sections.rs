//! The two sections whose meaning is another command's flags: a source
//! (`cairn backup`'s) and the retention policy (`cairn forget`'s).
//!
//! Invariant: a retention key means exactly what the `forget` flag of the
//! same name means, because it *is* that flag: each key is handed to
//! clap as `--KEY=VALUE` through `forget`'s own argument definitions and
//! then to `forget`'s own policy builder, first alone (so an error names
//! its key and line), then all together.

use super::check::{absolute, argv, non_negative, refused, strings, text, Bad, Checked};
use super::{raw, Retention, Source, SourceKind};
use crate::commands::forget::ForgetArgs;
use cairn_engine::ops::forget::GroupBy;
use cairn_engine::source::mongodb::{conn::is_mongodb_uri, Consistency};
use std::ops::Range;
use toml::Spanned;

/// One `[[sources]]` entry.
pub fn source(s: &Spanned<raw::Source>) -> Checked<Source> {
    let span = s.span();
    let s = s.get_ref();
    let kind = match (&s.paths, &s.mongodb, &s.command) {
        (Some(_), None, None) => "paths",
        (None, Some(_), None) => "mongodb",
        (None, None, Some(_)) => "command",
        (None, None, None) => {
            return Err((
                span,
                "a source needs one of paths, mongodb or command".into(),
            ))
        }
        _ => return Err((
            span,
            "a source has one of paths, mongodb or command; write one [[sources]] table for each"
                .into(),
        )),
    };
    keys_of_the_kind(s, kind)?;
    let tags = match &s.tags {
        Some(t) => strings(t, "tag")?,
        None => Vec::new(),
    };
    crate::commands::tag::checked_tags(&tags, "tags")
        .map_err(refused(s.tags.as_ref().map_or(span.clone(), |t| t.span())))?;
    let kind = match (&s.paths, &s.mongodb, &s.command) {
        (Some(paths), _, _) => paths_source(paths, s)?,
        (_, Some(uri), _) => mongo_source(uri, s)?,
        (_, _, Some(cmd)) => command_source(cmd, s)?,
        (None, None, None) => return Err((span, "no source".into())),
    };
    Ok(Source { kind, tags })
}

/// Every option given belongs to the source's kind (`exclude` on a
/// MongoDB source is a mistake, not something to ignore).
fn keys_of_the_kind(s: &raw::Source, kind: &str) -> Checked<()> {
    fn at<T>(v: &Option<Spanned<T>>) -> Option<Range<usize>> {
        v.as_ref().map(Spanned::span)
    }
    for (span, key, owner) in [
        (at(&s.exclude), "exclude", "paths"),
        (at(&s.one_file_system), "one-file-system", "paths"),
        (at(&s.db), "db", "mongodb"),
        (at(&s.collection), "collection", "mongodb"),
        (at(&s.exclude_collection), "exclude-collection", "mongodb"),
        (at(&s.consistency), "consistency", "mongodb"),
        (at(&s.mongo_timeout), "mongo-timeout", "mongodb"),
        (at(&s.stdin_name), "stdin-name", "command"),
    ] {
        if let Some(span) = span.filter(|_| owner != kind) {
            return Err((
                span,
                format!("{key} applies to {owner} sources, not to a {kind} source"),
            ));
        }
    }
    Ok(())
}

fn paths_source(paths: &Spanned<Vec<Spanned<String>>>, s: &raw::Source) -> Checked<SourceKind> {
    if paths.get_ref().is_empty() {
        return Err((paths.span(), "no path: give at least one".into()));
    }
    let excludes = match &s.exclude {
        Some(list) => strings(list, "pattern")?,
        None => Vec::new(),
    };
    // Each pattern alone, so an error names the one that fails.
    for (p, given) in excludes
        .iter()
        .zip(s.exclude.iter().flat_map(|l| l.get_ref()))
    {
        cairn_engine::source::filter::PathFilter::new(std::slice::from_ref(p))
            .map_err(refused(given.span()))?;
    }
    Ok(SourceKind::Paths {
        paths: paths
            .get_ref()
            .iter()
            .map(absolute)
            .collect::<Checked<_>>()?,
        excludes,
        one_file_system: s.one_file_system.as_ref().is_some_and(|b| *b.get_ref()),
    })
}

fn mongo_source(uri: &Spanned<String>, s: &raw::Source) -> Checked<SourceKind> {
    let u = text(uri)?;
    if !is_mongodb_uri(&u) {
        return Err((
            uri.span(),
            "expected a mongodb:// or mongodb+srv:// URI".into(),
        ));
    }
    let list = |l: &Option<Spanned<Vec<Spanned<String>>>>, what| match l {
        Some(l) => strings(l, what),
        None => Ok(Vec::new()),
    };
    Ok(SourceKind::MongoDb {
        uri: u,
        dbs: list(&s.db, "database")?,
        collections: list(&s.collection, "collection")?,
        exclude_collections: list(&s.exclude_collection, "collection")?,
        consistency: match &s.consistency {
            Some(c) => Consistency::parse(c.get_ref()).map_err(refused(c.span()))?,
            None => Consistency::Auto,
        },
        timeout_secs: s
            .mongo_timeout
            .as_ref()
            .map(non_negative)
            .transpose()?
            .unwrap_or(10),
    })
}

fn command_source(cmd: &Spanned<Vec<Spanned<String>>>, s: &raw::Source) -> Checked<SourceKind> {
    let stdin_name = match &s.stdin_name {
        Some(n) => {
            let name = text(n)?;
            // The same check `backup --stdin-name` gets.
            cairn_engine::source::stdin::StdinSource::new(&name, std::io::empty())
                .map_err(refused(n.span()))?;
            name
        }
        None => "stdin".into(),
    };
    Ok(SourceKind::Command {
        argv: argv(cmd)?,
        stdin_name,
    })
}

/// `[retention]`, through `cairn forget`'s own flags.
pub fn retention(r: &Spanned<raw::Retention>) -> Checked<Retention> {
    let t = r.get_ref();
    let count = |v: &Option<Spanned<i64>>| v.as_ref().map(|n| (n.span(), n.get_ref().to_string()));
    let string = |v: &Option<Spanned<String>>| v.as_ref().map(|s| (s.span(), s.get_ref().clone()));
    let mut flags: Vec<(&str, Range<usize>, String)> = Vec::new();
    for (flag, value) in [
        ("keep-last", count(&t.keep_last)),
        ("keep-hourly", count(&t.keep_hourly)),
        ("keep-daily", count(&t.keep_daily)),
        ("keep-weekly", count(&t.keep_weekly)),
        ("keep-monthly", count(&t.keep_monthly)),
        ("keep-quarterly", count(&t.keep_quarterly)),
        ("keep-yearly", count(&t.keep_yearly)),
        ("keep-within", string(&t.keep_within)),
        ("keep-within-hourly", string(&t.keep_within_hourly)),
        ("keep-within-daily", string(&t.keep_within_daily)),
        ("keep-within-weekly", string(&t.keep_within_weekly)),
        ("keep-within-monthly", string(&t.keep_within_monthly)),
        ("keep-within-quarterly", string(&t.keep_within_quarterly)),
        ("keep-within-yearly", string(&t.keep_within_yearly)),
        ("group-by", string(&t.group_by)),
        ("max-unused", string(&t.max_unused)),
        ("max-repack-size", string(&t.max_repack_size)),
    ] {
        if let Some((span, v)) = value {
            flags.push((flag, span, v));
        }
    }
    for tag in t.keep_tag.iter().flat_map(|l| l.get_ref()) {
        flags.push(("keep-tag", tag.span(), text(tag)?));
    }
    for (flag, span, value) in &flags {
        retention_from(&[(flag, value)]).map_err(|why| (span.clone(), why))?;
    }
    let all: Vec<(&str, &String)> = flags.iter().map(|(f, _, v)| (*f, v)).collect();
    let checked = retention_from(&all).map_err(|why| (r.span(), why))?;
    if checked.policy.is_empty() {
        return Err(no_rule(r.span()));
    }
    Ok(checked)
}

fn no_rule(span: Range<usize>) -> Bad {
    (
        span,
        "no keep rule (counts of 0 and empty durations are no rule, as in restic): give at least one keep-* key, or remove [retention]"
            .into(),
    )
}

/// Parse `--FLAG=VALUE`s as `cairn forget` does, into a retention.
fn retention_from(flags: &[(&str, &String)]) -> Result<Retention, String> {
    use clap::{Args, FromArgMatches};
    let cmd = ForgetArgs::augment_args(clap::Command::new("forget").no_binary_name(true));
    let argv: Vec<String> = flags.iter().map(|(f, v)| format!("--{f}={v}")).collect();
    let m = cmd.try_get_matches_from(argv).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or_default();
        first.trim_start_matches("error: ").to_owned()
    })?;
    let a = ForgetArgs::from_arg_matches(&m).map_err(|e| e.to_string())?;
    Ok(Retention {
        policy: crate::commands::forget::policy(&a).map_err(|e| e.to_string())?,
        group_by: GroupBy::parse(&a.group_by).map_err(|e| e.to_string())?,
        prune: crate::commands::prune::options(&a.prune_opts, false).map_err(|e| e.to_string())?,
    })
}
