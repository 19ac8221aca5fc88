//! Slurm's REST API (slurmrestd, openapi v0.0.38 as 22.05 serves it) as a transport: the poll
//! (ping, jobs, nodes, partitions), submissions, and the actions the API has (cancel, a signal
//! to the whole job, an absolute time limit). What 22.05's API lacks — hold, release, requeue,
//! suspend, resume, a signal to the steps only, job details, step usage, accounting — stays
//! with the command-line tools (see `act.rs` and `link.rs`).
//!
//! Every request carries `X-SLURM-USER-NAME` and `X-SLURM-USER-TOKEN`. The token (a JWT from
//! `scontrol token`) is read from a file that others cannot read, or from the keyring under the
//! API's URL; it is never logged or shown, and its header is marked sensitive.

use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderValue;
use serde_json::Value;

use super::act::SlurmAct;
use super::jobs::{self, SlurmJob};
use super::link::CmdKind;
use super::parse::{self, SlurmNode};
use super::rest_json::{self, API};
use super::view::Partition;
use crate::cm::job::JobSpec;

/// Where slurmrestd is and how to authenticate to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestConfig {
    /// Base URL (`http://127.0.0.1:6820`).
    pub url: String,
    /// File holding the token (`SLURM_JWT=…` as `scontrol token` prints it, or the token
    /// alone); none: the keyring, under the URL and the user.
    pub token_file: Option<String>,
    /// The Slurm user the token is for (`X-SLURM-USER-NAME`).
    pub user: String,
}

/// A JWT: shown as nothing, logged as nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(hidden)")
    }
}

impl Token {
    /// A token from text as `scontrol token` prints it (`SLURM_JWT=…`) or bare.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t.strip_prefix("SLURM_JWT=").unwrap_or(t).trim();
        (!t.is_empty() && t.chars().all(|c| c.is_ascii_graphic())).then(|| Self(t.to_string()))
    }
}

/// Opens a token file once, not following a symlink, and checks what was opened: a regular
/// file of this user that nobody else can read. The same handle is then read, so the file
/// checked is the file read.
fn open_token_file(path: &Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => format!(
                "{} is a symbolic link: name the file itself",
                path.display()
            ),
            _ => format!("{}: {e}", path.display()),
        })?;
    let m = f
        .metadata()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if !m.is_file() {
        return Err(format!("{} is not a regular file", path.display()));
    }
    if m.mode() & 0o077 != 0 {
        return Err(format!(
            "{} can be read by others (mode {:o}): the token is a password; chmod 600 it",
            path.display(),
            m.mode() & 0o777
        ));
    }
    let me = crate::cm::account::euid();
    if m.uid() != me {
        return Err(format!(
            "{} belongs to uid {}, not to this console's user (uid {me})",
            path.display(),
            m.uid()
        ));
    }
    Ok(f)
}

/// Why a token file cannot be used: missing, a link, not this user's, or readable by others.
pub fn token_file_problem(path: &Path) -> Option<String> {
    open_token_file(path).err()
}

/// Reads a token file, refusing one that others can read.
pub fn read_token_file(path: &Path) -> Result<Token, String> {
    use std::io::Read;
    let mut text = String::new();
    open_token_file(path)?
        .take(64 * 1024)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Token::parse(&text).ok_or_else(|| format!("{} holds no token", path.display()))
}

/// A connection to slurmrestd.
pub struct Rest {
    /// The HTTP client, or why there is none (its TLS could not be set up).
    client: Result<reqwest::Client, String>,
    cfg: RestConfig,
    /// A token given at login or read from the keyring (a token file is read at every use, so
    /// a renewed token is picked up).
    given: parking_lot::Mutex<Option<Token>>,
    keyring_tried: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for Rest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Rest({})", self.cfg.url)
    }
}

/// An answer: HTTP success, the JSON, and its `errors` in words.
struct Answer {
    ok: bool,
    status: u16,
    body: String,
    doc: Value,
    errors: Vec<String>,
}

impl Answer {
    /// The errors, or `fallback` when the answer failed without any.
    fn why(&self, fallback: &str) -> String {
        if self.errors.is_empty() {
            format!("{fallback} (HTTP {})", self.status)
        } else {
            self.errors.join("\n")
        }
    }
}

/// The deepest cause of an error: reqwest's own text names the URL and little else.
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

