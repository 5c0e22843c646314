//! Connecting to MongoDB without leaking the password.
//!
//! The password comes from `CAIRN_MONGODB_PASSWORD_FILE`,
//! `CAIRN_MONGODB_PASSWORD` (read by the CLI) or the URI itself. Every
//! message that names the server uses [`mask_uri`], and driver errors are
//! scrubbed of the password before they become an [`Error`].

use crate::error::{Error, ErrorKind, Result};
use mongodb::options::ClientOptions;
use mongodb::sync::Client;
use std::time::Duration;

/// How to reach a server.
#[derive(Clone)]
pub struct MongoConnect {
    /// `mongodb://` or `mongodb+srv://` URI (may contain a password).
    pub uri: String,
    /// Password given out of band (overrides one in the URI).
    pub password: Option<String>,
    /// Server selection and connect timeout.
    pub timeout: Duration,
}

impl std::fmt::Debug for MongoConnect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoConnect")
            .field("uri", &mask_uri(&self.uri))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The URI with any password replaced by `****`.
pub fn mask_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:****")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => uri.to_owned(),
    }
}

/// Does `s` look like a MongoDB URI?
pub fn is_mongodb_uri(s: &str) -> bool {
    s.starts_with("mongodb://") || s.starts_with("mongodb+srv://")
}

/// The password part of the URI's user info, as written (percent-encoded).
fn uri_password_raw(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    Some(userinfo.split_once(':')?.1)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (c, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl MongoConnect {
    fn secrets(&self) -> Vec<String> {
        let mut s: Vec<String> = self.password.iter().cloned().collect();
        if let Some(raw) = uri_password_raw(&self.uri) {
            s.push(percent_decode(raw));
            s.push(raw.to_owned());
        }
        s.retain(|p| !p.is_empty());
        s
    }

    /// Remove every form of the password from `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.replace(&self.uri, &mask_uri(&self.uri));
        for p in self.secrets() {
            out = out.replace(&p, "****");
        }
        out
    }

    /// Turn a driver error into an engine error that names the server
    /// (masked) and says what to do.
    pub fn error(&self, what: &str, e: mongodb::error::Error) -> Error {
        use mongodb::error::ErrorKind as K;
        let masked = mask_uri(&self.uri);
        let hint = match *e.kind {
            K::Authentication { .. } => "authentication failed: check the user name and CAIRN_MONGODB_PASSWORD(_FILE)".to_owned(),
            K::ServerSelection { .. } => format!(
                "no reachable server within {}s: check the host, port, TLS options and that mongod is running",
                self.timeout.as_secs()
            ),
            _ => self.scrub(&e.to_string()),
        };
        Error::new(ErrorKind::Io, format!("MongoDB {masked}: {what}: {hint}"))
    }

    /// Connect and check the server answers (within the timeout).
    pub fn connect(&self) -> Result<Client> {
        if !is_mongodb_uri(&self.uri) {
            return Err(Error::invalid(format!(
                "'{}' is not a mongodb:// URI",
                mask_uri(&self.uri)
            )));
        }
        let mut opts = ClientOptions::parse(&self.uri).run().map_err(|e| {
            Error::invalid(format!(
                "invalid MongoDB URI {}: {}",
                mask_uri(&self.uri),
                self.scrub(&e.to_string())
            ))
        })?;
        opts.server_selection_timeout = Some(self.timeout);
        opts.connect_timeout = Some(self.timeout);
        opts.app_name = Some("cairn".into());
        if let Some(pw) = &self.password {
            match opts.credential.as_mut() {
                Some(c) => c.password = Some(pw.clone()),
                None => {
                    return Err(Error::invalid(format!(
                        "a MongoDB password was given but the URI {} names no user (use mongodb://USER@host/)",
                        mask_uri(&self.uri)
                    )))
                }
            }
        }
        let client = Client::with_options(opts).map_err(|e| self.error("connecting", e))?;
        client
            .database("admin")
            .run_command(mongodb::bson::doc! {"ping": 1})
            .run()
            .map_err(|e| self.error("connecting", e))?;
        Ok(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(
            mask_uri("mongodb://u:secret@h:1/db?x=1"),
            "mongodb://u:****@h:1/db?x=1"
        );
        assert_eq!(mask_uri("mongodb://u@h/"), "mongodb://u@h/");
        assert_eq!(mask_uri("mongodb://h:27017"), "mongodb://h:27017");
        assert_eq!(
            mask_uri("mongodb+srv://a:p%40ss@c.example/"),
            "mongodb+srv://a:****@c.example/"
        );
        let c = MongoConnect {
            uri: "mongodb://u:p%40ss@h/".into(),
            password: None,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(c.scrub("bad p@ss and p%40ss"), "bad **** and ****");
    }
}
