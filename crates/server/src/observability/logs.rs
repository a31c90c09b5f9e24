//! The log: human-readable text (the default), or one JSON object per line for a log shipper
//! (`CONNECTIONS_LOG_FORMAT=json`). Either way `RUST_LOG` filters it (default `info`), and what is
//! logged is the same: secrets print as `[redacted]`, requests by path only.

use tracing_subscriber::EnvFilter;

use crate::config_error::ConfigError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub(crate) fn parse(value: &str) -> Result<Self, ConfigError> {
        match value.trim() {
            "" | "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(ConfigError { setting: "CONNECTIONS_LOG_FORMAT".into(), problem: format!("{other:?} must be text or json") }),
        }
    }
}

/// Installs the process's logger, in the format `CONNECTIONS_LOG_FORMAT` names.
pub fn init_logging(format: &str) -> Result<(), ConfigError> {
    let filter = || EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    match LogFormat::parse(format)? {
        LogFormat::Text => tracing_subscriber::fmt().with_env_filter(filter()).init(),
        // Each event's fields at the top level, with the request's span (method, path, request_id).
        LogFormat::Json => tracing_subscriber::fmt().json().flatten_event(true).with_current_span(true).with_span_list(false).with_env_filter(filter()).init(),
    }
    Ok(())
}

/// Logs an error with every `source` below it.
pub fn log_chain(error: &(dyn std::error::Error + 'static)) {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    tracing::warn!(error = %chain, "provider call failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_text_or_json_and_anything_else_is_named() {
        assert_eq!(LogFormat::parse("").unwrap(), LogFormat::Text);
        assert_eq!(LogFormat::parse(" json ").unwrap(), LogFormat::Json);
        assert!(LogFormat::parse("xml").unwrap_err().to_string().starts_with("CONNECTIONS_LOG_FORMAT: \"xml\""));
    }
}
