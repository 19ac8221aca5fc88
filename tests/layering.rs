//! Data flows one way: the lower layers (sources, aggregation, history, job control's manager,
//! agents and Slurm backend, the simulator, triage) never reach up into the command line or
//! the console. This reads the sources and says where one does.

use std::path::Path;

const LOWER: &[&str] = &[
    "aggregator",
    "cm",
    "collector",
    "events",
    "ganglia",
    "graph",
    "history",
    "jobs",
    "model",
    "queue",
    "redfish",
    "server",
    "sim",
    "slurm",
    "triage",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn lower_layers_never_use_the_command_line_or_the_console() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut bad = Vec::new();
    for layer in LOWER {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "src/{layer} has no sources");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (n, line) in text.lines().enumerate() {
                if line.contains("crate::cli") || line.contains("crate::tui") {
                    bad.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(bad.is_empty(), "lower layers reach up:\n{}", bad.join("\n"));
}
