//! MongoDB connection settings from flags and the environment. The
//! password comes from `CAIRN_MONGODB_PASSWORD_FILE`, then
//! `CAIRN_MONGODB_PASSWORD`, then the URI; never from a flag.

use cairn_engine::source::mongodb::MongoConnect;
use cairn_engine::{Error, Result};
use std::time::Duration;

/// Build the connection for `uri`.
pub fn connect(uri: &str, timeout_secs: u64) -> Result<MongoConnect> {
    let password = if let Some(p) =
        std::env::var_os("CAIRN_MONGODB_PASSWORD_FILE").filter(|p| !p.is_empty())
    {
        let bytes = crate::password::read_file(p.as_ref(), "CAIRN_MONGODB_PASSWORD_FILE")?;
        Some(
            String::from_utf8(bytes).map_err(|_| {
                Error::invalid("CAIRN_MONGODB_PASSWORD_FILE does not hold UTF-8 text")
            })?,
        )
    } else {
        std::env::var("CAIRN_MONGODB_PASSWORD")
            .ok()
            .filter(|p| !p.is_empty())
    };
    Ok(MongoConnect {
        uri: uri.to_owned(),
        password,
        timeout: Duration::from_secs(timeout_secs.max(1)),
    })
}
