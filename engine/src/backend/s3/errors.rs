//! Turns the S3 client's errors into engine errors a user can act on.
//!
//! Invariant: no message built here contains a credential. The client's
//! own error text (which carries request context) is never passed through
//! whole: we keep the store's error code and message and the transport's
//! reason, and remove the secret key should a store ever echo it.

use super::S3Config;
use crate::error::{Error, ErrorKind};
use opendal::ErrorKind as Od;

/// Map `e`, raised while `doing` (a verb phrase) the object `path`.
pub(super) fn map(config: &S3Config, doing: &str, path: &str, e: opendal::Error) -> Error {
    let place = config.url();
    let what = if path.is_empty() {
        place.clone()
    } else {
        format!("{path} in {place}")
    };
    let code = s3_code(&message_of(&e));
    let mut detail = redact(config, &detail(&e));
    if detail.is_empty() {
        // A HEAD request's refusal has no body to explain it.
        detail = match e.kind() {
            Od::PermissionDenied => "403 Forbidden".into(),
            other => other.to_string(),
        };
    }
    match (e.kind(), code.as_deref()) {
        (_, Some("NoSuchBucket")) => Error::new(
            ErrorKind::RepositoryNotFound,
            format!(
                "bucket '{}' does not exist at {}: create it with the store's tools, or check the repository URL and AWS_ENDPOINT_URL",
                config.bucket,
                endpoint(config)
            ),
        ),
        (Od::NotFound, _) => Error::new(ErrorKind::NotFound, format!("{doing} {what}: not found")),
        (Od::PermissionDenied, _) => Error::new(
            ErrorKind::AccessDenied,
            format!(
                "{doing} {what} (endpoint {}): the store refused access ({detail}); check the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the shared credentials file and AWS_PROFILE) and the bucket's permissions",
                endpoint(config)
            ),
        ),
        (Od::ConfigInvalid, _) => Error::invalid(format!(
            "the S3 settings for {place} are not usable: {detail}"
        )),
        // Persistent: was temporary, and still failed after the retries.
        _ if e.is_temporary() || e.is_persistent() || e.kind() == Od::RateLimited => Error::new(
            ErrorKind::Io,
            format!(
                "{doing} {what}: the store kept failing after {} {} ({detail}); nothing written before is affected — run the command again when the store is reachable",
                config.retries,
                if config.retries == 1 { "retry" } else { "retries" }
            ),
        ),
        _ => Error::new(ErrorKind::Io, format!("{doing} {what}: {detail}")),
    }
}

fn endpoint(config: &S3Config) -> String {
    config
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", config.region))
}

/// The S3 error code (`NoSuchBucket`, `InvalidAccessKeyId`, …) in the
/// client's rendering of the store's XML error, if any.
fn s3_code(message: &str) -> Option<String> {
    let start = message.find("code: \"")? + "code: \"".len();
    let len = message[start..].find('"')?;
    Some(message[start..start + len].to_owned())
}

/// The client's message alone: its rendering is `KIND (STATUS) at OP,
/// context: { … } => MESSAGE, source: …`, and only MESSAGE is kept (the
/// context holds request details).
fn message_of(e: &opendal::Error) -> String {
    let full = e.to_string();
    let Some(start) = full.find(" => ") else {
        return String::new();
    };
    let rest = &full[start + 4..];
    let end = rest.find(", source: ").unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// The store's code and message, or the client's message and the
/// transport's reason: short, and without the request context.
fn detail(e: &opendal::Error) -> String {
    let msg = message_of(e);
    let msg = msg.as_str();
    let mut out = match s3_code(msg) {
        Some(code) => {
            let text = msg
                .find("message: \"")
                .map(|i| &msg[i + "message: \"".len()..])
                .and_then(|m| m.find('"').map(|j| &m[..j]))
                .unwrap_or("");
            if text.is_empty() {
                code
            } else {
                format!("{code}: {text}")
            }
        }
        None => msg.chars().take(200).collect(),
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !out.contains(&text) {
            out.push_str(": ");
            out.extend(text.chars().take(200));
        }
        source = s.source();
    }
    out
}

/// Remove the secret key and session token from `s`, should a store or
/// client ever echo them.
fn redact(config: &S3Config, s: &str) -> String {
    let mut out = s.to_owned();
    let explicit = config
        .credentials
        .as_ref()
        .map(|c| c.secret_access_key.clone());
    let from_env = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok());
    for secret in explicit.into_iter().chain(from_env) {
        if secret.len() >= 8 {
            out = out.replace(&secret, "[secret]");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_in_the_clients_rendering() {
        let m = r#"S3Error { code: "NoSuchBucket", message: "The specified bucket does not exist", resource: "", request_id: "" }"#;
        assert_eq!(s3_code(m).as_deref(), Some("NoSuchBucket"));
        assert_eq!(s3_code("send http request"), None);
        let cfg = S3Config::new("b", "p");
        let e = map(
            &cfg,
            "reading",
            "CAIRN",
            opendal::Error::new(Od::ConfigInvalid, m),
        );
        assert_eq!(e.kind(), ErrorKind::RepositoryNotFound);
        assert!(e.message().contains("bucket 'b' does not exist"), "{e}");
        let e = map(
            &cfg,
            "reading",
            "CAIRN",
            opendal::Error::new(
                Od::PermissionDenied,
                r#"S3Error { code: "InvalidAccessKeyId", message: "bad key", resource: "", request_id: "" }"#,
            ),
        );
        assert_eq!(e.kind(), ErrorKind::AccessDenied);
        assert!(e.message().contains("InvalidAccessKeyId: bad key"), "{e}");
    }
}
