//! The agent's bearer token: made (UUID v4 from getrandom), persisted atomically with mode
//! 0600, checked on load, compared in constant time, rotated on request, and shown in the
//! start banner whole only to a person at a terminal.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Error;

/// Shortest and longest token we accept from a file or a flag.
const MIN_LEN: usize = 16;
const MAX_LEN: usize = 256;

/// A new random UUID v4, as the original client made.
pub fn generate() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Token(format!("no randomness available: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40; // version 4
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// Why a token's form is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    TooShort,
    TooLong,
    /// Spaces, control or non-ASCII characters.
    NotVisibleAscii,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Malformed::TooShort => write!(f, "it is shorter than {MIN_LEN} characters"),
            Malformed::TooLong => write!(f, "it is longer than {MAX_LEN} characters"),
            Malformed::NotVisibleAscii => {
                f.write_str("it holds spaces, control or non-ASCII characters")
            }
        }
    }
}

impl std::error::Error for Malformed {}

/// Checks a token's form: 16 to 256 visible ASCII characters (a UUID, or any provisioned
/// secret of that shape).
pub fn validate(token: &str) -> Result<(), Malformed> {
    if token.len() < MIN_LEN {
        Err(Malformed::TooShort)
    } else if token.len() > MAX_LEN {
        Err(Malformed::TooLong)
    } else if !token.bytes().all(|c| c.is_ascii_graphic()) {
        Err(Malformed::NotVisibleAscii)
    } else {
        Ok(())
    }
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    std::hint::black_box(diff) == 0
}

/// Where the token file lives: the flag, else `$STATE_DIRECTORY/token` under systemd, else
/// `client_token.txt` in the working directory, as the original client kept it.
pub fn default_path(state_directory: Option<&str>) -> PathBuf {
    match state_directory
        .and_then(|s| s.split(':').next())
        .filter(|s| !s.is_empty())
    {
        Some(dir) => Path::new(dir).join("token"),
        None => PathBuf::from("client_token.txt"),
    }
}

/// Where the token in use comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The token file, made on the first start.
    File(PathBuf),
    /// The `LANSTAT_TOKEN` environment variable.
    Env,
    /// The `--token` flag, which every user of the machine can read in `ps`.
    Flag,
}

/// What the agent prints when `--token` is used: the flag puts the secret in the process's
/// command line, which any user of the machine reads with `ps`.
pub const FLAG_WARNING: &str = "warning: --token shows the token to every user of this machine (ps, /proc/PID/cmdline); \
     keep it in a token file (--token-file PATH, mode 0600) or in the LANSTAT_TOKEN environment variable \
     (a systemd EnvironmentFile) instead";

/// The original start banner's lines. A person at a terminal gets it as the original printed
/// it, token and all, to add the computer with. Without a terminal (under systemd, whose
/// journal keeps every line of every start) the token never appears: only its last four
/// characters, to tell it from another, and where it is kept.
pub fn banner(hostname: &str, url: &str, token: &str, source: &Source, terminal: bool) -> String {
    let (token_line, add_line) = if terminal {
        (
            token.to_string(),
            "Add this computer to the dashboard using the above token".to_string(),
        )
    } else {
        let tail = &token[token.len().saturating_sub(4)..];
        let (kept, whole) = match source {
            Source::File(path) => {
                let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                (
                    format!("kept in {}", path.display()),
                    format!("lanstat-agent token --token-file {}", path.display()),
                )
            }
            Source::Env => (
                "from the LANSTAT_TOKEN environment variable".to_string(),
                "the LANSTAT_TOKEN environment variable".to_string(),
            ),
            Source::Flag => (
                "from --token".to_string(),
                "the --token flag you gave".to_string(),
            ),
        };
        (
            format!("…{tail} ({kept}; not shown in full outside a terminal)"),
            format!("Add this computer to the dashboard using the whole token: {whole}"),
        )
    };
    format!(
        "=== CLIENT STARTED ===\n\
         Computer: {hostname}\n\
         Token: {token_line}\n\
         {add_line}\n\
         Dashboard should connect to: {url}\n\
         ======================\n"
    )
}

/// Reads the token file, creating it with a new token when it does not exist. Refuses a file
/// that group or others can read, or that does not hold a valid token.
pub fn load_or_create(path: &Path) -> Result<String, Error> {
    match fs::symlink_metadata(path) {
        Ok(_) => load(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let token = generate()?;
            write_atomic(path, &token)?;
            Ok(token)
        }
        Err(e) => Err(Error::Token(format!(
            "cannot read token file {}: {e}",
            path.display()
        ))),
    }
}

/// Reads an existing token file.
pub fn load(path: &Path) -> Result<String, Error> {
    check_permissions(path)?;
    let bytes = fs::read(path)
        .map_err(|e| Error::Token(format!("cannot read token file {}: {e}", path.display())))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::Token(format!(
            "token file {} is not text; remove it to make a new token",
            path.display()
        ))
    })?;
    let token = text.trim();
    validate(token).map_err(|why| {
        Error::Token(format!(
            "token file {} does not hold a valid token ({why}); remove it to make a new one",
            path.display()
        ))
    })?;
    Ok(token.to_string())
}

