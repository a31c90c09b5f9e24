//! A setting that stops the start, named with what is wrong with it. Its own module, so that every
//! module that reads a setting (`config`, `observability`) can say so without importing the others.

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    /// The setting (or providers-file location) at fault.
    pub setting: String,
    pub problem: String,
}
