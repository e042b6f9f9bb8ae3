//! The embedded nats-server's identities (`dondoc_eventlog::Identity`: the service, the
//! deadline worker, an operator, one reminder subscriber per agency of the directory):
//! their passwords, made once and kept in `<data-dir>/credentials/`, and the server's
//! users built from them.
//!
//! Invariants: the folder is its owner's alone (0700) and so is every file in it (0600);
//! a password is 256 random bits, made on first need and never changed by a restart;
//! the files are what a client presents (`--nats-creds FILE`), so a person gives an
//! agency's system exactly its own file and nothing else.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dondoc_eventlog::{Identity, NatsAuth};
use dondoc_nats_embed::NatsUser;
use serde_json::json;

/// The folder under the data directory.
pub const CREDENTIALS_DIR: &str = "credentials";

/// The credentials of one data directory.
pub struct Credentials {
    dir: PathBuf,
}

impl Credentials {
    /// The credentials folder of `data_dir`, created (0700) if missing.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        let dir = data_dir.join(CREDENTIALS_DIR);
        crate::keys::private_dir(&dir)?;
        Ok(Self { dir })
    }

    /// The file holding `identity`'s credentials.
    pub fn path(&self, identity: &Identity) -> PathBuf {
        self.dir.join(format!("{}.json", identity.user()))
    }

    /// `identity`'s credentials, made on first need.
    pub fn auth(&self, identity: &Identity) -> anyhow::Result<NatsAuth> {
        let path = self.path(identity);
        if !path.exists() {
            let password = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            let record = json!({
                "user": identity.user(),
                "password": password,
                "inbox_prefix": identity.inbox_prefix(),
            });
            crate::keys::write_new_private(&path, record.to_string().as_bytes())?;
        }
        read_auth(&path)
    }

    /// The server's users: the service, the worker, the operator and one subscriber
    /// per agency id.
    pub fn users(&self, agency_ids: &[String]) -> anyhow::Result<Vec<NatsUser>> {
        let identities = [Identity::Service, Identity::Worker, Identity::Operator]
            .into_iter()
            .chain(agency_ids.iter().cloned().map(Identity::Agency));
        identities
            .map(|identity| {
                let NatsAuth::Password { user, password, .. } = self.auth(&identity)? else {
                    anyhow::bail!("{} holds no password", self.path(&identity).display());
                };
                let permissions = identity.permissions();
                Ok(NatsUser {
                    user,
                    password,
                    publish_allow: permissions.publish_allow,
                    publish_deny: permissions.publish_deny,
                    subscribe_allow: permissions.subscribe_allow,
                })
            })
            .collect()
    }
}

/// Credentials from a file: one of ours (`{"user", "password", "inbox_prefix"}`), or a
/// NATS credentials file (JWT and nkey seed) from an operator's server.
pub fn read_auth(path: &Path) -> anyhow::Result<NatsAuth> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if text.contains("-----BEGIN NATS USER JWT-----") {
        return Ok(NatsAuth::CredsFile(path.to_owned()));
    }
    let record: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is neither NATS credentials nor ours", path.display()))?;
    let field = |name: &str| record[name].as_str().map(str::to_owned);
    Ok(NatsAuth::Password {
        user: field("user").with_context(|| format!("{}: no user", path.display()))?,
        password: field("password").with_context(|| format!("{}: no password", path.display()))?,
        inbox_prefix: field("inbox_prefix"),
    })
}
