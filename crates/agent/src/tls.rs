//! The TLS client settings of every connection the agent opens (its server's websocket,
//! document fetches): certificates are checked as the operating system checks them, so
//! a company CA the OS trusts (pushed by group policy on Windows, in the system bundle
//! or `SSL_CERT_FILE` on Linux) is trusted too. There is no way to accept any
//! certificate. Built once, on first use, by whichever task connects first.

use std::sync::{Arc, OnceLock};

use rustls::ClientConfig;

/// TLS could not be set up at all (no usable verifier).
#[derive(Debug, Clone, thiserror::Error)]
#[error("TLS set-up: {0}")]
pub struct TlsSetupError(String);

/// The shared client settings.
pub fn client_config() -> Result<Arc<ClientConfig>, TlsSetupError> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(Arc::clone(config));
    }
    let config = Arc::new(build()?);
    Ok(Arc::clone(CONFIG.get_or_init(|| config)))
}

fn build() -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError(e.to_string()))?;
    match rustls_platform_verifier::Verifier::new(provider) {
        // "dangerous" is rustls' name for any verifier of one's own; this one is the OS's.
        Ok(verifier) => Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()),
        Err(error) => {
            // A system without a certificate store of its own: the roots this agent
            // carries (Mozilla's), rather than no TLS at all.
            tracing::warn!(%error, "the system's certificate store is not usable; using the built-in roots");
            let roots =
                rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            Ok(builder.with_root_certificates(roots).with_no_client_auth())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_are_built_once_and_shared() {
        let first = client_config().expect("tls");
        let second = client_config().expect("tls");
        assert!(Arc::ptr_eq(&first, &second));
    }
}
