//! One BMC's Redfish service over HTTPS (or plain HTTP, only when configured so): a session
//! login (`X-Auth-Token`) with basic authentication as the fallback, every request with a
//! timeout and a cap on the answer's size, and no redirects or proxies (credentials go to the
//! BMC named, nowhere else).

use std::time::Duration;

use reqwest::header::HeaderValue;

/// How a BMC is reached.
#[derive(Clone)]
pub struct BmcConfig {
    /// The host it is the controller of.
    pub host: String,
    /// `https://ADDRESS[:PORT]`, or `http://…` where plain HTTP is configured.
    pub url: String,
    /// The BMC account.
    pub user: String,
    /// Its password.
    pub password: String,
    /// How its certificate is trusted (a CA, or a pinned fingerprint: BMCs ship self-signed
    /// certificates); none for plain HTTP.
    pub trust: Option<crate::cm::tls::Trust>,
    /// How long one request may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for BmcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        f.debug_struct("BmcConfig")
            .field("host", &self.host)
            .field("url", &self.url)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Why a BMC could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BmcError {
    /// The client could not be made (a bad URL, CA file or pin).
    #[error("{url}: {what}")]
    Setup {
        /// The BMC.
        url: String,
        /// What is wrong.
        what: String,
    },
    /// The request failed: refused, timed out, TLS.
    #[error("{url}: {what}")]
    Link {
        /// The resource.
        url: String,
        /// What happened.
        what: String,
    },
    /// The BMC answered with an error status.
    #[error("{url}: HTTP {status}")]
    Status {
        /// The resource.
        url: String,
        /// The status.
        status: u16,
    },
    /// The answer is not the document expected.
    #[error("{url}: {what}")]
    Document {
        /// The resource.
        url: String,
        /// What is wrong with it.
        what: String,
    },
}

/// The largest answer taken from a BMC (an expanded sensor collection is a few hundred KB).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The deepest cause of an error: reqwest's own text names the URL and little else.
fn cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// The URL of `path` on the BMC at `base`. Paths come from the BMC's own documents, so one
/// that could name another host (`//host`, `@host`, a backslash, spaces or control characters)
/// is refused (`None`): the credentials go to the BMC configured, nowhere else.
pub fn link_url(base: &str, path: &str) -> Option<String> {
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '@' | '\\'));
    plain.then(|| format!("{}{}", base.trim_end_matches('/'), path))
}

/// Text from a BMC (or about what it sent) made fit for a terminal and a log line: control
/// characters dropped, at most `max` characters.
pub fn printable(s: &str, max: usize) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(max).collect();
    if s.chars().filter(|c| !c.is_control()).count() > max {
        out.push('…');
    }
    out
}

/// A BMC, logged in on first use.
pub struct Bmc {
    cfg: BmcConfig,
    client: reqwest::Client,
    /// The session token, once logged in; `Some("")` after a refused session login (basic
    /// authentication from then on).
    token: tokio::sync::Mutex<Option<String>>,
    /// The session's own URI on the BMC (to end it), when the BMC said.
    session: std::sync::Mutex<Option<String>>,
}

impl Bmc {
    /// A client for `cfg` (nothing is requested yet).
    pub fn new(cfg: BmcConfig) -> Result<Self, BmcError> {
        let setup = |what: String| BmcError::Setup {
            url: cfg.url.clone(),
            what,
        };
        let https = cfg.url.starts_with("https://");
        if !https && !cfg.url.starts_with("http://") {
            return Err(setup("not an http:// or https:// URL".into()));
        }
        let mut b = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if https {
            let trust = cfg.trust.as_ref().ok_or_else(|| {
                setup("HTTPS needs the BMCs' CA (ca) or a pinned certificate (pin)".into())
            })?;
            let tls = crate::cm::tls::bmc_config(trust).map_err(|e| setup(e.to_string()))?;
            b = b.use_preconfigured_tls((*tls).clone());
        }
        let client = b.build().map_err(|e| setup(cause(&e)))?;
        Ok(Self {
            cfg,
            client,
            token: tokio::sync::Mutex::new(None),
            session: std::sync::Mutex::new(None),
        })
    }

