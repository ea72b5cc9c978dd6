//! The TLS client settings of every connection the agent opens (its server's websocket,
//! document fetches): certificates are checked as the operating system checks them, so
//! a company CA the OS trusts (pushed by group policy on Windows, in the system bundle
//! or `SSL_CERT_FILE` on Linux) is trusted too. There is no way to accept any
//! certificate. The `caFile` setting adds a company CA for the agent alone. The plain
//! settings are built once, on first use, by whichever task connects first; with a CA
//! file they are built per connect attempt, so an edited file counts at once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, OtherError, SignatureScheme};

mod issuer;

/// Why TLS could not be set up.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TlsSetupError {
    /// No usable verifier (the TLS library refused the settings).
    #[error("TLS set-up: {0}")]
    Setup(String),
    /// The CA file cannot be read or holds no certificate.
    #[error("the CA file {path} cannot be used: {detail}")]
    CaFile { path: PathBuf, detail: String },
}

/// The client settings: the OS's trust, plus the certificates in `ca_file` if given.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsSetupError> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(path) = ca_file {
        return Ok(Arc::new(build(read_ca_file(path)?)?));
    }
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let config = Arc::new(build(Vec::new())?);
    Ok(Arc::clone(CONFIG.get_or_init(|| config)))
}

/// The certificates of a PEM file: at least one, or why not.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let problem = |detail: String| TlsSetupError::CaFile {
        path: path.to_owned(),
        detail,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| problem(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| problem(e.to_string()))?;
    if certificates.is_empty() {
        return Err(problem("no PEM certificate in it".into()));
    }
    Ok(certificates)
}

fn build(extra_roots: Vec<CertificateDer<'static>>) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Setup(e.to_string()))?;
    let platform = if extra_roots.is_empty() {
        rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(
            extra_roots.clone(),
            Arc::clone(&provider),
        )
    };
    let inner: Arc<dyn ServerCertVerifier> = match platform {
        Ok(verifier) => Arc::new(verifier),
        Err(error) => {
            // A system without a certificate store of its own: the roots this agent
            // carries (Mozilla's), rather than no TLS at all.
            tracing::warn!(%error, "the system's certificate store is not usable; using the built-in roots");
            let mut roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let (_added, unusable) = roots.add_parsable_certificates(extra_roots);
            if unusable > 0 {
                tracing::warn!(unusable, "certificates of the CA file could not be used");
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsSetupError::Setup(e.to_string()))?
        }
    };
    // "dangerous" is rustls' name for any verifier of one's own; this one is the OS's
    // (or the built-in roots), naming the issuer when it refuses.
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NamingVerifier { inner }))
        .with_no_client_auth())
}

/// A refused certificate in words for the connection's state detail: the issuer of
/// an untrusted one ("certificate not trusted: issued by Example Root CA"), else what
/// rustls says.
pub fn describe_refusal(error: &CertificateError) -> String {
    match error {
        CertificateError::Other(OtherError(inner)) => inner.to_string(),
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "certificate expired".into()
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            "certificate not valid for this server name".into()
        }
        other => rustls::Error::InvalidCertificate(other.clone()).to_string(),
    }
}

/// A refused certificate's issuer, in words: what a person checks first.
#[derive(Debug)]
struct NotTrusted {
    issuer: Option<String>,
}

impl std::fmt::Display for NotTrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.issuer {
            Some(issuer) => write!(f, "certificate not trusted: issued by {issuer}"),
            None => write!(f, "certificate not trusted: unknown issuer"),
        }
    }
}

impl std::error::Error for NotTrusted {}

/// The verifier that decides, with an unknown issuer named in its error.
#[derive(Debug)]
struct NamingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for NamingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|error| match error {
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
                    // The top of the chain the server sent names whom it trusts.
                    let top = intermediates.last().unwrap_or(end_entity);
                    let issuer = issuer::issuer_name(top);
                    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(
                        Arc::new(NotTrusted { issuer }),
                    )))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.inner.requires_raw_public_keys()
    }

    fn root_hint_subjects(&self) -> Option<&[rustls::DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_are_built_once_and_shared() {
        let first = client_config(None).expect("tls");
        let second = client_config(None).expect("tls");
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate").expect("write");
        let error = client_config(Some(&path)).map(|_| ()).expect_err("refused");
        assert!(error.to_string().contains("ca.pem"), "{error}");
        let missing = read_ca_file(&dir.path().join("missing.pem")).map(|_| ());
        assert!(matches!(missing, Err(TlsSetupError::CaFile { .. })));
    }
}
