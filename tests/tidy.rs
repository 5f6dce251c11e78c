//! Repository hygiene that the compiler does not check.

use ferrodis_suite::{rust_files, workspace_root};

/// Every Rust file starts with a `//!` comment saying what it is for.
#[test]
fn every_rust_file_has_a_module_doc() {
    let root = workspace_root();
    let mut missing = Vec::new();
    for dir in ["crates", "bins", "tests", "benches", "fuzz"] {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).expect("read source file");
            if !text.trim_start().starts_with("//!") {
                missing.push(
                    file.strip_prefix(root)
                        .unwrap_or(&file)
                        .display()
                        .to_string(),
                );
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a //! header: {missing:#?}"
    );
}

/// Library crates never use `unwrap()`/`expect()` outside tests, and only
/// the binaries may print.
#[test]
fn library_code_has_no_unwrap_or_print() {
    let root = workspace_root();
    let mut offenders = Vec::new();
    for file in rust_files(&root.join("crates")) {
        let path = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        if path.contains("/tests/") || path.contains("/benches/") || path.contains("/examples/") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read source file");
        // Unit tests sit at the end of a file, after `#[cfg(test)]`.
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for bad in [".unwrap()", ".expect(", "println!", "eprintln!", "dbg!("] {
                if line.contains(bad) {
                    offenders.push(format!("{path}:{}: {line}", n + 1));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}

/// Every crate meant for crates.io carries the metadata publishing needs.
#[test]
fn published_crates_have_metadata() {
    let root = workspace_root();
    for dir in [
        "crates/resp",
        "crates/slots",
        "crates/store",
        "crates/persist",
        "crates/bus",
        "crates/repl",
        "crates/failover",
        "bins/node",
        "bins/cli",
        "bins/trib",
    ] {
        let manifest =
            std::fs::read_to_string(root.join(dir).join("Cargo.toml")).expect("read manifest");
        for key in [
            "description",
            "license.workspace",
            "repository.workspace",
            "readme",
        ] {
            assert!(manifest.contains(key), "{dir}/Cargo.toml lacks {key}");
        }
        assert!(
            root.join(dir).join("README.md").exists(),
            "{dir} lacks README.md"
        );
    }
}

/// `unsafe` is denied workspace-wide and forbidden in every library crate;
/// the exceptions are the node's counting allocator and its system-call
/// wrappers, where every `unsafe` block or impl follows a `// SAFETY:`
/// comment.
#[test]
fn unsafe_code_only_in_the_allocator_and_system_calls() {
    const ALLOWED: &[&str] = &["bins/node/src/alloc.rs", "bins/node/src/sys.rs"];
    let root = workspace_root();
    let mut offenders = Vec::new();
    for dir in ["crates", "bins", "tests", "benches"] {
        for file in rust_files(&root.join(dir)) {
            let path = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            let text = std::fs::read_to_string(&file).expect("read source file");
            if ALLOWED.contains(&path.as_str()) {
                continue;
            }
            let code: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .collect();
            // Spelled in two pieces so that this file does not match.
            let needle = concat!("allow(", "unsafe_code)");
            if code.iter().any(|l| l.contains(needle)) {
                offenders.push(format!("{path}: allows unsafe_code"));
            }
        }
    }
    for lib in rust_files(&root.join("crates")) {
        if lib.ends_with("src/lib.rs") {
            let text = std::fs::read_to_string(&lib).expect("read source file");
            if !text.contains("#![forbid(unsafe_code)]") {
                offenders.push(format!("{}: no #![forbid(unsafe_code)]", lib.display()));
            }
        }
    }
    for allowed in ALLOWED {
        let text = std::fs::read_to_string(root.join(allowed)).expect("read an allowed file");
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//")
                || !(code.contains("unsafe {") || code.starts_with("unsafe impl"))
            {
                continue;
            }
            // The nearest comment above (skipping attributes and the
            // statement's own start) must be a SAFETY argument.
            let justified = lines[..n]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .take_while(|l| l.starts_with("//") || l.starts_with("#["))
                .any(|l| l.starts_with("// SAFETY:"));
            if !justified {
                offenders.push(format!("{allowed}:{}: unsafe without // SAFETY:", n + 1));
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:#?}");
}
