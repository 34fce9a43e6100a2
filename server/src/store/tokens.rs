//! Read-only API tokens: stored by hash, listed by name and prefix, revoked by deleting.

use rusqlite::{Connection, Row, params};

use super::query::{all, maybe, one};
use super::{Result, name_taken};
use crate::model::ApiToken;

const COLUMNS: &str = "t.id, t.name, t.prefix, t.created_at, u.username, t.last_used_at";
const FROM: &str = "api_tokens t LEFT JOIN users u ON u.id = t.created_by";

fn from_row(r: &Row) -> rusqlite::Result<ApiToken> {
    Ok(ApiToken {
        id: r.get(0)?,
        name: r.get(1)?,
        prefix: r.get(2)?,
        created_at: r.get(3)?,
        created_by: r.get(4)?,
        last_used_at: r.get(5)?,
    })
}

pub fn count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM api_tokens", [], |r| r.get(0))?)
}

pub fn create(
    conn: &Connection,
    name: &str,
    hash: &[u8],
    prefix: &str,
    created_by: Option<i64>,
    now: i64,
) -> Result<ApiToken> {
    conn.execute(
        "INSERT INTO api_tokens (name, hash, prefix, created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![name, hash, prefix, now, created_by],
    )
    .map_err(name_taken("token", name))?;
    get(conn, conn.last_insert_rowid())
}

pub fn get(conn: &Connection, id: i64) -> Result<ApiToken> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE t.id = ?1");
    one(conn, &sql, [id], from_row)
}

pub fn find_by_name(conn: &Connection, name: &str) -> Result<Option<ApiToken>> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE t.name = ?1");
    maybe(conn, &sql, [name], from_row)
}

/// The token whose hash this is. The lookup is by the whole hash, so nothing about how
/// much of a guess was right shows in the time it takes.
pub fn find_by_hash(conn: &Connection, hash: &[u8]) -> Result<Option<ApiToken>> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE t.hash = ?1");
    maybe(conn, &sql, [hash], from_row)
}

pub fn list(conn: &Connection) -> Result<Vec<ApiToken>> {
    let sql = format!("SELECT {COLUMNS} FROM {FROM} ORDER BY t.name COLLATE NOCASE, t.id");
    all(conn, &sql, [], from_row)
}

pub fn touch(conn: &Connection, id: i64, now: i64) -> Result<()> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1",
        params![id, now],
    )?;
    Ok(())
}

/// Revokes a token: its row goes, so its hash no longer matches anything.
pub fn delete(conn: &Connection, id: i64) -> Result<ApiToken> {
    let t = get(conn, id)?;
    conn.execute("DELETE FROM api_tokens WHERE id = ?1", [id])?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;
    use crate::store::StoreError;
    use crate::store::users;

    use crate::store::test_db as db;

    #[test]
    fn tokens_are_found_by_hash_and_gone_once_revoked() {
        let c = db();
        let ann = users::create_user(&c, "ann", "h", Role::Admin, false, 1).unwrap();
        let t = create(&c, "grafana", b"hash-1", "lst_0123", Some(ann.id), 10).unwrap();
        assert_eq!(t.created_by.as_deref(), Some("ann"));
        assert_eq!(find_by_hash(&c, b"hash-1").unwrap(), Some(t.clone()));
        assert_eq!(find_by_hash(&c, b"hash-2").unwrap(), None);
        touch(&c, t.id, 99).unwrap();
        assert_eq!(get(&c, t.id).unwrap().last_used_at, Some(99));
        assert_eq!(delete(&c, t.id).unwrap().name, "grafana");
        assert_eq!(find_by_hash(&c, b"hash-1").unwrap(), None);
        assert!(matches!(delete(&c, t.id), Err(StoreError::NotFound)));
    }

    #[test]
    fn names_are_unique_and_tokens_outlive_their_maker() {
        let c = db();
        let a = users::create_user(&c, "ann", "h", Role::Admin, false, 1).unwrap();
        users::create_user(&c, "bob", "h", Role::Admin, false, 1).unwrap();
        create(&c, "ha", b"h1", "p", Some(a.id), 1).unwrap();
        assert!(matches!(
            create(&c, "ha", b"h2", "p", None, 1),
            Err(StoreError::Taken(m)) if m.contains("exists already")
        ));
        users::delete_user(&c, a.id).unwrap();
        let t = find_by_name(&c, "ha").unwrap().unwrap();
        assert_eq!(t.created_by, None);
        assert_eq!(list(&c).unwrap().len(), 1);
        assert_eq!(count(&c).unwrap(), 1);
    }
}
