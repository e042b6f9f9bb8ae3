//! How callers reach the API: TLS (the server's certificate and key, or a self-signed
//! pair made on first start), bearer tokens signed with the deployment's auth key, the
//! operator token `dondoc up` leaves for the local CLI, `dondoc auth issue | revoke`,
//! and client certificates (`client_certs.rs`, `dondoc auth cert`).
//!
//! Invariants: the private halves (`tls/server.key`, `keys/auth.key`, every token file)
//! are their owner's alone (0600, folders 0700); plain-text gRPC needs `--insecure` and a
//! loopback address; a token is revoked by its id in `auth/revoked`, which the server
//! reads again when it changes (no restart).

use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use dondoc_api::auth::{self, Role, TokenRequest, TokenVerifier};
use dondoc_api::TlsIdentity;
use dondoc_domain::DeploymentKey;

use crate::keys::{fresh_key, private_dir, read_key, write_key, write_new_private};

/// Under `<data-dir>`: the TLS pair, the auth key, the token files.
const TLS_DIR: &str = "tls";
/// The CA certificate clients trust for the made certificate.
const CA_FILE: &str = "ca.crt";
const AUTH_KEY: &str = "keys/auth.key";
pub const OPERATOR_TOKEN: &str = "auth/operator.token";
const REVOKED: &str = "auth/revoked";
/// The operator token's lifetime: a year (issue another with `dondoc auth issue`).
const OPERATOR_TOKEN_SECONDS: u64 = 365 * 24 * 3600;

/// The server's transport security.
#[derive(Debug, Clone, clap::Args)]
pub struct TlsArgs {
    /// The server's certificate chain (PEM). Default: <data-dir>/tls/server.crt, made for
    /// localhost on first start with a CA of its own (<data-dir>/tls/ca.crt, which the
    /// CLI trusts from there).
    #[arg(long, env = "DONDOC_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM, 0600).
    #[arg(long, env = "DONDOC_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain-text gRPC (loopback addresses only; tokens are still required).
    #[arg(long, env = "DONDOC_INSECURE", conflicts_with_all = ["tls_cert", "tls_key"])]
    pub insecure: bool,
}

impl TlsArgs {
    /// Refuses plain text anywhere but on loopback.
    pub fn check(&self, listen: SocketAddr) -> anyhow::Result<()> {
        anyhow::ensure!(
            !self.insecure || listen.ip().is_loopback(),
            "--insecure serves plain text: only on a loopback address, not {listen}"
        );
        Ok(())
    }

    /// The identity to serve with (made on first need for the default), or none for
    /// `--insecure` on loopback.
    pub fn identity(
        &self,
        data_dir: &Path,
        listen: SocketAddr,
    ) -> anyhow::Result<Option<TlsIdentity>> {
        if self.insecure {
            self.check(listen)?;
            tracing::warn!(%listen, "serving plain-text gRPC (--insecure)");
            return Ok(None);
        }
        let (cert, key) = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone()),
            _ => {
                let dir = data_dir.join(TLS_DIR);
                let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
                if !cert.exists() || !key.exists() || !dir.join(CA_FILE).exists() {
                    make_self_signed(&dir, &cert, &key)?;
                }
                (cert, key)
            }
        };
        Ok(Some(TlsIdentity {
            cert_pem: std::fs::read(&cert)
                .with_context(|| format!("reading {}", cert.display()))?,
            key_pem: std::fs::read(&key).with_context(|| format!("reading {}", key.display()))?,
            client_ca_pem: Some(crate::client_certs::client_ca_pem(data_dir)?),
        }))
    }
}

/// A certificate for localhost, 127.0.0.1 and ::1, issued by a CA of its own made for
/// it (`ca.crt`, what clients trust; the CA's key is dropped at once, so nothing else is
/// ever issued under it).
fn make_self_signed(dir: &Path, cert: &Path, key: &Path) -> anyhow::Result<()> {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
    private_dir(dir)?;
    let made = (|| {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, "dondoc local CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate()?;
        let ca_cert = ca.self_signed(&ca_key)?;
        let mut leaf = CertificateParams::new(vec![
            "localhost".to_owned(),
            "127.0.0.1".to_owned(),
            "::1".to_owned(),
        ])?;
        leaf.distinguished_name.push(DnType::CommonName, "dondoc");
        let leaf_key = KeyPair::generate()?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca_cert, &ca_key)?;
        Ok::<_, rcgen::Error>((ca_cert.pem(), leaf_cert.pem(), leaf_key.serialize_pem()))
    })()
    .context("making a TLS certificate for localhost")?;
    let (ca_pem, cert_pem, key_pem) = made;
    write_private(key, key_pem.as_bytes())?;
    write_private(cert, cert_pem.as_bytes())?;
    write_private(&dir.join(CA_FILE), ca_pem.as_bytes())?;
    tracing::info!(ca = %dir.join(CA_FILE).display(), "made a TLS certificate for localhost");
    Ok(())
}

/// Writes a file only its owner can read, replacing one that exists.
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let _ = std::fs::remove_file(path);
    write_new_private(path, bytes)
}

