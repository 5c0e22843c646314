//! `cairn mount MOUNTPOINT`: the repository's snapshots as a read-only
//! FUSE filesystem, served in the foreground until Ctrl-C, SIGTERM or an
//! outside `umount` (as restic does), then unmounted.
//!
//! The layout follows restic's: `snapshots/<time>/`, `ids/<short id>/`,
//! `hosts/<host>/<time>/`, `tags/<tag>/<time>/`, and a `latest` symlink in
//! each time-named directory. Times are local, RFC 3339 to the second
//! (`2026-12-05T03:42:01Z`, `…+01:00`), as restic names them.
//!
//! Invariants: the mountpoint is checked (exists, is a directory) before
//! the repository is opened, so a typo costs no password prompt; the
//! filesystem is always unmounted before the command returns, whatever
//! ended it; the command's exit code is 0 after a requested unmount.

mod fs;
mod inodes;

use crate::commands::Ctx;
use cairn_engine::ops::mount::MountSource;
use cairn_engine::{Error, ErrorKind, Result, Timestamp};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The examples `cairn mount --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Browse every snapshot; Ctrl-C (or umount) ends it
  cairn mount /mnt/cairn
  # Let other users in, as the recorded modes allow
  cairn mount /mnt/cairn --allow-other";

/// `cairn mount`.
#[derive(Args, Debug)]
pub struct MountArgs {
    /// An existing empty directory to mount the repository on.
    pub mountpoint: PathBuf,
    /// Let other users in too (the kernel then checks each file's mode
    /// and owner as recorded, like restic's --allow-other).
    #[arg(long)]
    pub allow_other: bool,
}

/// Run `mount`.
pub fn run(ctx: &Ctx, args: &MountArgs) -> Result<i32> {
    check_mountpoint(&args.mountpoint)?;
    let repo = ctx.open()?;
    let source = MountSource::new(repo);
    let snaps = source.snapshots()?;
    let table = inodes::Inodes::build(&snaps, &time_name);
    let fs = fs::CairnFs::new(source, table);
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::RO,
        fuser::MountOption::NoSuid,
        fuser::MountOption::NoDev,
        fuser::MountOption::FSName("cairn".into()),
        fuser::MountOption::Subtype("cairn".into()),
    ];
    if args.allow_other {
        config.acl = fuser::SessionACL::All;
        config
            .mount_options
            .push(fuser::MountOption::DefaultPermissions);
    }
    let session = fuser::spawn_mount(fs, &args.mountpoint, &config)
        .map_err(|e| mount_error(&args.mountpoint, e))?;
    let shown = crate::output::esc_path(&args.mountpoint);
    if ctx.out.json {
        crate::output::print_report(&serde_json::json!({
            "mountpoint": args.mountpoint,
            "snapshots": snaps.len(),
        }));
    } else if !ctx.out.quiet {
        crate::outln!(
            "Serving {} snapshots at {shown}.\n\
             Browse it from another terminal; quit with Ctrl-C here or `umount {shown}`.",
            snaps.len()
        );
    }
    {
        use std::io::Write as _;
        let _ = crate::output::Stdout.flush();
    }
    loop {
        if session.guard.is_finished() {
            // Unmounted from outside: the session thread has ended.
            session
                .join()
                .map_err(|e| Error::io("serving the mount", e))?;
            return Ok(crate::exit::OK);
        }
        if cairn_engine::check_interrupt().is_err() {
            if unmount(&args.mountpoint, &shown)? {
                // The kernel ended the session: its thread returns now.
                session
                    .join()
                    .map_err(|e| Error::io("serving the mount", e))?;
            } else {
                // Detached while a file is open: the session lives until
                // that file is closed or this process exits, which closes
                // the FUSE device and ends it; do not wait for it.
                std::mem::forget(session);
            }
            if !ctx.out.quiet && !ctx.out.json {
                crate::errln!("unmounted {shown}");
            }
            return Ok(crate::exit::OK);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A missing mountpoint or one that is not a directory is a usage error.
fn check_mountpoint(p: &Path) -> Result<()> {
    match std::fs::metadata(p) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(Error::invalid(format!(
            "mountpoint {} is not a directory; give an existing empty directory",
            crate::output::esc_path(p)
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::invalid(format!(
            "mountpoint {} does not exist; create it first (mkdir -p)",
            crate::output::esc_path(p)
        ))),
        Err(e) => Err(Error::from_io(p.display().to_string(), e)),
    }
}

/// Unmount `p`; while a file inside is still open (`EBUSY`), retry for
/// a few seconds, then detach it (a lazy unmount: gone from the tree at
/// once, open files fail once this process exits) and say so. `true`:
/// unmounted; `false`: detached.
fn unmount(p: &Path, shown: &str) -> Result<bool> {
    use nix::mount::{umount2, MntFlags};
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        match umount2(p, MntFlags::empty()) {
            Ok(()) => return Ok(true),
            Err(nix::errno::Errno::EBUSY) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(nix::errno::Errno::EBUSY) => {
                crate::errln!(
                    "cairn: warning: {shown} is busy (a file inside is open): detaching it"
                );
                return umount2(p, MntFlags::MNT_DETACH)
                    .map(|()| false)
                    .map_err(|e| Error::io(format!("unmounting {shown}"), e.into()));
            }
            Err(e) => return Err(Error::io(format!("unmounting {shown}"), e.into())),
        }
    }
}

fn mount_error(p: &Path, e: std::io::Error) -> Error {
    let shown = crate::output::esc_path(p);
    match e.raw_os_error() {
        Some(nix::libc::EPERM) | Some(nix::libc::EACCES) => Error::new(
            ErrorKind::Io,
            format!(
                "mounting at {shown} was refused ({e}): mounting FUSE needs root or CAP_SYS_ADMIN"
            ),
        ),
        Some(nix::libc::ENOENT) | Some(nix::libc::ENODEV) => Error::new(
            ErrorKind::Io,
            format!("cannot mount at {shown}: FUSE is not available here (no /dev/fuse?): {e}"),
        ),
        _ => Error::io(format!("mounting at {shown}"), e),
    }
}

/// A snapshot directory's name: its local time to the second, RFC 3339
/// with `Z` for UTC (restic's names).
fn time_name(t: Timestamp) -> String {
    let Ok(ts) = jiff::Timestamp::new(t.secs, 0) else {
        return t.secs.to_string();
    };
    let z = ts.to_zoned_datetime(jiff::tz::TimeZone::system());
    let base = z.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    if z.offset().seconds() == 0 {
        format!("{base}Z")
    } else {
        format!("{base}{}", z.strftime("%:z"))
    }
}
