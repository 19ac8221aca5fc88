//! Users: an Apache htpasswd file with bcrypt hashes (what `htpasswd -B` writes), roles, and
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
                    "user '{user}' does not have a bcrypt hash; set it with htpasswd -B"
                )));
            }
            hashes.insert(user.to_string(), hash.to_string());
        }
        Ok(Self {
            hashes,
            admins: admins.to_vec(),
        })
    }

    /// Reads the file; a missing file means no users (only legacy requests, if enabled).
    pub fn load(path: &Path, admins: &[String]) -> Result<Self, UsersError> {
        match std::fs::read_to_string(path) {
            Ok(t) => Self::parse(path, &t, admins),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                hashes: HashMap::new(),
                admins: admins.to_vec(),
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
            Some(h) => bcrypt::verify(password, h).unwrap_or(false),
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

    /// Number of users.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// No users at all.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

/// The cost of a bcrypt hash (`$2y$10$…` → 10).
fn cost_of(hash: &str) -> Option<u32> {
    hash.split('$')
        .nth(2)?
        .parse()
        .ok()
        .filter(|c| (4..=31).contains(c))
}

/// Failed logins per key (peer address, user name) within a window.
#[derive(Debug)]
pub struct LoginLimiter {
    window: Duration,
    max_failures: usize,
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// At most `max_failures` per key in `window`.
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self {
            window,
            max_failures,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Seconds to wait when any key is over its limit.
    pub fn blocked(&self, keys: &[&str]) -> Option<u64> {
        let now = Instant::now();
        let mut map = self.failures.lock();
        let mut wait = None;
        for k in keys {
            if let Some(v) = map.get_mut(*k) {
                v.retain(|t| now.duration_since(*t) < self.window);
                if v.len() >= self.max_failures
                    && let Some(first) = v.first()
                {
                    let left = self.window.saturating_sub(now.duration_since(*first));
                    wait = Some(wait.unwrap_or(0).max(left.as_secs() + 1));
                }
            }
        }
        wait
    }

    /// Counts a failure against every key.
    pub fn failed(&self, keys: &[&str]) {
        let now = Instant::now();
        let mut map = self.failures.lock();
        for k in keys {
            map.entry((*k).to_string()).or_default().push(now);
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
            "users:1: user 'x' does not have a bcrypt hash; set it with htpasswd -B"
        );
    }

    #[test]
    fn failures_are_limited_per_key() {
        let l = LoginLimiter::new(2, Duration::from_secs(60));
        assert_eq!(l.blocked(&["1.2.3.4", "alice"]), None);
        l.failed(&["1.2.3.4", "alice"]);
        l.failed(&["1.2.3.4", "alice"]);
        assert!(l.blocked(&["9.9.9.9", "alice"]).is_some());
        assert!(l.blocked(&["1.2.3.4", "bob"]).is_some());
        assert_eq!(l.blocked(&["9.9.9.9", "bob"]), None);
    }
}