impl Rest {
    /// A client for `cfg` (no request is made yet; a client that cannot be built says why at
    /// every request).
    pub fn new(cfg: RestConfig) -> Self {
        // No redirects (the token header would follow to whatever host one names) and no
        // proxy from the environment: the token goes to the configured slurmrestd only.
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| format!("HTTP client for {}: {}", cfg.url, cause(&e)));
        Self {
            client,
            cfg,
            given: parking_lot::Mutex::new(None),
            keyring_tried: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Its URL, for the screen.
    pub fn url(&self) -> &str {
        &self.cfg.url
    }

    /// The user requests are made as.
    pub fn user(&self) -> String {
        self.cfg.user.clone()
    }

    /// Takes a token given at login (the login dialog's password), keeping it in the keyring
    /// under the URL when `remember` is set; a token file, when configured, still wins.
    pub async fn set_token(&self, text: &str, remember: bool) -> Result<(), String> {
        let t = Token::parse(text).ok_or("that is not a token (scontrol token prints one)")?;
        if remember {
            let (k, u, p) = (self.cfg.url.clone(), self.cfg.user.clone(), t.0.clone());
            tokio::task::spawn_blocking(move || crate::jobs::secrets::save(&k, &u, &p))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
        }
        *self.given.lock() = Some(t);
        Ok(())
    }

    /// Whether the login dialog should ask for a token: no token file is configured, and none
    /// was given or found in the keyring. (A token file that cannot be used is an error to
    /// show, not a login to ask for.)
    pub async fn needs_login(&self) -> bool {
        self.cfg.token_file.is_none() && self.token().await.is_err()
    }

    async fn token(&self) -> Result<Token, String> {
        if let Some(f) = &self.cfg.token_file {
            return read_token_file(Path::new(f));
        }
        if let Some(t) = self.given.lock().clone() {
            return Ok(t);
        }
        if !self
            .keyring_tried
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            let (k, u) = (self.cfg.url.clone(), self.cfg.user.clone());
            match tokio::task::spawn_blocking(move || crate::jobs::secrets::load(&k, &u)).await {
                Ok(Ok(Some(p))) => {
                    if let Some(t) = Token::parse(&p) {
                        *self.given.lock() = Some(t.clone());
                        return Ok(t);
                    }
                }
                Ok(Err(e)) => tracing::info!("no slurmrestd token from the keyring: {e}"),
                _ => {}
            }
        }
        Err(format!(
            "no token for slurmrestd at {} (user {}): set token_file, or log in with the token \
             from `scontrol token` as the password",
            self.cfg.url, self.cfg.user
        ))
    }

