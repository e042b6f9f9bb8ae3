//! Tidy checks of the whole workspace (rust-analyzer's `tidy.rs` habit): the README's code
//! map is the real crate graph, every Rust file says what it owns, files stay short
//! enough to read or say why not, and every sleep in a test says what it paces.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use dondoc_test_support::workspace_root;

/// Longer than this, a file outside tests must say why at its top.
const MAX_LINES: usize = 600;
const LONG_REASON: &str = "//! Why this file is long:";
/// A call to sleep (spelt in two pieces so that this file does not match itself).
const SLEEP: &str = concat!("sleep", "(");

/// Every `.rs` file of the workspace, outside build output and tool installs.
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | ".tools" | ".git" | "data") {
                    walk(&path, found);
                }
            } else if name.ends_with(".rs") {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    let root = workspace_root();
    for top in ["crates", "services", "tests"] {
        walk(&root.join(top), &mut found);
    }
    found.sort();
    assert!(found.len() > 50, "found only {} files", found.len());
    found
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Tests: in a `tests/` folder, or a unit-test file beside the code it tests.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.components().any(|part| part.as_os_str() == "tests")
        || name.ends_with("_tests.rs")
        || name == "tests.rs"
}

#[test]
fn every_rust_file_opens_with_a_module_comment() {
    let missing: Vec<String> = rust_files()
        .into_iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap();
            !text.trim_start().starts_with("//!")
        })
        .map(|path| relative(&path))
        .collect();
    assert!(
        missing.is_empty(),
        "files without a //! comment: {missing:?}"
    );
}

#[test]
fn long_files_outside_tests_say_why() {
    let long: Vec<String> = rust_files()
        .into_iter()
        .filter(|path| !is_test_file(path))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text.lines().count();
            let explained = text
                .lines()
                .take_while(|line| line.starts_with("//!"))
                .any(|line| line.starts_with(LONG_REASON));
            (lines > MAX_LINES && !explained).then(|| format!("{} ({lines})", relative(&path)))
        })
        .collect();
    assert!(
        long.is_empty(),
        "over {MAX_LINES} lines with no {LONG_REASON:?} line: {long:?}"
    );
}

#[test]
fn every_sleep_in_a_test_says_what_it_paces() {
    // The harness's own waits poll a condition with a bound (`wait.rs`, `process.rs`).
    let harness = workspace_root().join("crates/test-support/src");
    let mut unexplained = Vec::new();
    for path in rust_files() {
        if !is_test_file(&path) || path.starts_with(&harness) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (index, line) in lines.iter().enumerate() {
            if !line.contains(SLEEP) {
                continue;
            }
            let before = lines[index.saturating_sub(3)..index]
                .join(" ")
                .to_lowercase();
            if !before.contains("pace") {
                unexplained.push(format!("{}:{}", relative(&path), index + 1));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "sleeps in tests must pace something and say so in a comment above (to wait for a \
         condition, use dondoc_test_support::eventually): {unexplained:?}"
    );
}

/// Each workspace crate → its normal dependencies on workspace crates, from
/// `cargo metadata`.
fn crate_graph() -> BTreeMap<String, (String, Vec<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(workspace_root())
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let packages = metadata["packages"].as_array().unwrap();
    let names: Vec<&str> = packages
        .iter()
        .map(|package| package["name"].as_str().unwrap())
        .collect();
    let root = workspace_root().canonicalize().unwrap();
    packages
        .iter()
        .map(|package| {
            let manifest = PathBuf::from(package["manifest_path"].as_str().unwrap());
            let folder = manifest
                .parent()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .display()
                .to_string();
            let mut dependencies: Vec<String> = package["dependencies"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|dependency| dependency["kind"].is_null())
                .map(|dependency| dependency["name"].as_str().unwrap().to_owned())
                .filter(|name| names.contains(&name.as_str()))
                .collect();
            dependencies.sort();
            (
                package["name"].as_str().unwrap().to_owned(),
                (folder, dependencies),
            )
        })
        .collect()
}

/// The README's code-map table: crate → (folder, dependencies).
fn code_map() -> BTreeMap<String, (String, Vec<String>)> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let begin = readme
        .find("<!-- code-map:begin -->")
        .expect("README has a code map");
    let end = readme.find("<!-- code-map:end -->").unwrap();
    let untick = |cell: &str| cell.trim().trim_matches('`').to_owned();
    readme[begin..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').collect();
            let mut dependencies: Vec<String> = match cells[2].trim() {
                "—" => Vec::new(),
                listed => listed.split(',').map(untick).collect(),
            };
            dependencies.sort();
            (untick(cells[0]), (untick(cells[1]), dependencies))
        })
        .collect()
}

#[test]
fn the_readmes_code_map_is_the_crate_graph() {
    let graph = crate_graph();
    let map = code_map();
    for (name, real) in &graph {
        assert_eq!(
            map.get(name),
            Some(real),
            "README code map row of {name} (cargo metadata says: folder {}, depends on {:?})",
            real.0,
            real.1
        );
    }
    for name in map.keys() {
        assert!(
            graph.contains_key(name),
            "the README lists {name}, which is no crate of the workspace"
        );
    }
    // Each crate has its paragraph.
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    for (folder, _) in graph.values() {
        assert!(
            readme.contains(&format!("#### `{folder}`")),
            "the code map has no paragraph for {folder}"
        );
    }
}
