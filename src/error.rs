//! Library errors. Every error that comes from outside input names the file,
//! the line, the field and what was expected.

use std::fmt;

/// One problem at one place in an input file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InputError {
    /// File the input came from (or `<memory>` for in-memory input).
    pub file: String,
    /// 1-based line number; 0 when the problem is not tied to a line.
    pub line: usize,
    /// JSON path or column of the field (`history[2].kind`); empty for whole-line problems.
    pub field: String,
    /// What was expected and what was found.
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)?;
        if !self.field.is_empty() {
            write!(f, ": field `{}`", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl InputError {
    pub fn new(
        file: impl Into<String>,
        line: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            line,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// All the problems found in one input (a reader reports every bad line, not only the first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        for e in self.0.iter().take(SHOWN) {
            writeln!(f, "{e}")?;
        }
        if self.0.len() > SHOWN {
            writeln!(f, "... and {} more errors", self.0.len() - SHOWN)?;
        }
        write!(f, "{} error(s)", self.0.len())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Input(InputErrors),
    /// The OS reason is in the message, once: it is not also chained as a `source`
    /// (a chain printer such as anyhow's `{:#}` would print it twice).
    #[error("{path}: {reason}")]
    Io {
        path: String,
        reason: std::io::Error,
    },
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<InputError> for Error {
    fn from(e: InputError) -> Self {
        Error::Input(InputErrors(vec![e]))
    }
}

impl From<InputErrors> for Error {
    fn from(e: InputErrors) -> Self {
        Error::Input(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
