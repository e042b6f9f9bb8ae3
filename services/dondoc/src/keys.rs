//! The deployment's signing key on disk, and `dondoc key`: show it, rotate it.
//!
//! Invariants: the key is 32 random bytes from the operating system, kept as hex in
//! one file that only its owner can read (0600, in a 0700 folder), made on first need
//! and never changed by a restart: `<data-dir>/keys/signing.key` unless `--signing-key`
//! names another (processes beside one log share one key file). A rotation writes the
//! next key beside the current one first, appends the rotation (signed by the current
//! key) to the log, and only then puts the next key in place, keeping the retired one.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;
use dondoc_app::Clock;
use dondoc_domain::DeploymentKey;

/// The key file's name under `<data-dir>/keys/`.
const KEY_FILE: &str = "signing.key";

/// Where the signing key is: `--signing-key`, or `<data-dir>/keys/signing.key`.
#[derive(Debug, Clone, clap::Args)]
pub struct SigningKeyArg {
    /// The deployment's Ed25519 signing key (hex, 0600). Default:
    /// <data-dir>/keys/signing.key, made on first start. Every process writing to one
    /// log uses the same key file.
    #[arg(long, env = "DONDOC_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
}

impl SigningKeyArg {
    pub fn path(&self, data_dir: &Path) -> PathBuf {
        self.signing_key
            .clone()
            .unwrap_or_else(|| data_dir.join("keys").join(KEY_FILE))
    }

    /// The key of a deployment that exists: that of the `dondoc up` which made it
    /// (workers and sweeps never make one).
    pub fn load(&self, data_dir: &Path) -> anyhow::Result<DeploymentKey> {
        let path = self.path(data_dir);
        anyhow::ensure!(
            path.exists(),
            "no signing key at {}: give --signing-key, the key file of the `dondoc up` whose log this is",
            path.display()
        );
        read_key(&path)
    }

    /// The key, made (and kept) if the file does not exist yet.
    pub fn load_or_create(&self, data_dir: &Path) -> anyhow::Result<DeploymentKey> {
        let path = self.path(data_dir);
        if path.exists() {
            return read_key(&path);
        }
        let key = fresh_key()?;
        write_key(&path, &key)?;
        tracing::info!(path = %path.display(), key = %key.key_id(), "made the deployment's signing key");
        Ok(key)
    }
}

/// A new key from the operating system's randomness.
pub fn fresh_key() -> anyhow::Result<DeploymentKey> {
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).context("reading randomness for a signing key")?;
    Ok(DeploymentKey::from_secret_bytes(&secret))
}

/// Reads a key file (64 hex characters), refusing one others can read.
pub fn read_key(path: &Path) -> anyhow::Result<DeploymentKey> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?;
    if metadata.permissions().mode() & 0o077 != 0 {
        anyhow::bail!(
            "{} can be read by others (mode {:o}); make it 0600",
            path.display(),
            metadata.permissions().mode() & 0o777
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .with_context(|| format!("{} does not hold a key (64 hex characters)", path.display()))?;
    Ok(DeploymentKey::from_secret_bytes(&bytes))
}

/// Writes `key` to a new file at `path` (0600; its folder 0700).
pub fn write_key(path: &Path, key: &DeploymentKey) -> anyhow::Result<()> {
    write_new_private(
        path,
        format!("{}\n", hex::encode(key.secret_bytes())).as_bytes(),
    )
}

/// Creates `dir` (and its parents) and makes it its owner's alone (0700).
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making {} private", dir.display()))
}

/// Writes `bytes` to a file that must not exist yet, readable by its owner only (0600,
/// in a 0700 folder), synced to disk.
pub fn write_new_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", path.display()))
}

/// `dondoc key …`
#[derive(Debug, clap::Subcommand)]
pub enum KeyCommand {
    /// The deployment key's id and public key (made if the data directory has none).
    Show(KeyShowArgs),
    /// A new signing key, put on record by a rotation the current key signs; the
    /// current key is kept as `<key file>.retired-<key id>`. Stop the processes that
    /// write to the log first, and start them again after.
    Rotate(KeyRotateArgs),
}

#[derive(Debug, clap::Args)]
pub struct KeyShowArgs {
    #[command(flatten)]
    data: crate::config::DataDirArg,
    #[command(flatten)]
    key: SigningKeyArg,
}

#[derive(Debug, clap::Args)]
pub struct KeyRotateArgs {
    /// The log: --nats, or the embedded server of --data-dir (started for the rotation).
    #[command(flatten)]
    nats: crate::config::NatsArgs,
    #[command(flatten)]
    data: crate::config::DataDirArg,
    #[command(flatten)]
    key: SigningKeyArg,
}

pub async fn run_key(command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Show(args) => {
            let key = args.key.load_or_create(&args.data.data_dir)?;
            println!("key id      {}", key.key_id());
            println!("public key  {}", key.public_key_hex());
            Ok(())
        }
        KeyCommand::Rotate(args) => rotate(args).await,
    }
}

async fn rotate(args: KeyRotateArgs) -> anyhow::Result<()> {
    let data_dir = &args.data.data_dir;
    let path = args.key.path(data_dir);
    let current = read_key(&path)?;
    let nats = crate::stack::Nats::url_or_embedded(
        args.nats.nats.as_deref(),
        args.nats.nats_creds.as_deref(),
        data_dir,
        &crate::config::EmbeddedNatsArgs::default(),
        &[],
        false,
    )?;
    let result = async {
        let log = dondoc_eventlog::EventLog::connect(
            nats.url(),
            &dondoc_eventlog::EventLogOptions {
                auth: nats.service_auth.clone(),
                replicas: args.nats.stream_replicas,
            },
        )
        .await
        .with_context(|| format!("opening the event log at {}", nats.url()))?;
        let next = fresh_key()?;
        let staged = path.with_extension("key.next");
        if staged.exists() {
            std::fs::remove_file(&staged)
                .with_context(|| format!("removing an unfinished {}", staged.display()))?;
        }
        write_key(&staged, &next)?;
        let now = dondoc_app::SystemClock.now();
        let sequence = dondoc_app::Signing::rotate(&log, &current, &next, "dondoc key rotate", now)
            .await
            .context("recording the rotation")?;
        let retired = path.with_extension(format!("key.retired-{}", current.key_id()));
        std::fs::rename(&path, &retired)
            .and_then(|()| std::fs::rename(&staged, &path))
            .with_context(|| {
                format!(
                    "putting the next key in place ({} → {}); the rotation is on record",
                    staged.display(),
                    path.display()
                )
            })?;
        println!(
            "rotated from {} to {} (key record at stream sequence {sequence}); the retired key is {}",
            current.key_id(),
            next.key_id(),
            retired.display()
        );
        anyhow::Ok(())
    }
    .await;
    nats.stop()?;
    result
}
