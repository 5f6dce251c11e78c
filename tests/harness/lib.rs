//! Shared helpers for the workspace's integration tests and benchmarks.
//!
//! The integration tests in `tests/` exercise the crates together and, as the
//! node grows, real `ferrodis-node` processes on 127.0.0.1 ports. Helpers they
//! share live here so every test starts nodes, picks ports and waits for
//! states the same way.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The workspace's root directory (where the top-level `Cargo.toml` is).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, skipping build output.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && name != ".git" {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}
