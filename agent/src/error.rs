//! Every way the agent can fail to start, each with what to do in its words.

/// Every way the agent can fail to start. Once running, failures become HTTP responses.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A bad flag or value.
    Usage(String),
    /// The token file cannot be made, read or trusted.
    Token(String),
    /// The listening socket cannot be opened.
    Listen(String),
    /// The OS cannot be read.
    Collect(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Usage(m) | Error::Token(m) | Error::Listen(m) | Error::Collect(m) => {
                f.write_str(m)
            }
        }
    }
}

impl std::error::Error for Error {}

impl From<crate::cli::Usage> for Error {
    fn from(u: crate::cli::Usage) -> Error {
        Error::Usage(u.0)
    }
}
