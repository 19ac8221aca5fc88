//! A font for PNG text, found on the system at run time (none ships with Gantry). plotters
//! keeps registered fonts for the life of the process, so one is loaded and leaked once.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Well-known sans fonts, most preferred first.
const CANDIDATES: [&str; 8] = [
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "NotoSans-Regular.ttf",
    "FreeSans.ttf",
    "Arial.ttf",
    "Vera.ttf",
    "DroidSans.ttf",
    "OpenSans-Regular.ttf",
];

/// Directories searched, recursively.
const DIRS: [&str; 4] = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/usr/X11R6/lib/X11/fonts",
    "/Library/Fonts",
];

fn search(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() && depth < 4 {
            search(&p, depth + 1, found);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| CANDIDATES.contains(&n))
        {
            found.push(p);
        }
    }
}

fn find() -> Result<PathBuf, String> {
    let mut found = Vec::new();
    let mut dirs: Vec<PathBuf> = DIRS.iter().map(PathBuf::from).collect();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(Path::new(&home).join(".local/share/fonts"));
        dirs.push(Path::new(&home).join(".fonts"));
    }
    for d in &dirs {
        search(d, 0, &mut found);
    }
    found.sort_by_key(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        CANDIDATES.iter().position(|c| *c == name)
    });
    found.into_iter().next().ok_or_else(|| {
        format!(
            "no TrueType sans font found (looked for {} under {}); install fonts-dejavu-core",
            CANDIDATES[..3].join(", "),
            DIRS[..2].join(" and ")
        )
    })
}

/// Registers a system font as plotters' "sans-serif" once; the font's path, or why not.
pub fn ensure() -> Result<&'static Path, &'static str> {
    static FONT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = FONT.get_or_init(|| {
        let path = find()?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
            .map_err(|_| format!("{}: not a font plotters can read", path.display()))?;
        Ok(path)
    });
    match r {
        Ok(p) => Ok(p.as_path()),
        Err(e) => Err(e.as_str()),
    }
}
