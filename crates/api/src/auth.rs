//! Who is calling: bearer tokens (JWT, EdDSA over Ed25519) issued with the deployment's
//! auth key, or client certificates issued by the deployment's client CA, checked on
//! every call of both services before any handler runs.
//!
//! Invariants:
//! - a call without a valid token never reaches a handler: missing, malformed, expired,
//!   revoked or signed by another key is `UNAUTHENTICATED`, saying which;
//! - a token names its subject (an agency id, or a person for operators and auditors),
//!   its roles, optionally the plans it is limited to, and an id (`jti`) by which it can
//!   be revoked without a restart (the revocation file is read again when it changes);
//! - a client certificate names the same in its subject alternative names
//!   (`urn:dondoc:subject:<id>`, `urn:dondoc:role:<role>`, `urn:dondoc:plan:<plan>`);
//!   TLS has checked its chain to the client CA and its validity before a call arrives;
//!   its serial number (hex) is its id, revoked in the same file as tokens. A call
//!   with a bearer token is judged by the token, whatever certificate it came with;
//! - the authenticated `Caller` travels in the request's extensions: handlers take the
//!   actor from it, never from a request field.
//!
//! What each role may do is decided in `dondoc-app` (its access rules); this module only
//! says who the caller is.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

pub use dondoc_app::{Caller, Role};
use dondoc_domain::DeploymentKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status};

/// The PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): the key's 32 bytes follow.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The audience every dondoc token names.
const AUDIENCE: &str = "dondoc";

/// The subject alternative name (URI) prefixes of a client certificate's claims.
pub const CERT_SUBJECT_URI: &str = "urn:dondoc:subject:";
pub const CERT_ROLE_URI: &str = "urn:dondoc:role:";
pub const CERT_PLAN_URI: &str = "urn:dondoc:plan:";

/// The claims of a dondoc token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who: an agency id of the directory, or a person's name for operators, auditors
    /// and viewers.
    pub sub: String,
    pub roles: Vec<Role>,
    /// The plans the token is limited to; empty: every plan.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<String>,
    /// The token's id, by which it is revoked.
    pub jti: String,
    /// Issued at / expires at (seconds since the epoch).
    pub iat: u64,
    pub exp: u64,
    pub aud: String,
    /// The key id of the auth key that signed it.
    pub iss: String,
}

/// What `issue` needs besides the key.
#[derive(Clone, Debug)]
pub struct TokenRequest {
    pub subject: String,
    pub roles: Vec<Role>,
    pub plans: Vec<String>,
    /// Seconds from now.
    pub lifetime_seconds: u64,
}

fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// A token signed with `key` (the deployment's auth key). Returns the token and its id.
pub fn issue(key: &DeploymentKey, request: &TokenRequest) -> Result<(String, String), AuthError> {
    issue_at(key, request, now_seconds())
}

/// `issue` as of `now` (seconds since the epoch).
fn issue_at(
    key: &DeploymentKey,
    request: &TokenRequest,
    now: u64,
) -> Result<(String, String), AuthError> {
    if request.roles.is_empty() {
        return Err(AuthError::Issue(
            "a token needs at least one role".to_owned(),
        ));
    }
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let claims = Claims {
        sub: request.subject.clone(),
        roles: request.roles.clone(),
        plans: request.plans.clone(),
        jti: jti.clone(),
        iat: now,
        exp: now.saturating_add(request.lifetime_seconds),
        aud: AUDIENCE.to_owned(),
        iss: key.key_id().to_string(),
    };
    let mut der = ED25519_PKCS8_PREFIX.to_vec();
    der.extend_from_slice(&key.secret_bytes());
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims,
        &EncodingKey::from_ed_der(&der),
    )
    .map_err(|err| AuthError::Issue(err.to_string()))?;
    Ok((token, jti))
}

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "no bearer token: send `authorization: Bearer <token>` (dondoc auth issue mints one), \
         or connect with a client certificate (dondoc auth cert)"
    )]
    Missing,
    #[error("the authorization header is not `Bearer <token>`")]
    NotBearer,
    #[error("the token has expired")]
    Expired,
    #[error("the token was revoked")]
    Revoked,
    #[error("the token is not signed by this deployment's auth key")]
    ForeignSignature,
    #[error("the token is malformed: {0}")]
    Malformed(String),
    #[error("the client certificate was revoked")]
    CertificateRevoked,
    #[error("the client certificate names no dondoc caller: {0}")]
    Certificate(String),
    #[error("cannot issue the token: {0}")]
    Issue(String),
}

