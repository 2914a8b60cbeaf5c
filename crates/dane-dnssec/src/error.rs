//! The one error type of the crate: input that cannot be evaluated.

/// Input that could not be evaluated (verdicts are data, not errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A DNS message or record that does not parse.
    #[error("malformed DNS data: {0}")]
    Malformed(String),
    /// A trust-anchor file that does not parse.
    #[error("trust anchor line {line}: {reason}")]
    Anchor {
        /// 1-based line number (0: the whole text).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}
