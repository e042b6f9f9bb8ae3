//! The client side of the API's access rules, shared by the CLI and the tests: a
//! channel over TLS (trusting a given CA certificate, e.g. the server's self-signed
//! one) or plain text for `http://` addresses, with every call carrying the bearer
//! token, or the channel presenting a client certificate.
//!
//! Invariant: the token travels on every call of the channel, and only to the server
//! the channel was made for.

use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

/// A channel whose every call carries the caller's token.
pub type ApiChannel = InterceptedService<Channel, BearerToken>;

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone, Debug)]
pub struct BearerToken(Option<MetadataValue<tonic::metadata::Ascii>>);

impl BearerToken {
    /// `None`: calls go without a token (and the server refuses them).
    pub fn new(token: Option<&str>) -> Result<Self, ConnectError> {
        token
            .map(|token| {
                MetadataValue::try_from(format!("Bearer {}", token.trim()))
                    .map_err(|_| ConnectError::Token)
            })
            .transpose()
            .map(Self)
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0:?} is not a server address: {1}")]
    Address(String, String),
    #[error("the token holds characters a header cannot carry")]
    Token,
    #[error("cannot reach the dondoc server at {0}: {1}")]
    Transport(String, String),
}

/// A client certificate and its private key (PEM), from `dondoc auth cert`.
#[derive(Clone, Debug)]
pub struct ClientCertificate {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// A channel to `address` (`https://…` over TLS trusting `ca_pem`, or the system's
/// roots without it; `http://…` plain text), carrying `token`.
pub async fn connect(
    address: &str,
    ca_pem: Option<&[u8]>,
    token: Option<&str>,
) -> Result<ApiChannel, ConnectError> {
    connect_with(address, ca_pem, token, None).await
}

/// [`connect`], presenting `certificate` to the server too (over TLS).
pub async fn connect_with(
    address: &str,
    ca_pem: Option<&[u8]>,
    token: Option<&str>,
    certificate: Option<&ClientCertificate>,
) -> Result<ApiChannel, ConnectError> {
    let mut endpoint = Endpoint::from_shared(address.to_owned())
        .map_err(|err| ConnectError::Address(address.to_owned(), err.to_string()))?;
    if address.starts_with("https://") {
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = ca_pem {
            tls = tls.ca_certificate(Certificate::from_pem(ca));
        }
        if let Some(certificate) = certificate {
            tls = tls.identity(tonic::transport::Identity::from_pem(
                &certificate.cert_pem,
                &certificate.key_pem,
            ));
        }
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|err| ConnectError::Address(address.to_owned(), err.to_string()))?;
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|err| ConnectError::Transport(address.to_owned(), format!("{err:?}")))?;
    Ok(InterceptedService::new(channel, BearerToken::new(token)?))
}