/// (modification time and length of the file when read, its ids).
type ReadRevocations = (Option<(SystemTime, u64)>, Vec<String>);

/// Revoked token ids, from a file (one id per line, `#` comments), read again whenever
/// its modification time changes.
#[derive(Debug)]
struct Revocations {
    path: Option<PathBuf>,
    cached: Mutex<ReadRevocations>,
}

impl Revocations {
    fn contains(&self, token_id: &str) -> bool {
        let Some(path) = &self.path else {
            return false;
        };
        let modified = std::fs::metadata(path)
            .and_then(|metadata| Ok((metadata.modified()?, metadata.len())))
            .ok();
        let mut cached = self
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if cached.0 != modified {
            let ids = std::fs::read_to_string(path)
                .map(|text| parse_revocations(&text))
                .unwrap_or_default();
            *cached = (modified, ids);
        }
        cached.1.iter().any(|id| id == token_id)
    }
}

/// The token ids of a revocation file's text.
pub fn parse_revocations(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Checks tokens against the deployment's auth key and the revocation file. Cheap to
/// clone.
#[derive(Clone)]
pub struct TokenVerifier {
    key: DecodingKey,
    key_id: String,
    validation: Validation,
    revocations: Arc<Revocations>,
}

impl TokenVerifier {
    /// Verifies with the public half of `key`; `revocations` is the revocation file
    /// (it need not exist yet).
    pub fn new(key: &DeploymentKey, revocations: Option<&Path>) -> Self {
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&[key.key_id().to_string()]);
        validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
        validation.leeway = 0;
        Self {
            key: DecodingKey::from_ed_der(&key.public_key().to_bytes()),
            key_id: key.key_id().to_string(),
            validation,
            revocations: Arc::new(Revocations {
                path: revocations.map(Path::to_owned),
                cached: Mutex::new((None, Vec::new())),
            }),
        }
    }

    /// The caller a token names, if the token holds.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        use jsonwebtoken::errors::ErrorKind;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|err| {
                match err.kind() {
                    ErrorKind::ExpiredSignature => AuthError::Expired,
                    ErrorKind::InvalidSignature | ErrorKind::InvalidIssuer => {
                        AuthError::ForeignSignature
                    }
                    _ => AuthError::Malformed(err.to_string()),
                }
            })?;
        let claims = data.claims;
        if self.revocations.contains(&claims.jti) {
            return Err(AuthError::Revoked);
        }
        if claims.roles.is_empty() {
            return Err(AuthError::Malformed("the token names no role".to_owned()));
        }
        tracing::debug!(subject = %claims.sub, token = %claims.jti, "authenticated a call");
        Ok(Caller::new(claims.sub, claims.roles, claims.plans))
    }

    /// The caller a client certificate (DER, already verified by TLS against the
    /// client CA) names.
    pub fn verify_certificate(&self, der: &[u8]) -> Result<Caller, AuthError> {
        let der = rustls_pki_types::CertificateDer::from(der);
        let cert = webpki::EndEntityCert::try_from(&der)
            .map_err(|err| AuthError::Certificate(format!("{err:?}")))?;
        let serial = hex::encode(cert.serial());
        if self.revocations.contains(&serial) {
            return Err(AuthError::CertificateRevoked);
        }
        let (mut subject, mut roles, mut plans) = (None, Vec::new(), Vec::new());
        for uri in cert.valid_uri_names() {
            if let Some(id) = uri.strip_prefix(CERT_SUBJECT_URI) {
                subject = Some(id.to_owned());
            } else if let Some(role) = uri.strip_prefix(CERT_ROLE_URI) {
                roles
                    .push(Role::parse(role).ok_or_else(|| {
                        AuthError::Certificate(format!("{role:?} is not a role"))
                    })?);
            } else if let Some(plan) = uri.strip_prefix(CERT_PLAN_URI) {
                plans.push(plan.to_owned());
            }
        }
        let subject =
            subject.ok_or_else(|| AuthError::Certificate(format!("no {CERT_SUBJECT_URI} name")))?;
        if roles.is_empty() {
            return Err(AuthError::Certificate("it names no role".to_owned()));
        }
        tracing::debug!(%subject, certificate = %serial, "authenticated a call");
        Ok(Caller::new(subject, roles, plans))
    }

    /// The caller of `request`, from its `authorization` header, else from the client
    /// certificate it came with.
    pub fn authenticate<T>(&self, request: &Request<T>) -> Result<Caller, AuthError> {
        let Some(header) = request.metadata().get("authorization") else {
            return match request.peer_certs() {
                Some(chain) if !chain.is_empty() => self.verify_certificate(&chain[0]),
                _ => Err(AuthError::Missing),
            };
        };
        let value = header.to_str().map_err(|_| AuthError::NotBearer)?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or(AuthError::NotBearer)?;
        self.verify(token.trim())
    }

    /// A tonic interceptor: the caller into the request's extensions, or
    /// UNAUTHENTICATED.
    pub fn interceptor(&self) -> impl FnMut(Request<()>) -> Result<Request<()>, Status> + Clone {
        let verifier = self.clone();
        move |mut request: Request<()>| match verifier.authenticate(&request) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(error) => Err(Status::unauthenticated(error.to_string())),
        }
    }
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("key_id", &self.key_id)
            .field("revocations", &self.revocations.path)
            .finish()
    }
}

