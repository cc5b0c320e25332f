//! The workspace's shared folders are wired: every integration test in `tests/` and every
//! example in `examples/` belongs to exactly one crate (a `[[test]]` or `[[example]]` entry in
//! its `Cargo.toml`), so a new file cannot sit there unbuilt and untested.

use std::path::Path;

/// The `path = "../../FOLDER/NAME"` values of every crate manifest under `crates/`.
fn wired(folder: &str) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prefix = format!("path = \"../../{folder}/");
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        paths.extend(text.lines().filter_map(|line| {
            let rest = line.trim().strip_prefix(&prefix)?;
            Some(rest.trim_end_matches('"').to_string())
        }));
    }
    paths.sort();
    paths
}

/// The `.rs` files directly in `folder` (helpers live in subfolders).
fn files(folder: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(folder);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn every_test_and_example_belongs_to_exactly_one_crate() {
    for folder in ["tests", "examples"] {
        assert_eq!(
            wired(folder),
            files(folder),
            "{folder}/: each file needs exactly one entry in a crate's Cargo.toml"
        );
    }
}
