//! What every integration test stands on, in one place (zero-to-production's
//! `spawn_app`, the async-nats repository's test-support crate):
//!
//! - `TestNats` (`nats.rs`): a real nats-server with JetStream on a free loopback port
//!   and a temporary store, and reads of its streams for assertions;
//! - `DondocProcess` (`process.rs`): a real `dondoc up` or `dondoc worker`, started,
//!   waited for by the line it prints when ready, its later lines readable, killed on
//!   drop; `Cli`: one-shot commands of the same binary;
//! - `eventually` (`wait.rs`): polling a condition with a bound, never a fixed sleep;
//! - seeds: the real documents from `../shared/seeds`, or their shipped copies.
//!
//! Invariants: nothing listens on a fixed port (nats-server picks its own and reports it
//! in a ports file; dondoc binds port 0 and prints its address); every process started
//! here is stopped by PID when its handle drops, and temporary directories go with it.
//!
//! The dondoc binary is the caller's to name (`CARGO_BIN_EXE_dondoc` exists only in
//! the test targets of the package that builds it), so this crate depends on no
//! dondoc library but the API's generated clients.

mod nats;
mod process;
mod seeds;
mod wait;

pub use nats::TestNats;
pub use process::{Cli, Connector, DondocProcess};
pub use seeds::{seed_path, seed_text, workspace_root, SEED_004};
pub use wait::{eventually, eventually_blocking};
