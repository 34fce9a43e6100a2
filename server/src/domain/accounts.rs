//! Accounts: logging in and out, the session behind a request, changing a password, and the
//! users admins manage. The last admin can be neither deleted nor demoted. Passwords are
//! checked and hashed here and never leave (see `crate::auth` for the hashing itself).

use std::sync::Arc;

use crate::auth::{self, Passwords, Throttle, Verdict};
use crate::clock::Clock;
use crate::domain::{Error, Result};
use crate::model::values::{MAX_PASSWORD_BYTES, NewPassword, Username};
use crate::model::{Role, SessionUser, User};
use crate::store::{self, Durability, Store, StoreError};

/// A session unused for this long ends.
pub const SESSION_IDLE_SECS: i64 = 7 * 86_400;
/// A session ends this long after login whatever its use.
pub const SESSION_MAX_SECS: i64 = 30 * 86_400;
/// Last-seen times are written at most this often per session.
pub const SESSION_TOUCH_SECS: i64 = 60;

/// A browser keeps its device cookie this long after its last login.
pub const DEVICE_COOKIE_SECS: i64 = 365 * 86_400;

/// A login that worked: the user, the session id for the cookie (shown this once), and the
/// device cookie's new value for the browser.
pub struct LoggedIn {
    pub user: User,
    pub session_id: String,
    pub device_cookie: String,
}

/// What the first start did about the first admin.
#[derive(Debug, PartialEq, Eq)]
pub enum FirstAdmin {
    /// Users exist already.
    Existing,
    /// Made with ADMIN_PASSWORD.
    FromEnv(String),
    /// Made with this random password, to be shown once.
    Generated { username: String, password: String },
}

pub struct Accounts {
    store: Arc<Store>,
    passwords: Passwords,
    throttle: Throttle,
    clock: Clock,
}

impl Accounts {
    pub fn new(store: Arc<Store>, clock: Clock) -> Accounts {
        Accounts {
            store,
            passwords: Passwords::new(),
            throttle: Throttle::new(clock.clone()),
            clock,
        }
    }

    /// The live session a cookie names, its last-seen time touched now and then; none when
    /// it has been idle or alive too long.
    pub fn session(&self, cookie_value: &str) -> Option<SessionUser> {
        let hash = auth::session_hash(cookie_value)?;
        let s = self
            .store
            .read(|c| store::users::session_user(c, &hash))
            .ok()??;
        let now = self.clock.now();
        if now - s.last_seen_at > SESSION_IDLE_SECS || now - s.created_at > SESSION_MAX_SECS {
            return None;
        }
        if now - s.last_seen_at > SESSION_TOUCH_SECS {
            let _ = self.store.write(Durability::Relaxed, move |tx| {
                store::users::touch_session(tx, &hash, now)
            });
        }
        Some(s)
    }

    /// Checks a login from `client` (an address) by a browser that sent `device_cookie`, if
    /// any. Failures count per address, and for the name per device, as OWASP's "device
    /// cookie" has it: a browser holding a cookie this user's earlier login left has a count
    /// of its own, which nobody else's guesses move; every other attempt at the name shares
    /// the name's count. After five failures of either each guess waits; a waiting window
    /// admits one guess. A login that works gets a new device cookie.
    pub fn login(
        &self,
        username: &str,
        password: &str,
        client: &str,
        device_cookie: Option<&str>,
    ) -> Result<LoggedIn> {
        if username.is_empty() || password.is_empty() {
            return Err(Error::invalid(
                "username",
                "enter a username and a password",
            ));
        }
        if password.len() > MAX_PASSWORD_BYTES || username.len() > 256 {
            return Err(Error::BadCredentials);
        }
        let found = self.store.read(|c| store::users::find_login(c, username))?;
        // The user's password hash is the device cookies' key: secret, kept by the server
        // only, and a new password (or a reset) makes every earlier cookie name no device.
        let device = match (&found, device_cookie) {
            (Some((user, hash)), Some(cookie)) => auth::device_of(cookie, user.id, hash.as_bytes()),
            _ => None,
        };
        let ip_key = format!("ip:{client}");
        let name_key = match &device {
            Some(nonce) => format!("device:{nonce}"),
            None => format!("user:{}", username.to_lowercase()),
        };
        let keys = [ip_key.as_str(), name_key.as_str()];
        self.throttle
            .reserve(&keys)
            .map_err(Error::TooManyAttempts)?;
        let verdict = self
            .passwords
            .verify(password, found.as_ref().map(|(_, h)| h.as_str()));
        let (user, old_hash) = match (found, &verdict) {
            (Some((user, hash)), Verdict::Right | Verdict::RightUpgrade(_)) => (user, hash),
            _ => {
                println!("event=login_failed client={client} ");
                return Err(Error::BadCredentials);
            }
        };
        // A known device's success leaves the name's count for the others as it is.
        self.throttle.succeed(&keys);
        let (session_id, hash) = auth::new_session_id();
        let now = self.clock.now();
        let upgrade = match verdict {
            Verdict::RightUpgrade(h) => Some(h),
            _ => None,
        };
        let key = upgrade.as_deref().unwrap_or(&old_hash);
        let device_cookie = auth::new_device_cookie(user.id, key.as_bytes());
        let user_id = user.id;
        self.store.durable(move |tx| {
            if let Some(new_hash) = upgrade {
                store::users::upgrade_hash(tx, user_id, &old_hash, &new_hash)?;
            }
            store::users::create_session(tx, &hash, user_id, now)
        })?;
        println!("event=login user_id={} client={client}", user.id);
        Ok(LoggedIn {
            user,
            session_id,
            device_cookie,
        })
    }

