//! Accounts: users, their roles, and the session a request brings.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub must_change_password: bool,
    pub created_at: Option<i64>,
    pub password_changed_at: Option<i64>,
}

/// A live session and the user it belongs to.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub user: User,
    pub id_hash: Vec<u8>,
    pub created_at: i64,
    pub last_seen_at: i64,
}