    async fn call(
        &self,
        kind: CmdKind,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, String> {
        let token = self.token().await?;
        let url = format!("{}/slurm/{API}/{path}", self.cfg.url.trim_end_matches('/'));
        let mut secret =
            HeaderValue::from_str(&token.0).map_err(|_| "the token is not a header value")?;
        secret.set_sensitive(true);
        let user = HeaderValue::from_str(&self.cfg.user)
            .map_err(|_| format!("user '{}' is not a header value", self.cfg.user))?;
        let limit = kind.deadline();
        let mut req = self
            .client
            .as_ref()
            .map_err(Clone::clone)?
            .request(method, &url)
            .timeout(limit)
            .header("X-SLURM-USER-NAME", user)
            .header("X-SLURM-USER-TOKEN", secret);
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_string());
        }
        let base = &self.cfg.url;
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                format!(
                    "slurmrestd at {base} did not answer within {} s (is slurmctld down?)",
                    limit.as_secs()
                )
            } else {
                format!("cannot reach slurmrestd at {base}: {}", cause(&e))
            }
        })?;
        let status = resp.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(format!(
                "slurmrestd at {base} refused the token for {} (expired? get a new one with \
                 scontrol token)",
                self.cfg.user
            ));
        }
        let body = tokio::time::timeout(limit, resp.text())
            .await
            .map_err(|_| format!("slurmrestd at {base} stopped answering"))?
            .map_err(|e| format!("slurmrestd at {base}: {}", cause(&e)))?;
        let doc: Value = serde_json::from_str(&body).map_err(|_| {
            let start: String = body.chars().take(200).collect();
            format!(
                "slurmrestd at {base} answered HTTP {} without JSON: {start}",
                status.as_u16()
            )
        })?;
        Ok(Answer {
            ok: status.is_success(),
            status: status.as_u16(),
            errors: rest_json::errors(&doc),
            body,
            doc,
        })
    }

    async fn get(&self, kind: CmdKind, path: &str) -> Result<Answer, String> {
        self.call(kind, reqwest::Method::GET, path, None).await
    }

    /// Whether slurmctld answers, asked through `/ping` (which slurmrestd retries for 9 s when
    /// it does not: the ping deadline cuts that short).
    pub async fn ping(&self) -> Result<(), String> {
        let a = self.get(CmdKind::Ping, "ping").await?;
        let up = a
            .doc
            .get("pings")
            .and_then(Value::as_array)
            .is_some_and(|p| p.iter().any(|x| parse::text(x.get("ping")) == "UP"));
        if a.ok && up {
            Ok(())
        } else {
            Err(format!(
                "slurmrestd: {}",
                a.why("slurmctld does not answer its ping")
            ))
        }
    }

    /// Every job the controller holds (as `squeue --json` lists them).
    pub async fn jobs(&self) -> Result<Vec<SlurmJob>, String> {
        let a = self.get(CmdKind::Poll, "jobs").await?;
        if !a.ok || !a.errors.is_empty() {
            return Err(format!("slurmrestd /jobs: {}", a.why("failed")));
        }
        jobs::squeue(&a.body).map_err(|e| e.replacen("squeue --json", "slurmrestd /jobs", 1))
    }

    /// Every node (as `sinfo --json` lists them).
    pub async fn nodes(&self) -> Result<Vec<SlurmNode>, String> {
        let a = self.get(CmdKind::Poll, "nodes").await?;
        if !a.ok || !a.errors.is_empty() {
            return Err(format!("slurmrestd /nodes: {}", a.why("failed")));
        }
        parse::sinfo(&a.body).map_err(|e| e.replacen("sinfo --json", "slurmrestd /nodes", 1))
    }

    /// Partitions, counted over `nodes`; none when they cannot be read (as with sinfo).
    pub async fn partitions(&self, nodes: &[SlurmNode]) -> Vec<Partition> {
        match self.get(CmdKind::Poll, "partitions").await {
            Ok(a) if a.ok => rest_json::partitions(&a.doc, nodes),
            Ok(a) => {
                tracing::debug!("slurmrestd /partitions: {}", a.why("failed"));
                Vec::new()
            }
            Err(e) => {
                tracing::debug!("{e}");
                Vec::new()
            }
        }
    }

    /// Submits a job; its id, or slurmrestd's words.
    pub async fn submit(&self, spec: &JobSpec) -> Result<u64, String> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let cwd = std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|_| "/tmp".into());
        let body = rest_json::submission(spec, &env, &cwd);
        let a = self
            .call(
                CmdKind::Act,
                reqwest::Method::POST,
                "job/submit",
                Some(&body),
            )
            .await?;
        rest_json::submitted(&a.doc)
    }

    /// Carries out `act` on one job (`17`, `5_3`, `5`) when the API can; `None` when it cannot
    /// and the command-line tools must.
    pub async fn act(&self, act: &SlurmAct, label: &str) -> Option<Result<(), String>> {
        // A pending array's record (`5_[1-3]`) is not a path the API takes: cancelled task by
        // task (up to a thousand; more is scancel's), anything else is the commands'.
        if let Some((job, tasks)) = label.split_once("_[") {
            if *act != SlurmAct::Cancel {
                return None;
            }
            let ids = jobs::task_indices(tasks.trim_end_matches(']'));
            if ids.is_empty() || ids.len() > 1000 {
                return None;
            }
            let mut failed = Vec::new();
            for t in ids {
                let task = format!("{job}_{t}");
                if let Some(Err(e)) = Box::pin(self.act(act, &task)).await {
                    failed.push(format!("{task}: {e}"));
                }
            }
            return Some(if failed.is_empty() {
                Ok(())
            } else {
                Err(failed.join("\n"))
            });
        }
        let path = format!("job/{label}");
        let (method, path, body) = match act {
            SlurmAct::Cancel => (reqwest::Method::DELETE, path, None),
            // The API signals the whole job, the batch shell included (seen on 22.05.8): a
            // signal to the steps only is scancel's.
            SlurmAct::Signal {
                signal,
                batch: true,
            } => (
                reqwest::Method::DELETE,
                format!("{path}?signal={}", signal.as_str()),
                None,
            ),
            // 22.05 applies an array task's update but answers "job array update failed".
            SlurmAct::TimeLimit(t) if !label.contains('_') => {
                let m = rest_json::limit_minutes(t)?;
                (
                    reqwest::Method::POST,
                    path,
                    Some(serde_json::json!({ "time_limit": m })),
                )
            }
            _ => return None,
        };
        Some(
            match self.call(CmdKind::Act, method, &path, body.as_ref()).await {
                Ok(a) if a.ok && a.errors.is_empty() => Ok(()),
                Ok(a) => Err(a.why("slurmrestd refused")),
                Err(e) => Err(e),
            },
        )
    }

    /// `(id, state, reason)` of every job, for the action checks.
    pub async fn states(&self) -> Result<Vec<(String, String, String)>, String> {
        let a = self.get(CmdKind::Act, "jobs").await?;
        if !a.ok || !a.errors.is_empty() {
            return Err(format!("slurmrestd /jobs: {}", a.why("failed")));
        }
        let jobs = jobs::squeue(&a.body)?;
        Ok(rest_json::state_rows(&jobs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn tokens_are_read_from_private_files_only() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("jwt");
        std::fs::write(&f, "SLURM_JWT=eyJ.abc.def\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_token_file(&f).unwrap_err();
        assert!(e.contains("read by others (mode 644)"), "{e}");
        assert!(!e.contains("eyJ"), "the token is never shown: {e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token_file(&f).unwrap(), Token("eyJ.abc.def".into()));
        assert_eq!(format!("{:?}", Token("eyJ".into())), "Token(hidden)");
        std::fs::write(&f, "\n").unwrap();
        assert!(read_token_file(&f).unwrap_err().contains("holds no token"));
        assert!(
            read_token_file(&d.path().join("none"))
                .unwrap_err()
                .contains("No such file")
        );
        // A symbolic link (to a private file or to anything else) is not followed.
        std::fs::write(&f, "eyJ.abc.def\n").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(
            read_token_file(&link)
                .unwrap_err()
                .contains("symbolic link")
        );
        // Nor a FIFO (it would block), nor a directory.
        assert!(
            read_token_file(d.path())
                .unwrap_err()
                .contains("not a regular file")
        );
    }
}