    pub fn logout(&self, session: &SessionUser) -> Result<()> {
        let hash = session.id_hash.clone();
        self.store
            .durable(move |tx| store::users::delete_session(tx, &hash))?;
        Ok(())
    }

    /// Changes the session's user's password, given the current one, and ends their other
    /// sessions. `confirm`, when given, must repeat the new password.
    pub fn change_password(
        &self,
        session: &SessionUser,
        current: &str,
        new: &str,
        confirm: Option<&str>,
    ) -> Result<()> {
        if confirm.is_some_and(|c| c != new) {
            return Err(Error::invalid(
                "confirm_password",
                "the two new passwords differ",
            ));
        }
        let new = NewPassword::parse(new).map_err(|e| e.in_field("new_password"))?;
        if new.expose() == current {
            return Err(Error::invalid(
                "new_password",
                "choose a password different from the current one",
            ));
        }
        let user = &session.user;
        // A count of its own: guesses at the login form must not keep a user who is logged
        // in from changing the password.
        let user_key = format!("password:{}", user.id);
        self.throttle
            .reserve(&[&user_key])
            .map_err(Error::TooManyAttempts)?;
        let stored = self
            .store
            .read(|c| store::users::find_login(c, &user.username))?
            .map(|(_, h)| h);
        if self.passwords.verify(current, stored.as_deref()) == Verdict::Wrong {
            return Err(Error::invalid(
                "current_password",
                "the current password is wrong",
            ));
        }
        self.throttle.succeed(&[&user_key]);
        let hash = self.passwords.hash(new.expose());
        let (now, user_id, keep) = (self.clock.now(), user.id, session.id_hash.clone());
        self.store.durable(move |tx| {
            store::users::set_password(tx, user_id, &hash, false, now)?;
            store::users::delete_user_sessions(tx, user_id, Some(&keep)).map(|_| ())
        })?;
        println!("event=password_changed user_id={user_id}");
        Ok(())
    }

    /// Deletes the sessions that have been idle or alive too long; how many.
    pub fn sweep_sessions(&self) -> Result<usize> {
        let now = self.clock.now();
        Ok(self.store.write(Durability::Relaxed, move |tx| {
            store::users::delete_expired_sessions(
                tx,
                now - SESSION_IDLE_SECS,
                now - SESSION_MAX_SECS,
            )
        })?)
    }

    pub fn users(&self) -> Result<Vec<User>> {
        Ok(self.store.read(store::users::list_users)?)
    }

    /// Adds a user; without a password a random one is made, returned once, and must be
    /// changed at first login.
    pub fn add_user(
        &self,
        username: Username,
        role: Role,
        password: Option<NewPassword>,
    ) -> Result<(User, Option<String>)> {
        let generated = password.is_none();
        let password = password.map_or_else(auth::random_password, |p| p.expose().to_string());
        let hash = self.passwords.hash(&password);
        let now = self.clock.now();
        let user = self.store.durable(move |tx| {
            store::users::create_user(tx, &username, &hash, role, generated, now)
        })?;
        println!(
            "event=user_added user_id={} role={}",
            user.id,
            role.as_str()
        );
        Ok((user, generated.then_some(password)))
    }

