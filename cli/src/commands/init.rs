//! `cairn init`: create a repository and its first key.

use super::Ctx;
use crate::args::InitArgs;
use cairn_engine::{Error, InitOptions, Result};

/// Run `init`.
pub fn run(ctx: &Ctx, args: &InitArgs) -> Result<i32> {
    let backend = ctx.backend()?;
    let pack_size = match &args.pack_size {
        None => InitOptions::default().pack_size,
        Some(s) => {
            let n = crate::output::parse_size(s).map_err(|e| e.context("--pack-size"))?;
            if !(4096..=1 << 30).contains(&n) {
                return Err(Error::invalid(format!(
                    "--pack-size {s}: must be between 4K and 1G"
                )));
            }
            n as u32
        }
    };
    let share_keys = match &args.copy_chunker_params_from {
        None => None,
        Some(from) => {
            let file = args.from_password_file.as_deref().ok_or_else(|| {
                Error::invalid("--copy-chunker-params-from needs --from-password-file")
            })?;
            Some(ctx.open_other(from, file)?.shared_keys())
        }
    };
    let opts = InitOptions {
        share_keys,
        pack_size,
        kdf: args.kdf.params(),
        parity: args
            .parity
            .as_deref()
            .map(super::parity::parse)
            .transpose()?
            .flatten(),
        ..InitOptions::default()
    };
    let pw = crate::password::get(ctx.password.as_ref(), true)?;
    let r = cairn_engine::ops::init::init(backend.clone(), &pw, &opts, ctx.cache_root())?;
    let id = &r.repository_id;
    if ctx.out.json {
        crate::output::print_report(&r);
    } else {
        ctx.out.info(&format!(
            "created Cairn repository {id} at {}\n\nKeep the password safe: without it the data cannot be recovered.",
            backend_location(ctx)
        ));
    }
    Ok(crate::exit::OK)
}

fn backend_location(ctx: &Ctx) -> String {
    ctx.location().map(|l| l.display()).unwrap_or_default()
}

/// The examples `cairn init --help` ends with (a test parses each).
pub const EXAMPLES: &str = "\
Examples:
  # Create a repository in a directory (asks for the password twice)
  cairn -r /srv/backup init
  # With Reed-Solomon parity: 2 parity shards per group of 10 packs
  cairn -r /srv/backup init --parity 10+2
  # A second repository that copy can deduplicate against the first
  cairn -r s3://backups/db1 init --copy-chunker-params-from /srv/backup --from-password-file /root/.cairn-pw";
