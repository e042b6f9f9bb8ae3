//! Where `dondoc` gets its agency directory: the province files shipped in
//! deploy/agencies/ (compiled into dondoc-agencies), or every `*.json` in a folder an
//! administrator names with `--agencies`, which replaces them.

use std::path::Path;

use anyhow::Context;
use dondoc_agencies::AgencyDirectory;

pub fn load(replacement: Option<&Path>) -> anyhow::Result<AgencyDirectory> {
    let Some(dir) = replacement else {
        return dondoc_agencies::shipped().context("the shipped agency directory");
    };
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
    let mut provinces = Vec::new();
    for file in files {
        let json = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        provinces.push(
            AgencyDirectory::from_json(&json).with_context(|| format!("in {}", file.display()))?,
        );
    }
    AgencyDirectory::merged(provinces).context("merging the agency directories")
}