    pub fn set_role(&self, id: i64, role: Role) -> Result<User> {
        self.store
            .durable(move |tx| {
                let user = store::users::get_user(tx, id)?;
                if user.role == Role::Admin && role != Role::Admin {
                    last_admin_stays(tx, id, "demoted")?;
                }
                store::users::set_role(tx, id, role)
            })
            .map_err(Error::not_found("user", id))
    }

    pub fn delete_user(&self, id: i64) -> Result<()> {
        self.store
            .durable(move |tx| {
                let user = store::users::get_user(tx, id)?;
                if user.role == Role::Admin {
                    last_admin_stays(tx, id, "deleted")?;
                }
                store::users::delete_user(tx, id)
            })
            .map_err(Error::not_found("user", id))?;
        println!("event=user_removed user_id={id}");
        Ok(())
    }

    /// A new random password for the user with `id`, shown once; they must change it at next
    /// login and their sessions end.
    pub fn reset_password(&self, id: i64) -> Result<(User, String)> {
        let user = self
            .store
            .read(|c| store::users::get_user(c, id))
            .map_err(Error::not_found("user", id))?;
        let password = self.set_random_password(user.id)?;
        println!("event=password_reset user_id={id}");
        Ok((user, password))
    }

    /// The same for a user named `username` (`lanstat-server reset-password`).
    pub fn reset_password_of(&self, username: &str) -> Result<String> {
        let user = self
            .store
            .read(|c| store::users::find_by_name(c, username))?
            .ok_or_else(|| Error::NotFound(format!("no user named {username:?}")))?;
        self.set_random_password(user.id)
    }

    fn set_random_password(&self, user_id: i64) -> Result<String> {
        let password = auth::random_password();
        let hash = self.passwords.hash(&password);
        let now = self.clock.now();
        self.store.durable(move |tx| {
            store::users::set_password(tx, user_id, &hash, true, now)?;
            store::users::delete_user_sessions(tx, user_id, None).map(|_| ())
        })?;
        Ok(password)
    }

    /// Creates the first admin when there is no user yet: with `password` (ADMIN_PASSWORD),
    /// or a random one to be shown once and changed at first login.
    pub fn ensure_first_admin(&self, username: &str, password: Option<&str>) -> Result<FirstAdmin> {
        if self.store.read(store::users::count_users)? > 0 {
            return Ok(FirstAdmin::Existing);
        }
        let (password, generated) = match password {
            Some(p) => (p.to_string(), false),
            None => (auth::random_password(), true),
        };
        let hash = self.passwords.hash(&password);
        let now = self.clock.now();
        let name = username.to_string();
        self.store.durable(move |tx| {
            // Another process may have made one meanwhile: only the first wins.
            if store::users::count_users(tx)? > 0 {
                return Ok(());
            }
            store::users::create_user(tx, &name, &hash, Role::Admin, generated, now).map(|_| ())
        })?;
        let username = username.to_string();
        Ok(if generated {
            FirstAdmin::Generated { username, password }
        } else {
            FirstAdmin::FromEnv(username)
        })
    }
}