/// The deployment's auth key (tokens are signed with it), made on first need.
pub fn auth_key(data_dir: &Path) -> anyhow::Result<DeploymentKey> {
    let path = data_dir.join(AUTH_KEY);
    if path.exists() {
        return read_key(&path);
    }
    let key = fresh_key()?;
    write_key(&path, &key)?;
    Ok(key)
}

/// The verifier of the deployment's tokens, with its revocation file.
pub fn verifier(data_dir: &Path) -> anyhow::Result<TokenVerifier> {
    Ok(TokenVerifier::new(
        &auth_key(data_dir)?,
        Some(&data_dir.join(REVOKED)),
    ))
}

/// Writes the operator token for the local CLI, unless one is there.
pub fn ensure_operator_token(data_dir: &Path) -> anyhow::Result<()> {
    let path = data_dir.join(OPERATOR_TOKEN);
    if path.exists() {
        return Ok(());
    }
    let (token, id) = auth::issue(
        &auth_key(data_dir)?,
        &TokenRequest {
            subject: "operator".to_owned(),
            roles: vec![Role::Operator],
            plans: Vec::new(),
            lifetime_seconds: OPERATOR_TOKEN_SECONDS,
        },
    )?;
    write_private(&path, format!("{token}\n").as_bytes())?;
    tracing::info!(path = %path.display(), token_id = %id, "wrote the operator token for the local CLI");
    Ok(())
}

/// `dondoc auth …`
#[derive(Debug, clap::Subcommand)]
pub enum AuthCommand {
    /// Mint a token for a caller, signed with the deployment's auth key; prints it.
    Issue(IssueArgs),
    /// Revoke a token (or a client certificate) by its id (printed when it was issued);
    /// the server refuses it from its next call on, without a restart.
    Revoke(RevokeArgs),
    /// Issue a client certificate for a caller, under the deployment's client CA: the
    /// alternative to a token (the API reads who, roles and plans from it).
    Cert(crate::client_certs::CertArgs),
}

#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    #[command(flatten)]
    data: crate::config::DataDirArg,
    /// Who: the agency's directory id (e.g. quang-tri-so-thong-tin-truyen-thong), or a
    /// person's name for operators, auditors and viewers.
    #[arg(long)]
    agency: String,
    /// A role: plan_owner, lead, coordinator, auditor, viewer, operator (repeatable).
    #[arg(long = "role", required = true, value_parser = parse_role)]
    roles: Vec<Role>,
    /// Limit the token to a plan (repeatable; default: every plan).
    #[arg(long = "plan")]
    plans: Vec<String>,
    /// Lifetime: days (`90d`) or hours (`12h`).
    #[arg(long, default_value = "90d", value_parser = parse_lifetime)]
    expires: u64,
}

#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    data: crate::config::DataDirArg,
    /// The token's id.
    token_id: String,
}

pub(crate) fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|role| role.name()).collect();
        format!("{raw:?} is not a role; the roles are {}", names.join(", "))
    })
}

pub(crate) fn parse_lifetime(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (number, unit) = raw.split_at(raw.len().saturating_sub(1));
    let count: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a lifetime like 90d or 12h"))?;
    match unit {
        "d" => Ok(count.saturating_mul(24 * 3600)),
        "h" => Ok(count.saturating_mul(3600)),
        _ => Err(format!("{raw:?} is not a lifetime like 90d or 12h")),
    }
}

pub fn run_auth(command: AuthCommand) -> anyhow::Result<()> {
    match command {
        AuthCommand::Issue(args) => {
            let (token, id) = auth::issue(
                &auth_key(&args.data.data_dir)?,
                &TokenRequest {
                    subject: args.agency,
                    roles: args.roles,
                    plans: args.plans,
                    lifetime_seconds: args.expires,
                },
            )?;
            eprintln!("token id {id} (dondoc auth revoke {id} refuses it)");
            println!("{token}");
            Ok(())
        }
        AuthCommand::Cert(args) => crate::client_certs::issue(args),
        AuthCommand::Revoke(args) => {
            let path = args.data.data_dir.join(REVOKED);
            if let Some(dir) = path.parent() {
                private_dir(dir)?;
            }
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("opening {}", path.display()))?;
            writeln!(file, "{}", args.token_id.trim())
                .with_context(|| format!("writing {}", path.display()))?;
            println!("revoked {}", args.token_id.trim());
            Ok(())
        }
    }
}

/// Where the CLI finds its token and the server's certificate by default.
pub fn default_token_file(data_dir: &Path) -> PathBuf {
    data_dir.join(OPERATOR_TOKEN)
}

pub fn default_ca_file(data_dir: &Path) -> PathBuf {
    data_dir.join(TLS_DIR).join(CA_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_in_days_or_hours() {
        assert_eq!(parse_lifetime("90d"), Ok(90 * 24 * 3600));
        assert_eq!(parse_lifetime("12h"), Ok(12 * 3600));
        assert!(parse_lifetime("90").is_err());
        assert!(parse_lifetime("d").is_err());
        assert!(parse_lifetime("3w").is_err());
    }

    #[test]
    fn an_unknown_role_names_the_roles() {
        assert!(parse_role("admin")
            .unwrap_err()
            .contains("plan_owner, lead"));
    }
}
