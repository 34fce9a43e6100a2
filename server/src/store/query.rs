//! The three ways the store reads rows: all of them, exactly one, or one if there is one.
//! Statements are cached per connection, so a query run every poll round is parsed once.

use rusqlite::{Connection, OptionalExtension, Params, Row};

use super::error::{Result, StoreError};

/// Every row `sql` selects, each read by `row`.
pub fn all<T, F>(conn: &Connection, sql: &str, params: impl Params, row: F) -> Result<Vec<T>>
where
    F: FnMut(&Row<'_>) -> rusqlite::Result<T>,
{
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params, row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The row `sql` selects, if there is one.
pub fn maybe<T, F>(conn: &Connection, sql: &str, params: impl Params, row: F) -> Result<Option<T>>
where
    F: FnOnce(&Row<'_>) -> rusqlite::Result<T>,
{
    Ok(conn
        .prepare_cached(sql)?
        .query_row(params, row)
        .optional()?)
}

/// The row `sql` selects; [`StoreError::NotFound`] when there is none.
pub fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    row: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<T> {
    maybe(conn, sql, params, row)?.ok_or(StoreError::NotFound)
}
