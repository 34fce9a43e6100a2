//! What can go wrong with the database, in words a log line or a caller can use.

#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    Sqlite(rusqlite::Error),
    /// The disk (or the quota) is full; writing resumes when space is freed.
    Full,
    /// A unique constraint: the name is taken.
    Taken(String),
    /// A rule about the data forbids the change ("the last admin cannot be deleted").
    Refused(String),
    /// A backup could not be made, and why.
    Backup(String),
    NotFound,
    /// The writer thread has stopped.
    Closed,
    /// The file is not a lanstat database (another program's, or not SQLite at all), and
    /// what it holds; it was left as it was.
    Foreign(String),
    /// The file was made by a newer lanstat.
    TooNew {
        found: i64,
        known: i64,
    },
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(e) => write!(f, "database error: {e}"),
            StoreError::Full => f.write_str("database or disk is full"),
            StoreError::Taken(m)
            | StoreError::Refused(m)
            | StoreError::Backup(m)
            | StoreError::Foreign(m) => f.write_str(m),
            StoreError::NotFound => f.write_str("not found"),
            StoreError::Closed => f.write_str("database writer has stopped"),
            StoreError::TooNew { found, known } => write!(
                f,
                "the database has schema version {found}, newer than this lanstat-server understands ({known}); use a newer release"
            ),
        }
    }
}

impl std::error::Error for StoreError {}

impl StoreError {
    /// SQLite found the file damaged ("database disk image is malformed", "file is not a
    /// database").
    pub fn is_damage(&self) -> bool {
        matches!(self, StoreError::Sqlite(rusqlite::Error::SqliteFailure(code, _))
            if matches!(code.code, rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase))
    }
}

/// For `map_err` on an insert or update of a named row: a unique-constraint failure becomes
/// "a {what} named "{name}" exists already"; any other error stays as it is.
pub(crate) fn name_taken<'a>(
    what: &'a str,
    name: &'a str,
) -> impl FnOnce(rusqlite::Error) -> StoreError + 'a {
    move |e| match StoreError::from(e) {
        StoreError::Taken(_) => {
            StoreError::Taken(format!("a {what} named {name:?} exists already"))
        }
        e => e,
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        if let rusqlite::Error::SqliteFailure(code, _) = &e {
            match code.code {
                rusqlite::ErrorCode::DiskFull => return StoreError::Full,
                rusqlite::ErrorCode::ConstraintViolation
                    if code.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
                {
                    return StoreError::Taken("already exists".into());
                }
                _ => {}
            }
        }
        if matches!(e, rusqlite::Error::QueryReturnedNoRows) {
            return StoreError::NotFound;
        }
        StoreError::Sqlite(e)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;
