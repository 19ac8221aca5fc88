//! Users: a file of bcrypt hashes (what `gantry cm passwd` and `htpasswd -B` write), roles, and
//! rate-limited logins. Passwords are only ever compared, never stored or logged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Why the users file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// A line is not `user:$2y$…`.
    #[error("{path}:{line}: {what}")]
    Bad {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

/// The users file, read.
#[derive(Debug, Default, Clone)]
pub struct Users {
    hashes: HashMap<String, String>,
    admins: Vec<String>,
    /// When the file was changed, as read.
    modified: Option<std::time::SystemTime>,
}

/// The role of a logged-in user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sees and controls everything.
    Admin,
    /// Sees and controls their own.
    User,
}

impl Role {
    /// The protocol spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::User => "user",
        }
    }
}

impl Users {
    /// Parses htpasswd text; only bcrypt hashes are accepted (other schemes are refused by
    /// line, so an operator knows to re-run `htpasswd -B`).
    pub fn parse(path: &Path, text: &str, admins: &[String]) -> Result<Self, UsersError> {
        let mut hashes = HashMap::new();
        for (i, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let bad = |what: &str| UsersError::Bad {
                path: path.to_path_buf(),
                line: i + 1,
                what: what.to_string(),
            };
            let (user, hash) = l.split_once(':').ok_or_else(|| bad("expected user:hash"))?;
            if user.is_empty() {
                return Err(bad("empty user name"));
            }
            if !(hash.starts_with("$2y$") || hash.starts_with("$2b$") || hash.starts_with("$2a$")) {
                return Err(bad(&format!(
                    "user '{user}' does not have a bcrypt hash; set it with gantry cm passwd (or htpasswd -B)"
                )));
            }
            if !valid_bcrypt(hash) {
                return Err(bad(&format!(
                    "the bcrypt hash of '{user}' is damaged (a bcrypt hash is $2y$NN$ and 53 characters); set it again with gantry cm passwd"
                )));
            }
            if user.contains(|c: char| c.is_control() || c == '|' || c == '&' || c == '\\') {
                return Err(bad(
                    "a user name may not contain control characters, | & or \\",
                ));
            }
            if hashes.insert(user.to_string(), hash.to_string()).is_some() {
                return Err(bad(&format!("user '{user}' is listed twice")));
            }
        }
        Ok(Self {
            hashes,
            admins: admins.to_vec(),
            modified: None,
        })
    }

    /// Reads the file; a missing file means no users (only legacy requests, if enabled).
    pub fn load(path: &Path, admins: &[String]) -> Result<Self, UsersError> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        match std::fs::read_to_string(path) {
            Ok(t) => Self::parse(path, &t, admins).map(|u| Self { modified, ..u }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                hashes: HashMap::new(),
                admins: admins.to_vec(),
                modified: None,
            }),
            Err(source) => Err(UsersError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// The role of a user name: `root` and the configured admins are admins.
    pub fn role(&self, user: &str) -> Role {
        if user == "root" || self.admins.iter().any(|a| a == user) {
            Role::Admin
        } else {
            Role::User
        }
    }

    /// Checks a password. Unknown users cost the same bcrypt work as known ones, so timing does
    /// not tell which names exist.
    pub fn check(&self, user: &str, password: &str) -> bool {
        // One dummy hash per cost, made once, at the dearest cost the file uses.
        static DUMMIES: std::sync::Mutex<Vec<(u32, String)>> = std::sync::Mutex::new(Vec::new());
        match self.hashes.get(user) {
            // Longer passwords are never cut to bcrypt's 72 bytes: they simply do not match.
            Some(h) => bcrypt::non_truncating_verify(password, h).unwrap_or(false),
            None => {
                let cost = self
                    .hashes
                    .values()
                    .filter_map(|h| cost_of(h))
                    .max()
                    .unwrap_or(10);
                let dummy = {
                    let mut d = DUMMIES.lock().unwrap_or_else(|e| e.into_inner());
                    match d.iter().find(|(c, _)| *c == cost) {
                        Some((_, h)) => h.clone(),
                        None => {
                            let h = bcrypt::hash("-", cost).unwrap_or_default();
                            d.push((cost, h.clone()));
                            h
                        }
                    }
                };
                let _ = bcrypt::verify(password, &dummy);
                false
            }
        }
    }

    /// A user's hash (what a session remembers, to end when it changes).
    pub fn hash_of(&self, user: &str) -> Option<&str> {
        self.hashes.get(user).map(String::as_str)
    }

    /// When the file was last changed, as read (none: no file).
    pub fn modified(&self) -> Option<std::time::SystemTime> {
        self.modified
    }

    /// Number of users.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// No users at all.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

/// Whether a hash is a whole bcrypt hash: `$2y$`, a two-digit cost, `$`, then 22 characters of
/// salt and 31 of hash in bcrypt's base-64 alphabet.
fn valid_bcrypt(hash: &str) -> bool {
    let b = hash.as_bytes();
    b.len() == 60
        && cost_of(hash).is_some()
        && b[3] == b'$'
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
}

/// The cost of a bcrypt hash (`$2y$10$…` → 10).
fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$')
        .nth(2)?
        .parse()
        .ok()
        .filter(|c| (4..=31).contains(c))
}

/// Login attempts per user and source, and per source, within a window. An attempt is
/// counted when it begins — before the password is checked — so guesses sent in parallel are
/// limited exactly like guesses sent one after another; a correct password takes its own
/// attempt back. A user's own attempts from one source never lock them out from another.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    per_user_source: usize,
    per_source: usize,
    attempts: Mutex<HashMap<String, Vec<Instant>>>,
}

