//! The one error of the domain layer: what went wrong in words a person can act on, and in a
//! kind the web layer turns into a status and a stable code (in one function, `web::ApiError`).

use crate::model::Invalid;
use crate::store::StoreError;

/// Why an operation was refused or failed. Nothing was changed when one is returned.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A value is not acceptable: the field it came from and why.
    Invalid {
        field: &'static str,
        message: String,
    },
    /// No such thing: "no computer with id 7".
    NotFound(String),
    /// A name (or another value that must be unique) is taken, or the change contradicts the
    /// state of things ("the last admin cannot be deleted").
    Conflict {
        field: Option<&'static str>,
        message: String,
    },
    /// Not for this user, whatever the values.
    Forbidden(String),
    /// A wrong username or password (never saying which).
    BadCredentials,
    /// Too many failed attempts: wait this many seconds.
    TooManyAttempts(i64),
    /// A stored secret would go to another host than the one it was saved with (the address
    /// changed to one): it must be given again, in `field`.
    SecretForAnotherHost { field: &'static str },
    /// The disk is full: nothing could be saved.
    DiskFull,
    /// The database failed; the details are logged, not shown.
    Storage,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The same refusal, blamed on another field (a new password is `password` in one form
    /// and `new_password` in another).
    pub fn in_field(self, field: &'static str) -> Error {
        match self {
            Error::Invalid { message, .. } => Error::Invalid { field, message },
            e => e,
        }
    }

    /// For `map_err` on a lookup: the store's "not found" said with what was looked for.
    pub fn not_found(what: &'static str, id: i64) -> impl FnOnce(StoreError) -> Error {
        move |e| match e {
            StoreError::NotFound => Error::NotFound(format!("no {what} with id {id}")),
            e => e.into(),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid { message, .. } | Error::Conflict { message, .. } => {
                f.write_str(message)
            }
            Error::NotFound(m) | Error::Forbidden(m) => f.write_str(m),
            Error::BadCredentials => f.write_str("wrong username or password"),
            Error::SecretForAnotherHost { .. } => f.write_str(
                "the address changed: type the token again (a saved token is only sent to the host it was saved for)",
            ),
            Error::TooManyAttempts(secs) => {
                write!(f, "too many failed attempts; try again in {secs} s")
            }
            Error::DiskFull => f.write_str("the server's disk is full; changes cannot be saved"),
            Error::Storage => f.write_str("database error"),
        }
    }
}

impl std::error::Error for Error {}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Error {
        Error::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound => Error::NotFound("not found".into()),
            StoreError::Taken(message) => Error::Conflict {
                field: Some("name"),
                message,
            },
            StoreError::Refused(message) => Error::Conflict {
                field: None,
                message,
            },
            StoreError::Full => Error::DiskFull,
            other => {
                eprintln!("event=db_error error={:?}", other.to_string());
                Error::Storage
            }
        }
    }
}
