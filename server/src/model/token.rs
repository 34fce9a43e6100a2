//! Read-only API tokens as lists show them.

use serde::Serialize;

/// A token as lists show it; the token itself is never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub created_at: i64,
    /// The admin who made it; `None` for the command line or a deleted user.
    pub created_by: Option<String>,
    pub last_used_at: Option<i64>,
}