/// An attempt being checked; [`LoginLimiter::succeeded`] takes it back.
#[derive(Debug)]
pub struct Attempt {
    keys: [String; 2],
    at: Instant,
}

/// The source part of a key: an IPv4 address, or an IPv6 address's /64 (one host has many).
pub fn source_key(peer_ip: &str) -> String {
    match peer_ip.trim_matches(['[', ']']).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(std::net::IpAddr::V6(v6)) => v6
            .to_ipv4_mapped()
            .map_or_else(String::new, |v| v.to_string()),
        Ok(ip) => ip.to_string(),
        Err(_) => peer_ip.to_string(),
    }
}

impl LoginLimiter {
    /// At most `per_user_source` attempts for one user from one source, and `per_source` from
    /// one source for all users, in `window`.
    pub fn new(per_user_source: usize, per_source: usize, window: Duration) -> Self {
        Self {
            window,
            per_user_source,
            per_source,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Begins an attempt, or says how many seconds to wait.
    pub fn begin(&self, user: &str, source: &str) -> Result<Attempt, u64> {
        let now = Instant::now();
        let keys = [format!("{user}\u{0}{source}"), format!("\u{0}{source}")];
        let mut map = self.attempts.lock();
        // Forget what the window has passed (and keys left empty), so the map stays small.
        if map.len() > 10_000 {
            map.retain(|_, v| {
                v.last()
                    .is_some_and(|t| now.duration_since(*t) < self.window)
            });
        }
        let mut wait = None;
        for (k, max) in keys.iter().zip([self.per_user_source, self.per_source]) {
            let v = map.entry(k.clone()).or_default();
            v.retain(|t| now.duration_since(*t) < self.window);
            if v.len() >= max
                && let Some(first) = v.first()
            {
                let left = self.window.saturating_sub(now.duration_since(*first));
                wait = Some(wait.unwrap_or(0).max(left.as_secs() + 1));
            }
        }
        if let Some(w) = wait {
            return Err(w);
        }
        for k in &keys {
            map.entry(k.clone()).or_default().push(now);
        }
        Ok(Attempt { keys, at: now })
    }

    /// The attempt was right: it no longer counts.
    pub fn succeeded(&self, a: Attempt) {
        let mut map = self.attempts.lock();
        for k in &a.keys {
            if let Some(v) = map.get_mut(k)
                && let Some(i) = v.iter().position(|t| *t == a.at)
            {
                v.remove(i);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_users_cost_what_the_files_hashes_cost() {
        assert_eq!(cost_of("$2y$12$abcdefghijklmnopqrstuv"), Some(12));
        assert_eq!(cost_of("$2b$04$x"), Some(4));
        assert_eq!(cost_of("plain"), None);
        assert_eq!(cost_of("$2y$99$x"), None);
    }

    #[test]
    fn bcrypt_lines_check_and_other_schemes_are_refused_by_line() {
        let hash = bcrypt::hash("s3cret", 4)
            .unwrap()
            .replacen("$2b$", "$2y$", 1);
        let text = format!("# users\nalice:{hash}\n");
        let u = Users::parse(Path::new("users"), &text, &["ops".into()]).unwrap();
        assert!(u.check("alice", "s3cret"));
        assert!(!u.check("alice", "wrong"));
        assert!(!u.check("bob", "s3cret"));
        assert_eq!(u.role("alice"), Role::User);
        assert_eq!(u.role("root"), Role::Admin);
        assert_eq!(u.role("ops"), Role::Admin);
        let e = Users::parse(Path::new("users"), "x:{SHA}abc\n", &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "users:1: user 'x' does not have a bcrypt hash; set it with gantry cm passwd (or htpasswd -B)"
        );
    }

    #[test]
    fn attempts_count_before_the_check_per_user_and_source() {
        let l = LoginLimiter::new(2, 3, Duration::from_secs(60));
        let a1 = l.begin("alice", "1.2.3.4").unwrap();
        let _a2 = l.begin("alice", "1.2.3.4").unwrap();
        // Two in flight: a third for alice from there waits, from elsewhere it does not.
        assert!(l.begin("alice", "1.2.3.4").is_err());
        assert!(l.begin("alice", "9.9.9.9").is_ok());
        // A right password takes its attempt back.
        l.succeeded(a1);
        assert!(l.begin("alice", "1.2.3.4").is_ok());
        // The source's own cap covers guessing across users.
        assert!(l.begin("bob", "1.2.3.4").is_ok());
        assert!(l.begin("carol", "1.2.3.4").is_err());
        assert_eq!(source_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(source_key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(source_key("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn a_cut_hash_or_a_long_password_never_passes() {
        let h = bcrypt::hash("x", 4).unwrap();
        let e = Users::parse(Path::new("u"), &format!("a:{h}\nb:{}\n", &h[..40]), &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("u:2: the bcrypt hash of 'b' is damaged"),
            "{e}"
        );
        let e = Users::parse(Path::new("u"), &format!("a:{h}\na:{h}\n"), &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("listed twice"), "{e}");
        // htpasswd cuts at 72 bytes; a login with the long password does not pass on its cut.
        let long = "p".repeat(80);
        let cut = bcrypt::hash(&long[..72], 4).unwrap();
        let u = Users::parse(Path::new("u"), &format!("a:{cut}\n"), &[]).unwrap();
        assert!(!u.check("a", &long));
    }
}
