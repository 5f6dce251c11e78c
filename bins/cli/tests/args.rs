//! `ferrodis-cli` answers `--help` and `--version` without a server.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ferrodis-cli");

#[test]
fn help_prints_usage() {
    let out = Command::new(BIN).arg("--help").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Usage: ferrodis-cli"), "{text}");
}

#[test]
fn version_prints_the_crate_version() {
    let out = Command::new(BIN).arg("--version").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
}