/// The authenticated caller of a request that passed the interceptor.
pub fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated(AuthError::Missing.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> DeploymentKey {
        DeploymentKey::from_secret_bytes(&[byte; 32])
    }

    fn request(lifetime_seconds: u64) -> TokenRequest {
        TokenRequest {
            subject: "quang-tri-so-thong-tin-truyen-thong".to_owned(),
            roles: vec![Role::Lead, Role::Coordinator],
            plans: vec!["qti-dti-2023".to_owned()],
            lifetime_seconds,
        }
    }

    #[test]
    fn a_token_issued_with_the_key_names_its_caller() {
        let (token, jti) = issue(&key(1), &request(3600)).unwrap();
        let caller = TokenVerifier::new(&key(1), None).verify(&token).unwrap();
        assert_eq!(caller.subject, "quang-tri-so-thong-tin-truyen-thong");
        assert_eq!(caller.roles, vec![Role::Lead, Role::Coordinator]);
        assert_eq!(caller.plans, vec!["qti-dti-2023"]);
        assert_eq!(jti.len(), 32);
    }

    #[test]
    fn another_keys_token_an_expired_one_and_garbage_are_refused_saying_why() {
        let (foreign, _) = issue(&key(2), &request(3600)).unwrap();
        let verifier = TokenVerifier::new(&key(1), None);
        assert!(matches!(
            verifier.verify(&foreign),
            Err(AuthError::ForeignSignature)
        ));
        let (expired, _) = issue_at(&key(1), &request(60), now_seconds() - 120).unwrap();
        assert!(matches!(verifier.verify(&expired), Err(AuthError::Expired)));
        assert!(matches!(
            verifier.verify("not.a.token"),
            Err(AuthError::Malformed(_))
        ));
    }

    #[test]
    fn a_revoked_token_is_refused_once_its_id_is_in_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("revoked");
        let (token, jti) = issue(&key(1), &request(3600)).unwrap();
        let verifier = TokenVerifier::new(&key(1), Some(&file));
        assert!(verifier.verify(&token).is_ok(), "no file yet");
        std::fs::write(&file, format!("# revoked\n{jti}  # lost laptop\n")).unwrap();
        assert!(matches!(verifier.verify(&token), Err(AuthError::Revoked)));
    }

    #[test]
    fn roles_read_by_name() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