/// Replaces the token in `path` with a new one and returns it.
pub fn rotate(path: &Path) -> Result<String, Error> {
    let token = generate()?;
    write_atomic(path, &token)?;
    Ok(token)
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let meta = fs::metadata(path)
        .map_err(|e| Error::Token(format!("cannot read token file {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::Token(format!(
            "token file {} is not a regular file",
            path.display()
        )));
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Error::Token(format!(
            "token file {} is readable by others (mode {mode:03o}); run: chmod 600 {}",
            path.display(),
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_path: &Path) -> Result<(), Error> {
    Ok(())
}

/// Writes the token atomically with mode 0600: a crash leaves the old token or the new one,
/// never half a token.
fn write_atomic(path: &Path, token: &str) -> Result<(), Error> {
    crate::file::write_private(path, format!("{token}\n").as_bytes())
        .map_err(|e| Error::Token(format!("cannot write token file {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir(tag: &str) -> PathBuf {
        let mut b = [0u8; 8];
        getrandom::fill(&mut b).unwrap();
        let d = std::env::temp_dir().join(format!("lanstat-token-{tag}-{}", u64::from_le_bytes(b)));
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn generated_tokens_are_uuid_v4() {
        let t = generate().unwrap();
        assert_eq!(t.len(), 36);
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'));
        assert_ne!(t, generate().unwrap());
    }

    #[test]
    fn constant_time_eq_compares() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn validate_rejects_bad_forms() {
        assert!(validate("short").is_err());
        assert!(validate(&"x".repeat(300)).is_err());
        assert!(validate("has a space in it ok").is_err());
        assert!(validate("0123456789abcdef").is_ok());
    }

    #[test]
    fn file_is_created_0600_and_kept() {
        let dir = tempdir("create");
        let path = dir.join("client_token.txt");
        let t1 = load_or_create(&path).unwrap();
        let t2 = load_or_create(&path).unwrap();
        assert_eq!(t1, t2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let t3 = rotate(&path).unwrap();
        assert_ne!(t1, t3);
        assert_eq!(load(&path).unwrap(), t3);
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    fn write_with_mode(path: &Path, content: &[u8], mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::write(path, content).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_file_is_refused() {
        let dir = tempdir("perm");
        let path = dir.join("token");
        write_with_mode(&path, b"0123456789abcdef0123\n", 0o644);
        let err = load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("readable by others"), "{err}");
        fs::remove_dir_all(dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn corrupt_file_is_refused() {
        let dir = tempdir("corrupt");
        let path = dir.join("token");
        for content in [
            &b"\xff\xfe\x00garbage"[..],
            b"",
            b"short\n",
            b"two words here and more\n",
        ] {
            write_with_mode(&path, content, 0o600);
            assert!(load_or_create(&path).is_err(), "{content:?}");
        }
        fs::remove_dir_all(dir).unwrap();
    }

    const TOKEN: &str = "a79a6575-3178-44fa-8ed0-48581ae5caec";

    #[test]
    fn a_terminal_gets_the_original_banner() {
        let file = Source::File(PathBuf::from("client_token.txt"));
        assert_eq!(
            banner("pi", "http://pi:8000", TOKEN, &file, true),
            "=== CLIENT STARTED ===\n\
             Computer: pi\n\
             Token: a79a6575-3178-44fa-8ed0-48581ae5caec\n\
             Add this computer to the dashboard using the above token\n\
             Dashboard should connect to: http://pi:8000\n\
             ======================\n"
        );
    }

    #[test]
    fn without_a_terminal_only_the_last_four_and_where_it_is_kept() {
        let file = Source::File(PathBuf::from("/var/lib/lanstat-agent/token"));
        let shown = banner("pi", "http://pi:8000", TOKEN, &file, false);
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains(&TOKEN[..8]), "{shown}");
        assert!(
            shown.contains("\nToken: …caec (kept in /var/lib/lanstat-agent/token; "),
            "{shown}"
        );
        assert!(
            shown.contains("lanstat-agent token --token-file /var/lib/lanstat-agent/token"),
            "{shown}"
        );
        for (source, said) in [
            (Source::Env, "from the LANSTAT_TOKEN environment variable"),
            (Source::Flag, "from --token"),
        ] {
            let shown = banner("pi", "http://pi:8000", TOKEN, &source, false);
            assert!(!shown.contains(TOKEN), "{shown}");
            assert!(shown.contains(&format!("Token: …caec ({said}")), "{shown}");
        }
        let relative = Source::File(PathBuf::from("client_token.txt"));
        let shown = banner("pi", "http://pi:8000", TOKEN, &relative, false);
        let cwd = std::env::current_dir().unwrap().join("client_token.txt");
        assert!(
            shown.contains(&format!("kept in {}", cwd.display())),
            "{shown}"
        );
    }

    #[test]
    fn default_path_follows_systemd() {
        assert_eq!(default_path(None), PathBuf::from("client_token.txt"));
        assert_eq!(
            default_path(Some("/var/lib/lanstat-agent")),
            PathBuf::from("/var/lib/lanstat-agent/token")
        );
        assert_eq!(default_path(Some("/a:/b")), PathBuf::from("/a/token"));
    }
}
