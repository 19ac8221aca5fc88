//! Logs go to a file under the state directory, never to a terminal the console owns.
//! `GANTRY_LOG` sets the filter (e.g. `debug`, `gantry::aggregator=trace`).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Starts logging to `file`; keep the guard alive for as long as logs should be written.
/// Failing to open the file is not fatal: logging is then off and the reason is returned.
pub fn init(file: &Path) -> Result<WorkerGuard, String> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = file.file_name().ok_or("log path has no file name")?;
    // The log names users and hosts: readable by its owner only.
    crate::cm::store::private_file(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let appender = tracing_appender::rolling::never(dir, name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("GANTRY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .map_err(|e| e.to_string())?;
    Ok(guard)
}
