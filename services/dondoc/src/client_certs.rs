//! Client certificates, the alternative to bearer tokens: the deployment's client CA
//! (made on first need: `tls/client-ca.crt`, `keys/client-ca.key`) and `dondoc auth
//! cert`, which issues a certificate naming a caller, its roles and plans in its
//! subject alternative names (the names `dondoc_api::auth` reads).
//!
//! Invariants: the CA's key is its owner's alone (0600) and never leaves the data
//! directory; an issued certificate's key file is 0600; a certificate's serial number
//! (16 random bytes, hex, first byte below 0x80 so that DER keeps it as is) is its id,
//! revoked with `dondoc auth revoke <serial>` like a token.

use std::path::{Path, PathBuf};

use anyhow::Context;
use dondoc_api::auth::{Role, CERT_PLAN_URI, CERT_ROLE_URI, CERT_SUBJECT_URI};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};

use crate::keys::{private_dir, write_new_private};

const CLIENT_CA_CERT: &str = "tls/client-ca.crt";
const CLIENT_CA_KEY: &str = "keys/client-ca.key";
/// The CA's distinguished name: the same every time its certificate is derived again
/// from its key to sign, so what it signs chains to the stored certificate.
const CLIENT_CA_NAME: &str = "dondoc client CA";

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params
        .distinguished_name
        .push(DnType::CommonName, CLIENT_CA_NAME);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(1);
    params.not_after = time::OffsetDateTime::now_utc() + time::Duration::days(3650);
    Ok(params)
}

/// The client CA's certificate (PEM), made with its key on first need.
pub fn client_ca_pem(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let (cert, key) = (data_dir.join(CLIENT_CA_CERT), data_dir.join(CLIENT_CA_KEY));
    if !cert.exists() || !key.exists() {
        for file in [&cert, &key] {
            if let Some(dir) = file.parent() {
                private_dir(dir)?;
            }
            let _ = std::fs::remove_file(file);
        }
        let made = (|| {
            let ca_key = KeyPair::generate()?;
            let ca_cert = ca_params()?.self_signed(&ca_key)?;
            Ok::<_, rcgen::Error>((ca_cert.pem(), ca_key.serialize_pem()))
        })()
        .context("making the client CA")?;
        write_new_private(&key, made.1.as_bytes())?;
        write_new_private(&cert, made.0.as_bytes())?;
        tracing::info!(ca = %cert.display(), "made the client CA (dondoc auth cert issues under it)");
    }
    std::fs::read(&cert).with_context(|| format!("reading {}", cert.display()))
}

/// The CA, to sign with: its key, and its certificate derived again from it.
fn client_ca(data_dir: &Path) -> anyhow::Result<(Certificate, KeyPair)> {
    client_ca_pem(data_dir)?;
    let path = data_dir.join(CLIENT_CA_KEY);
    let pem =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let key = KeyPair::from_pem(&pem).with_context(|| format!("reading {}", path.display()))?;
    let cert = ca_params()?.self_signed(&key)?;
    Ok((cert, key))
}

/// `dondoc auth cert`
#[derive(Debug, clap::Args)]
pub struct CertArgs {
    #[command(flatten)]
    data: crate::config::DataDirArg,
    /// Who: the agency's directory id, or an ASCII name for operators, auditors and
    /// viewers.
    #[arg(long)]
    agency: String,
    /// A role (repeatable), as for tokens.
    #[arg(long = "role", required = true, value_parser = crate::access::parse_role)]
    roles: Vec<Role>,
    /// Limit the certificate to a plan (repeatable; default: every plan).
    #[arg(long = "plan")]
    plans: Vec<String>,
    /// Lifetime: days (`90d`) or hours (`12h`).
    #[arg(long, default_value = "90d", value_parser = crate::access::parse_lifetime)]
    expires: u64,
    /// A folder of its own for `<agency>.crt` and `<agency>.key` (0600): created, and
    /// made its owner's alone (0700).
    #[arg(long)]
    out: PathBuf,
}

/// A serial number that DER keeps as is (first byte 0x01..=0x7f), and its hex.
fn serial() -> (SerialNumber, String) {
    let mut bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[0] = (bytes[0] & 0x7f).max(1);
    (SerialNumber::from_slice(&bytes), hex::encode(bytes))
}

pub fn issue(args: CertArgs) -> anyhow::Result<()> {
    let subject = args.agency.trim();
    anyhow::ensure!(
        !subject.is_empty()
            && subject
                .chars()
                .all(|c| c.is_ascii_graphic() && c != '/' && c != '\\'),
        "--agency {subject:?}: a certificate names an agency id or an ASCII name without \
         spaces or slashes"
    );
    let (ca_cert, ca_key) = client_ca(&args.data.data_dir)?;
    let (serial, id) = serial();
    let made = (|| {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, subject);
        let mut names = vec![format!("{CERT_SUBJECT_URI}{subject}")];
        names.extend(
            args.roles
                .iter()
                .map(|role| format!("{CERT_ROLE_URI}{}", role.name())),
        );
        names.extend(
            args.plans
                .iter()
                .map(|plan| format!("{CERT_PLAN_URI}{}", plan.trim())),
        );
        params.subject_alt_names = names
            .into_iter()
            .map(|name| name.try_into().map(SanType::URI))
            .collect::<Result<_, _>>()?;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(1);
        params.not_after = now + time::Duration::seconds(args.expires as i64);
        params.serial_number = Some(serial);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &ca_cert, &ca_key)?;
        Ok::<_, rcgen::Error>((cert.pem(), key.serialize_pem()))
    })()
    .context("issuing the client certificate")?;
    private_dir(&args.out)?;
    let (cert_path, key_path) = (
        args.out.join(format!("{subject}.crt")),
        args.out.join(format!("{subject}.key")),
    );
    for path in [&cert_path, &key_path] {
        let _ = std::fs::remove_file(path);
    }
    write_new_private(&key_path, made.1.as_bytes())?;
    write_new_private(&cert_path, made.0.as_bytes())?;
    eprintln!("certificate id {id} (dondoc auth revoke {id} refuses it)");
    println!("{}", cert_path.display());
    println!("{}", key_path.display());
    Ok(())
}
