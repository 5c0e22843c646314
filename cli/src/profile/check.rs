//! From the file as written ([`super::raw`]) to typed profiles: every
//! value is parsed here, once, by the code that parses the flag it
//! mirrors. Sources and retention are in [`super::sections`].
//!
//! Invariant: a check that refuses a value reports the value's span (so
//! [`super::place`] names its line and key) and quotes no string that may
//! hold a secret (commands, URIs, paths; serde's type errors are stripped
//! of the string they quote); paths a timer will use must be absolute, since a timer runs in
//! `/` and a relative path would silently mean something else there.

use super::place::Doc;
use super::{raw, sections, Config, CopyTarget, Drill, Hooks, Profile, Schedule};
use crate::location::{Location, S3Settings};
use crate::password;
use cairn_engine::ops::scrub::{ScrubOptions, Subset};
use cairn_engine::Result;
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;

/// A refused value: where, and why.
pub type Bad = (Range<usize>, String);
/// A check's result.
pub type Checked<T> = std::result::Result<T, Bad>;

/// Validate a whole file.
pub fn config(doc: &Doc<'_>) -> Result<Config> {
    let file: raw::File =
        toml::from_str(doc.text).map_err(|e| doc.error(e.span(), &unquoted(e.message())))?;
    let names: BTreeSet<&str> = BTreeMap::keys(&file.profiles).map(String::as_str).collect();
    let mut profiles = BTreeMap::new();
    for (name, p) in &file.profiles {
        let checked = profile_name(name, p.span())
            .and_then(|()| profile(name, p.get_ref(), &names))
            .map_err(|(span, msg)| doc.error(Some(span), &msg))?;
        profiles.insert(name.clone(), checked);
    }
    Ok(Config {
        path: doc.path.to_owned(),
        profiles,
    })
}

/// serde's type errors quote the string they got (`invalid type: string
/// "curl -H 'token: …'", expected a sequence`); a string may be a command
/// line with a secret in it, so say only that it was a string.
fn unquoted(msg: &str) -> String {
    for lead in ["invalid type: string \"", "invalid value: string \""] {
        if let Some(rest) = msg.strip_prefix(lead) {
            if let Some((_, expected)) = rest.rsplit_once("\", expected ") {
                let kind = lead.split(':').next().unwrap_or_default();
                return format!("{kind}: a string, expected {expected}");
            }
        }
    }
    msg.to_owned()
}

/// Profile names become unit and cron file names (`cairn-NAME.timer`,
/// `/etc/cron.d/cairn-NAME`; cron ignores files with a dot in the name).
fn profile_name(name: &str, span: Range<usize>) -> Checked<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err((
            span,
            "a profile name is 1 to 64 letters, digits, '-' and '_' (it names files such as cairn-NAME.timer)".into(),
        ))
    }
}

fn profile(name: &str, p: &raw::Profile, names: &BTreeSet<&str>) -> Checked<Profile> {
    let s3 = s3(p.s3.as_ref())?;
    let repository = location(&p.repository, &s3, "repository")?;
    let password = match (&p.password_file, &p.password_command) {
        (Some(_), Some(c)) => {
            return Err((
                c.span(),
                "give password-file or password-command, not both".into(),
            ))
        }
        (Some(f), None) => Some(password::Source::File(absolute(f)?)),
        (None, Some(c)) => {
            let cmd = text(c)?;
            if cmd.trim().is_empty() {
                return Err((c.span(), "the password command is empty".into()));
            }
            Some(password::Source::Command(cmd.into()))
        }
        (None, None) => None,
    };
    Ok(Profile {
        name: name.to_owned(),
        repository,
        password,
        cache_dir: p.cache_dir.as_ref().map(absolute).transpose()?,
        sources: p
            .sources
            .iter()
            .map(sections::source)
            .collect::<Checked<_>>()?,
        retention: p.retention.as_ref().map(sections::retention).transpose()?,
        copy: match &p.copy {
            Some(c) => copy(name, c, names, &s3)?,
            None => Vec::new(),
        },
        scrub: p.scrub.as_ref().map(scrub).transpose()?,
        drill: p.drill.as_ref().map(drill).transpose()?,
        hooks: p.hooks.as_ref().map(hooks).transpose()?.unwrap_or_default(),
        schedule: p
            .schedule
            .as_ref()
            .map(|s| Schedule::check(s.get_ref(), s.span()))
            .transpose()?,
        s3,
    })
}

/// A string without NUL (which no path, argv or URI may hold).
pub fn text(s: &Spanned<String>) -> Checked<String> {
    if s.get_ref().contains('\0') {
        return Err((s.span(), "contains a NUL character".into()));
    }
    Ok(s.get_ref().clone())
}

/// An absolute path.
pub fn absolute(s: &Spanned<String>) -> Checked<PathBuf> {
    let p = PathBuf::from(text(s)?);
    if !p.is_absolute() {
        return Err((
            s.span(),
            "must be an absolute path (a scheduled run starts in /)".into(),
        ));
    }
    Ok(p)
}

/// A list of non-empty strings.
pub fn strings(list: &Spanned<Vec<Spanned<String>>>, what: &str) -> Checked<Vec<String>> {
    list.get_ref()
        .iter()
        .map(|s| match text(s)? {
            t if t.is_empty() => Err((s.span(), format!("an empty {what}"))),
            t => Ok(t),
        })
        .collect()
}

/// A count that must not be negative.
pub fn non_negative(n: &Spanned<i64>) -> Checked<u64> {
    u64::try_from(*n.get_ref()).map_err(|_| (n.span(), "must be 0 or more".into()))
}