    /// A client for `cfg` sharing `other`'s HTTP client (its connection pools and TLS setup)
    /// when both are reached alike — the same scheme, trust and timeout, as the BMCs of one
    /// `[[bmc]]` table are: a client of its own for each of a thousand BMCs would cost tens
    /// of megabytes.
    pub fn like(cfg: BmcConfig, other: &Bmc) -> Result<Self, BmcError> {
        let https = |c: &BmcConfig| c.url.starts_with("https://");
        let o = &other.cfg;
        let alike = https(&cfg) == https(o)
            && (cfg.url.starts_with("http://") || https(&cfg))
            && cfg.trust == o.trust
            && cfg.timeout == o.timeout;
        if !alike {
            return Self::new(cfg);
        }
        Ok(Self {
            cfg,
            client: other.client.clone(),
            token: tokio::sync::Mutex::new(None),
            session: std::sync::Mutex::new(None),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &BmcConfig {
        &self.cfg
    }

    /// The URL of `path` on this BMC (see [`link_url`]).
    fn url(&self, path: &str) -> Result<String, BmcError> {
        link_url(&self.cfg.url, path).ok_or_else(|| BmcError::Document {
            url: self.cfg.url.clone(),
            what: format!(
                "a link that does not stay on the BMC: {:?}",
                printable(path, 100)
            ),
        })
    }

    /// Logs in with a session; a BMC that has no sessions (or refuses one) is read with basic
    /// authentication instead.
    async fn login(&self) -> Result<String, BmcError> {
        let url = self.url("/redfish/v1/SessionService/Sessions")?;
        let body = serde_json::json!({"UserName": self.cfg.user, "Password": self.cfg.password});
        let r = self
            .client
            .post(&url)
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        let token = match r {
            Ok(r) if r.status().is_success() => {
                let header = |name: &str| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                // The session's URI, as a path on this BMC (a full URL is cut to its path).
                let location = header("Location").map(|l| match l.find("/redfish/") {
                    Some(i) => l[i..].to_string(),
                    None => l,
                });
                if let Ok(mut s) = self.session.lock() {
                    *s = location;
                }
                header("X-Auth-Token").unwrap_or_default()
            }
            Ok(r) if r.status().as_u16() == 401 => {
                return Err(BmcError::Status { url, status: 401 });
            }
            Ok(_) => String::new(),
            Err(e) => {
                return Err(BmcError::Link {
                    url,
                    what: cause(&e),
                });
            }
        };
        Ok(token)
    }

    /// Ends the session, if one is open: BMCs keep few sessions, and every console started
    /// would otherwise leave one behind until it times out. Best effort, within the timeout.
    pub async fn logout(&self) {
        let token = self.token.lock().await.take().unwrap_or_default();
        let location = self.session.lock().ok().and_then(|mut s| s.take());
        let (Some(location), false) = (location, token.is_empty()) else {
            return;
        };
        let Ok(url) = self.url(&location) else {
            return;
        };
        let Ok(value) = HeaderValue::from_str(&token) else {
            return;
        };
        match self
            .client
            .delete(&url)
            .header("X-Auth-Token", value)
            .send()
            .await
        {
            Ok(r) => tracing::debug!("BMC session {url} ended: HTTP {}", r.status().as_u16()),
            Err(e) => tracing::debug!("BMC session {url} not ended: {}", cause(&e)),
        }
    }

    /// A document, logged in as needed; a session that expired is renewed once.
    pub async fn get(&self, path: &str) -> Result<serde_json::Value, BmcError> {
        for attempt in 0..2 {
            let token = {
                let mut t = self.token.lock().await;
                if t.is_none() {
                    *t = Some(self.login().await?);
                }
                t.clone().unwrap_or_default()
            };
            let url = self.url(path)?;
            let mut req = self.client.get(&url);
            req = if token.is_empty() {
                req.basic_auth(&self.cfg.user, Some(&self.cfg.password))
            } else {
                match HeaderValue::from_str(&token) {
                    Ok(v) => req.header("X-Auth-Token", v),
                    Err(_) => req.basic_auth(&self.cfg.user, Some(&self.cfg.password)),
                }
            };
            let mut r = req.send().await.map_err(|e| BmcError::Link {
                url: url.clone(),
                what: cause(&e),
            })?;
            let status = r.status().as_u16();
            if status == 401 && attempt == 0 && !token.is_empty() {
                // The session ended on the BMC's side: log in again.
                *self.token.lock().await = None;
                continue;
            }
            if !(200..300).contains(&status) {
                return Err(BmcError::Status { url, status });
            }
            let mut body = Vec::new();
            while let Some(chunk) = r.chunk().await.map_err(|e| BmcError::Link {
                url: url.clone(),
                what: cause(&e),
            })? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(BmcError::Document {
                        url,
                        what: format!("the answer is larger than {MAX_BODY} bytes"),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            return serde_json::from_slice(&body).map_err(|e| BmcError::Document {
                url,
                what: format!("not JSON: {e}"),
            });
        }
        Err(BmcError::Status {
            url: self.url(path)?,
            status: 401,
        })
    }

    /// A document of a known shape.
    pub async fn doc<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, BmcError> {
        let v = self.get(path).await?;
        serde_json::from_value(v).map_err(|e| BmcError::Document {
            url: self.url(path).unwrap_or_else(|_| self.cfg.url.clone()),
            what: format!("not the document expected: {e}"),
        })
    }
}
