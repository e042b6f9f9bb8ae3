//! Where `dondoc` gets its agency directory: the province files shipped in
//! deploy/agencies/ (compiled in), or every `*.json` in a directory an administrator
//! names with `--agencies`, which replaces them.

use std::path::Path;

use anyhow::Context;
use dondoc_agencies::AgencyDirectory;

const SHIPPED: [(&str, &str); 2] = [
    (
        "quang-ngai.json",
        include_str!("../../../deploy/agencies/quang-ngai.json"),
    ),
    (
        "quang-tri.json",
        include_str!("../../../deploy/agencies/quang-tri.json"),
    ),
];

pub fn load(replacement: Option<&Path>) -> anyhow::Result<AgencyDirectory> {
    let mut provinces = Vec::new();
    match replacement {
        None => {
            for (name, json) in SHIPPED {
                provinces.push(
                    AgencyDirectory::from_json(json)
                        .with_context(|| format!("shipped directory {name}"))?,
                );
            }
        }
        Some(dir) => {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .with_context(|| format!("reading the agency directory folder {}", dir.display()))?
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .collect();
            files.sort();
            anyhow::ensure!(
                !files.is_empty(),
                "{} has no *.json agency files",
                dir.display()
            );
            for file in files {
                let json = std::fs::read_to_string(&file)
                    .with_context(|| format!("reading {}", file.display()))?;
                provinces.push(
                    AgencyDirectory::from_json(&json)
                        .with_context(|| format!("in {}", file.display()))?,
                );
            }
        }
    }
    AgencyDirectory::merged(provinces).context("merging the agency directories")
}