/// An engine parser's refusal, at `span`.
pub fn refused(span: Range<usize>) -> impl FnOnce(cairn_engine::Error) -> Bad {
    move |e| (span, e.to_string())
}

/// A repository location as `-r` takes it; a local one must be absolute.
fn location(s: &Spanned<String>, s3: &S3Settings, what: &str) -> Checked<OsString> {
    let raw = OsString::from(text(s)?);
    match Location::parse_with(&raw, s3).map_err(refused(s.span()))? {
        Location::Local(p) if !p.is_absolute() => Err((
            s.span(),
            format!("a local {what} must be an absolute path (a scheduled run starts in /)"),
        )),
        _ => Ok(raw),
    }
}

fn s3(t: Option<&raw::S3>) -> Checked<S3Settings> {
    let Some(t) = t else {
        return Ok(S3Settings::default());
    };
    let endpoint = t.endpoint.as_ref().map(text).transpose()?;
    if let (Some(e), Some(s)) = (&endpoint, &t.endpoint) {
        if !(e.starts_with("http://") || e.starts_with("https://")) || e.len() < 9 {
            return Err((s.span(), "expected an http:// or https:// URL".into()));
        }
    }
    if let Some(a) = &t.addressing {
        if !matches!(a.get_ref().as_str(), "path" | "virtual") {
            return Err((a.span(), "expected \"path\" or \"virtual\"".into()));
        }
    }
    if let Some(r) = &t.region {
        if r.get_ref().trim().is_empty() {
            return Err((r.span(), "the region is empty".into()));
        }
    }
    let connections = t.connections.as_ref().map(non_negative).transpose()?;
    if let (Some(0), Some(c)) = (connections, &t.connections) {
        return Err((c.span(), "must be at least 1".into()));
    }
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok(S3Settings {
        endpoint,
        region: t.region.as_ref().map(text).transpose()?,
        addressing: t.addressing.as_ref().map(|a| a.get_ref().clone()),
        retries: t.retries.as_ref().map(non_negative).transpose()?.map(size),
        connections: connections.map(size),
    })
}

fn copy(
    me: &str,
    c: &raw::Copy,
    names: &BTreeSet<&str>,
    s3: &S3Settings,
) -> Checked<Vec<CopyTarget>> {
    let mut out = Vec::new();
    for t in c.to.get_ref() {
        let name = text(t)?;
        let target = if name == me {
            return Err((t.span(), "a profile cannot copy to itself".into()));
        } else if names.contains(name.as_str()) {
            CopyTarget::Profile(name)
        } else {
            let raw = OsStr::new(&name);
            match Location::parse_with(raw, s3).map_err(refused(t.span()))? {
                Location::Local(p) if !p.is_absolute() => return Err((
                    t.span(),
                    "neither a profile of this file nor an absolute path, local: or s3: location"
                        .into(),
                )),
                _ => CopyTarget::Location(raw.to_owned()),
            }
        };
        if out.contains(&target) {
            return Err((t.span(), "this target is listed twice".into()));
        }
        out.push(target);
    }
    if out.is_empty() {
        return Err((
            c.to.span(),
            "no copy target: remove [copy] or name one".into(),
        ));
    }
    Ok(out)
}

fn scrub(s: &raw::Scrub) -> Checked<ScrubOptions> {
    let duration = |d: &Option<Spanned<String>>| {
        d.as_ref()
            .map(|d| crate::output::parse_duration(d.get_ref()).map_err(refused(d.span())))
            .transpose()
    };
    Ok(ScrubOptions {
        subset: match &s.subset {
            Some(v) => Subset::parse(v.get_ref()).map_err(refused(v.span()))?,
            None => Subset::ALL,
        },
        stale: duration(&s.stale)?,
        max_duration: duration(&s.max_duration)?,
    })
}

fn drill(d: &raw::Drill) -> Checked<Drill> {
    let to = d.to.as_ref().map(text).transpose()?;
    if let (Some(uri), Some(s)) = (&to, &d.to) {
        if !cairn_engine::source::mongodb::conn::is_mongodb_uri(uri) {
            return Err((
                s.span(),
                "expected a mongodb:// or mongodb+srv:// URI (file snapshots use tmp-dir)".into(),
            ));
        }
    }
    Ok(Drill {
        enabled: d.enabled.unwrap_or(true),
        tmp_dir: d.tmp_dir.as_ref().map(absolute).transpose()?,
        to,
        report: d.report.as_ref().map(absolute).transpose()?,
        mongo_timeout_secs: d
            .mongo_timeout
            .as_ref()
            .map(non_negative)
            .transpose()?
            .unwrap_or(10),
    })
}

fn hooks(h: &raw::Hooks) -> Checked<Hooks> {
    Ok(Hooks {
        before: h.before.as_ref().map(argv).transpose()?,
        after: h.after.as_ref().map(argv).transpose()?,
        on_failure: h.on_failure.as_ref().map(argv).transpose()?,
    })
}

/// A command as an argv array: at least the program, whose name is not
/// empty (arguments may be).
pub fn argv(a: &Spanned<Vec<Spanned<String>>>) -> Checked<Vec<String>> {
    if a.get_ref().is_empty() {
        return Err((
            a.span(),
            "an empty command: give [\"program\", \"arg\", ...]".into(),
        ));
    }
    let args = a.get_ref().iter().map(text).collect::<Checked<Vec<_>>>()?;
    match args.first() {
        Some(p) if p.is_empty() => Err((a.span(), "the program name is empty".into())),
        _ => Ok(args),
    }
}