/// Refuses to take the admin role from the last admin.
fn last_admin_stays(tx: &store::Conn, user_id: i64, what: &str) -> store::Result<()> {
    if store::users::admins_other_than(tx, user_id)? == 0 {
        return Err(StoreError::Refused(format!(
            "the last admin cannot be {what}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::TestDb;

    fn accounts(tag: &str) -> (TestDb, Clock, Accounts) {
        let db = TestDb::new(tag);
        let clock = Clock::fake(1_800_000_000);
        let a = Accounts::new(db.store.clone(), clock.clone());
        (db, clock, a)
    }

    #[test]
    fn sessions_expire_when_idle_and_at_their_absolute_limit() {
        let (_db, clock, a) = accounts("sessions");
        let pw = NewPassword::parse("ann's own password").unwrap();
        a.add_user(
            Username::parse("ann").unwrap(),
            Role::Admin,
            Some(pw.clone()),
        )
        .unwrap();
        let login = || {
            a.login("ann", pw.expose(), "test", None)
                .unwrap()
                .session_id
        };
        // Idle: alive while used at least once a week, gone after a week without use.
        let s = login();
        clock.advance(SESSION_IDLE_SECS - 60);
        assert!(a.session(&s).is_some(), "used just in time: touched");
        clock.advance(SESSION_IDLE_SECS - 60);
        assert!(a.session(&s).is_some());
        clock.advance(SESSION_IDLE_SECS + 1);
        assert!(a.session(&s).is_none(), "a week idle");
        // Absolute: even a session in constant use ends after its maximum age.
        let s = login();
        for _ in 0..(SESSION_MAX_SECS / 86_400) {
            clock.advance(86_400);
            let _ = a.session(&s);
        }
        clock.advance(3600);
        assert!(a.session(&s).is_none(), "past the absolute limit");
    }

    #[test]
    fn a_known_device_has_its_own_count_and_others_share_the_names() {
        let (_db, clock, a) = accounts("device");
        let pw = NewPassword::parse("ann's own password").unwrap();
        let ann = Username::parse("ann").unwrap();
        a.add_user(ann, Role::Admin, Some(pw.clone())).unwrap();
        let right = pw.expose();
        let laptop = a
            .login("ann", right, "10.0.0.1", None)
            .unwrap()
            .device_cookie;
        let locked = |r: Result<LoggedIn>| matches!(r, Err(Error::TooManyAttempts(_)));
        // Five guesses from five addresses without a cookie: the name waits for them all.
        for i in 0..5 {
            let guess = a.login("ann", "wrong-wrong", &format!("203.0.113.{i}"), None);
            assert!(matches!(guess, Err(Error::BadCredentials)));
        }
        assert!(locked(a.login("ann", right, "203.0.113.9", None)));
        let mut forged = laptop.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == '0' { '1' } else { '0' });
        assert!(locked(a.login("ann", right, "203.0.113.9", Some(&forged))));
        // The laptop is not, and its own guesses lock only itself.
        let laptop = a
            .login("ann", right, "10.0.0.1", Some(&laptop))
            .unwrap()
            .device_cookie;
        for i in 0..5 {
            let guess = a.login("ann", "wrong-wrong", &format!("10.0.1.{i}"), Some(&laptop));
            assert!(matches!(guess, Err(Error::BadCredentials)));
        }
        assert!(locked(a.login("ann", right, "10.0.0.1", Some(&laptop))));
        clock.advance(1);
        let again = a.login("ann", right, "10.0.0.1", Some(&laptop)).unwrap();
        // A new password makes every earlier cookie name no device.
        let session = a.session(&again.session_id).unwrap();
        a.change_password(&session, right, "a newer password", None)
            .unwrap();
        clock.advance(2);
        let before = a.login("ann", "wrong-wrong", "10.0.0.1", Some(&again.device_cookie));
        assert!(matches!(before, Err(Error::BadCredentials)));
        assert!(
            locked(a.login(
                "ann",
                "a newer password",
                "10.0.0.2",
                Some(&again.device_cookie)
            )),
            "counted with the others: the name still waits"
        );
    }

    #[test]
    fn guesses_at_the_login_form_do_not_stop_a_password_change() {
        let (_db, _clock, a) = accounts("change-throttle");
        let pw = NewPassword::parse("bob's own password").unwrap();
        let bob = Username::parse("bob").unwrap();
        a.add_user(bob, Role::Viewer, Some(pw.clone())).unwrap();
        let s = a.login("bob", pw.expose(), "10.0.0.1", None).unwrap();
        for i in 0..6 {
            let _ = a.login("bob", "wrong-wrong", &format!("203.0.113.{i}"), None);
        }
        let session = a.session(&s.session_id).unwrap();
        a.change_password(&session, pw.expose(), "bob's newer password", None)
            .unwrap();
    }

    #[test]
    fn the_last_admin_can_be_neither_demoted_nor_deleted() {
        let (_db, _clock, a) = accounts("last-admin");
        let (ann, _) = a
            .add_user(Username::parse("ann").unwrap(), Role::Admin, None)
            .unwrap();
        assert!(matches!(
            a.set_role(ann.id, Role::Viewer),
            Err(Error::Conflict { .. })
        ));
        assert!(matches!(a.delete_user(ann.id), Err(Error::Conflict { .. })));
        let (bob, _) = a
            .add_user(Username::parse("bob").unwrap(), Role::Admin, None)
            .unwrap();
        a.set_role(ann.id, Role::Viewer).unwrap();
        assert!(matches!(a.delete_user(bob.id), Err(Error::Conflict { .. })));
        assert!(matches!(a.delete_user(99), Err(Error::NotFound(_))));
    }
}
