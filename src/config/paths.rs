//! Where Gantry keeps things: the XDG config dir (override with `GANTRY_CONFIG_DIR`) and the
//! XDG state dir (override with `GANTRY_STATE_DIR`).

use std::path::{Path, PathBuf};

/// Every path Gantry resolves, as `gantry info` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Configuration directory.
    pub config_dir: PathBuf,
    /// Main configuration file.
    pub config_file: PathBuf,
    /// User keymap overriding the shipped one.
    pub keymap_file: PathBuf,
    /// User themes.
    pub themes_dir: PathBuf,
    /// State directory (history, logs).
    pub state_dir: PathBuf,
    /// Saved metric history.
    pub history_file: PathBuf,
    /// Log file.
    pub log_file: PathBuf,
    /// Why each directory was chosen ("GANTRY_CONFIG_DIR", "XDG", …).
    pub config_origin: &'static str,
    /// Why the state directory was chosen.
    pub state_origin: &'static str,
}

/// No home directory and no override.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot tell where to keep {0}: no home directory; set {1}")]
pub struct PathError(&'static str, &'static str);

impl Paths {
    /// Resolves from `config_dir` (a command-line flag) or the environment.
    pub fn resolve(config_dir: Option<&Path>) -> Result<Self, PathError> {
        let dirs = directories::ProjectDirs::from("", "", "gantry");
        let env_dir = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let (config_dir, config_origin) = match (config_dir, env_dir("GANTRY_CONFIG_DIR")) {
            (Some(d), _) => (d.to_path_buf(), "--config-dir"),
            (None, Some(d)) => (d, "GANTRY_CONFIG_DIR"),
            (None, None) => match &dirs {
                Some(p) => (p.config_dir().to_path_buf(), "XDG config dir"),
                None => return Err(PathError("configuration", "GANTRY_CONFIG_DIR")),
            },
        };
        let (state_dir, state_origin) = match env_dir("GANTRY_STATE_DIR") {
            Some(d) => (d, "GANTRY_STATE_DIR"),
            None => match dirs
                .as_ref()
                .and_then(|p| p.state_dir().map(Path::to_path_buf))
            {
                Some(d) => (d, "XDG state dir"),
                None => match &dirs {
                    Some(p) => (p.data_local_dir().to_path_buf(), "XDG data dir"),
                    None => return Err(PathError("state", "GANTRY_STATE_DIR")),
                },
            },
        };
        Ok(Self {
            config_file: config_dir.join("config.toml"),
            keymap_file: config_dir.join("keymap.toml"),
            themes_dir: config_dir.join("themes"),
            history_file: state_dir.join("history.bin"),
            log_file: state_dir.join("gantry.log"),
            config_dir,
            state_dir,
            config_origin,
            state_origin,
        })
    }
}
