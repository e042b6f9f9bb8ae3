//! The seed documents: from `../shared/seeds` beside the checkout (as in CI), else the
//! identical copies shipped in `deploy/samples` (a user's clone has no `../shared`).

use std::path::{Path, PathBuf};

/// Seed 004, Quảng Ngãi's Kế hoạch 189/KH-UBND: (file name in the seeds, shipped copy).
pub const SEED_004: (&str, &str) = ("004_09303d0239868285.txt", "qng-189-kh-ubnd-2022.txt");

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Where a seed is: `(seed file, shipped copy)`, as in `SEED_004`.
pub fn seed_path((seed, shipped): (&str, &str)) -> PathBuf {
    let shared = workspace_root().join("../shared/seeds").join(seed);
    if shared.exists() {
        shared
    } else {
        workspace_root().join("deploy/samples").join(shipped)
    }
}

/// A seed's text.
pub fn seed_text(seed: (&str, &str)) -> String {
    let path = seed_path(seed);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}
