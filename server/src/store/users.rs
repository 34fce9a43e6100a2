//! Users and their sessions.

use rusqlite::{Connection, Row, params};

use super::query::{all, maybe, one};
use super::{Result, StoreError, name_taken};
use crate::model::{Role, SessionUser, User};

const USER_COLUMNS: &str =
    "id, username, role, must_change_password, created_at, password_changed_at";

fn user_from_row(r: &Row, offset: usize) -> rusqlite::Result<User> {
    let role: String = r.get(offset + 2)?;
    Ok(User {
        id: r.get(offset)?,
        username: r.get(offset + 1)?,
        role: Role::parse(&role).unwrap_or(Role::Viewer),
        must_change_password: r.get::<_, i64>(offset + 3)? != 0,
        created_at: r.get::<_, Option<i64>>(offset + 4).ok().flatten(),
        password_changed_at: r.get(offset + 5)?,
    })
}

pub fn count_users(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get(0))?)
}

pub fn create_user(
    conn: &Connection,
    username: &str,
    hash: &str,
    role: Role,
    must_change: bool,
    now: i64,
) -> Result<User> {
    conn.execute(
        "INSERT INTO users (username, password_hash, role, must_change_password, created_at, password_changed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![username, hash, role.as_str(), must_change as i64, now],
    )
    .map_err(name_taken("user", username))?;
    get_user(conn, conn.last_insert_rowid())
}

pub fn get_user(conn: &Connection, id: i64) -> Result<User> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1");
    one(conn, &sql, [id], |r| user_from_row(r, 0))
}

/// The user and their stored password hash.
pub fn find_login(conn: &Connection, username: &str) -> Result<Option<(User, String)>> {
    let sql = format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE username = ?1");
    maybe(conn, &sql, [username], |r| {
        Ok((user_from_row(r, 0)?, r.get(6)?))
    })
}

pub fn find_by_name(conn: &Connection, username: &str) -> Result<Option<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = ?1");
    maybe(conn, &sql, [username], |r| user_from_row(r, 0))
}

pub fn list_users(conn: &Connection) -> Result<Vec<User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
    all(conn, &sql, [], |r| user_from_row(r, 0))
}

pub fn set_password(
    conn: &Connection,
    user_id: i64,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<()> {
    let n = conn.execute(
        "UPDATE users SET password_hash = ?2, must_change_password = ?3, password_changed_at = ?4 WHERE id = ?1",
        params![user_id, hash, must_change as i64, now],
    )?;
    if n == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Replaces a hash in an old format with a new one, keeping everything else.
pub fn upgrade_hash(conn: &Connection, user_id: i64, old_hash: &str, new_hash: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET password_hash = ?3 WHERE id = ?1 AND password_hash = ?2",
        params![user_id, old_hash, new_hash],
    )?;
    Ok(())
}

pub fn admins_other_than(conn: &Connection, user_id: i64) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM users WHERE role = 'admin' AND id != ?1",
        [user_id],
        |r| r.get(0),
    )?)
}

pub fn set_role(conn: &Connection, user_id: i64, role: Role) -> Result<User> {
    get_user(conn, user_id)?;
    conn.execute(
        "UPDATE users SET role = ?2 WHERE id = ?1",
        params![user_id, role.as_str()],
    )?;
    get_user(conn, user_id)
}

pub fn delete_user(conn: &Connection, user_id: i64) -> Result<()> {
    get_user(conn, user_id)?;
    conn.execute("DELETE FROM users WHERE id = ?1", [user_id])?;
    Ok(())
}

pub fn create_session(conn: &Connection, id_hash: &[u8], user_id: i64, now: i64) -> Result<()> {
    conn.execute(
        "INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at) VALUES (?1, ?2, ?3, ?3)",
        params![id_hash, user_id, now],
    )?;
    Ok(())
}

pub fn session_user(conn: &Connection, id_hash: &[u8]) -> Result<Option<SessionUser>> {
    let sql = "SELECT u.id, u.username, u.role, u.must_change_password, u.created_at, u.password_changed_at,
                    s.created_at, s.last_seen_at
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = ?1";
    maybe(conn, sql, [id_hash], |r| {
        Ok(SessionUser {
            user: user_from_row(r, 0)?,
            id_hash: id_hash.to_vec(),
            created_at: r.get(6)?,
            last_seen_at: r.get(7)?,
        })
    })
}

pub fn touch_session(conn: &Connection, id_hash: &[u8], now: i64) -> Result<()> {
    conn.execute(
        "UPDATE sessions SET last_seen_at = ?2 WHERE id_hash = ?1",
        params![id_hash, now],
    )?;
    Ok(())
}

pub fn delete_session(conn: &Connection, id_hash: &[u8]) -> Result<()> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
    Ok(())
}

/// Ends every session of a user except `keep`.
pub fn delete_user_sessions(conn: &Connection, user_id: i64, keep: Option<&[u8]>) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE user_id = ?1 AND id_hash != coalesce(?2, x'')",
        params![user_id, keep],
    )?)
}

/// Removes sessions idle since before `idle_before` or created before `created_before`.
pub fn delete_expired_sessions(
    conn: &Connection,
    idle_before: i64,
    created_before: i64,
) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM sessions WHERE last_seen_at < ?1 OR created_at < ?2",
        params![idle_before, created_before],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::test_db as db;

    #[test]
    fn duplicate_username_is_a_conflict() {
        let c = db();
        create_user(&c, "ann", "h", Role::Admin, false, 1).unwrap();
        assert!(matches!(
            create_user(&c, "ann", "h", Role::Viewer, false, 1),
            Err(StoreError::Taken(_))
        ));
    }

    #[test]
    fn admins_other_than_one_are_counted() {
        // The rule that uses it (the last admin stays) is `domain::accounts`'s.
        let c = db();
        let a = create_user(&c, "ann", "h", Role::Admin, false, 1).unwrap();
        let v = create_user(&c, "vic", "h", Role::Viewer, false, 1).unwrap();
        assert_eq!(admins_other_than(&c, a.id).unwrap(), 0);
        set_role(&c, v.id, Role::Admin).unwrap();
        assert_eq!(admins_other_than(&c, a.id).unwrap(), 1);
        delete_user(&c, a.id).unwrap();
        assert_eq!(count_users(&c).unwrap(), 1);
    }

    #[test]
    fn sessions_end_with_their_user_and_on_request() {
        let c = db();
        let a = create_user(&c, "ann", "h", Role::Admin, false, 1).unwrap();
        let b = create_user(&c, "bob", "h", Role::Admin, false, 1).unwrap();
        create_session(&c, b"s1", a.id, 10).unwrap();
        create_session(&c, b"s2", a.id, 10).unwrap();
        create_session(&c, b"s3", b.id, 10).unwrap();
        assert_eq!(
            session_user(&c, b"s1").unwrap().unwrap().user.username,
            "ann"
        );
        assert_eq!(delete_user_sessions(&c, a.id, Some(b"s1")).unwrap(), 1);
        assert!(session_user(&c, b"s2").unwrap().is_none());
        delete_user(&c, b.id).unwrap();
        assert!(session_user(&c, b"s3").unwrap().is_none());
    }

    #[test]
    fn expired_sessions_are_removed() {
        let c = db();
        let a = create_user(&c, "ann", "h", Role::Admin, false, 1).unwrap();
        create_session(&c, b"old", a.id, 100).unwrap();
        create_session(&c, b"new", a.id, 1000).unwrap();
        assert_eq!(delete_expired_sessions(&c, 500, 0).unwrap(), 1);
        assert!(session_user(&c, b"new").unwrap().is_some());
    }
}
