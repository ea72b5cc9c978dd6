//! Why the agent is not connected: the failure of a connect attempt ([`ConnectError`])
//! and, from it, a stable code the window and the tray put into words in the user's
//! language; the technical text stays beside it (`lastError`) for
//! the log and the details. Decided by the supervisor task from its errors.

use serde::Serialize;

/// Why a connect attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    /// The server URL cannot be used (not http, https, ws or wss, or no host).
    #[error("invalid server URL: {0}")]
    InvalidUrl(String),
    /// Nothing answers at the address (refused, unreachable network).
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server's name does not resolve.
    #[error("cannot find the server: {0}")]
    NameNotFound(String),
    /// TLS failed: the certificate is not trusted (the text says why, e.g. "certificate
    /// not trusted: issued by Example Root CA").
    #[error("{0}")]
    Certificate(String),
    /// The HTTP proxy failed: unreachable, credentials refused, or the tunnel refused.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The websocket upgrade was answered with an HTTP status (not a Socket.IO endpoint).
    #[error("the server answered HTTP {0} instead of opening a websocket")]
    HttpStatus(u16),
    /// The connection failed or broke otherwise.
    #[error("cannot reach the server: {0}")]
    Transport(String),
    /// The server answered, but not as a Socket.IO v4 server would.
    #[error("handshake failed: {0}")]
    Handshake(String),
    /// The server refused the connection (Socket.IO CONNECT_ERROR), e.g. a bad token.
    #[error("the server refused the connection: {0}")]
    Refused(String),
    /// The attempt did not finish within the configured bound.
    #[error("no answer within {0} ms")]
    Timeout(u64),
}

/// What went wrong with the connection, in terms a person can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Nothing answers at the server's address and port (refused, unreachable).
    ServerUnreachable,
    /// The server's name does not resolve.
    NameNotFound,
    /// TLS: the server's certificate is not trusted (or not for this name).
    CertificateUntrusted,
    /// The HTTP proxy cannot be reached, wants other credentials, or refused the tunnel.
    ProxyFailed,
    /// The server refused the agent's token.
    TokenRefused,
    /// The server refused the connection for another reason.
    ServerRefused,
    /// Something answered, but not a Socket.IO server (wrong address or path).
    NotSocketIo,
    /// No answer within the connect timeout.
    Timeout,
    /// The server URL in the settings cannot be used.
    InvalidUrl,
    /// A live connection broke (no heartbeat, reset, the server went away).
    ConnectionLost,
}

impl ConnectError {
    /// The problem this failed attempt shows.
    pub fn problem(&self) -> Problem {
        match self {
            ConnectError::InvalidUrl(_) => Problem::InvalidUrl,
            ConnectError::Unreachable(_) => Problem::ServerUnreachable,
            ConnectError::NameNotFound(_) => Problem::NameNotFound,
            ConnectError::Certificate(_) => Problem::CertificateUntrusted,
            ConnectError::Proxy(_) => Problem::ProxyFailed,
            ConnectError::Transport(_) => Problem::ConnectionLost,
            ConnectError::Handshake(_) | ConnectError::HttpStatus(_) => Problem::NotSocketIo,
            ConnectError::Refused(message) if message.to_lowercase().contains("token") => {
                Problem::TokenRefused
            }
            ConnectError::Refused(_) => Problem::ServerRefused,
            ConnectError::Timeout(_) => Problem::Timeout,
        }
    }
}

/// Sorts a websocket connect failure by what a person can do about it.
pub(crate) fn transport_error(error: tokio_tungstenite::tungstenite::Error) -> ConnectError {
    use tokio_tungstenite::tungstenite::Error;
    let detail = error.to_string();
    match error {
        Error::Http(response) => ConnectError::HttpStatus(response.status().as_u16()),
        Error::Url(_) => ConnectError::InvalidUrl(detail),
        Error::Tls(_) => ConnectError::Certificate(detail),
        Error::Io(io) => {
            use std::io::ErrorKind;
            let text = io.to_string().to_lowercase();
            if text.contains("lookup") || text.contains("name or service") || text.contains("11001")
            {
                ConnectError::NameNotFound(detail)
            } else if text.contains("certificate") {
                ConnectError::Certificate(detail)
            } else if matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::TimedOut
            ) {
                ConnectError::Unreachable(detail)
            } else {
                ConnectError::Transport(detail)
            }
        }
        _ => ConnectError::Transport(detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Error;

    #[test]
    fn connect_failures_are_sorted_by_what_a_person_can_do() {
        let io = |kind, text: &str| Error::Io(std::io::Error::new(kind, text.to_owned()));
        let refused = io(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        assert_eq!(
            transport_error(refused).problem(),
            Problem::ServerUnreachable
        );
        let windows = io(std::io::ErrorKind::ConnectionRefused, "os error 10061");
        assert_eq!(
            transport_error(windows).problem(),
            Problem::ServerUnreachable
        );
        let dns = io(
            std::io::ErrorKind::Other,
            "failed to lookup address information",
        );
        assert_eq!(transport_error(dns).problem(), Problem::NameNotFound);
        let cert = io(
            std::io::ErrorKind::InvalidData,
            "invalid peer certificate: UnknownIssuer",
        );
        assert_eq!(
            transport_error(cert).problem(),
            Problem::CertificateUntrusted
        );
        let refused_token = ConnectError::Refused("invalid token".into());
        assert_eq!(refused_token.problem(), Problem::TokenRefused);
        assert_eq!(ConnectError::Timeout(10).problem(), Problem::Timeout);
        assert_eq!(
            ConnectError::HttpStatus(404).problem(),
            Problem::NotSocketIo
        );
        assert_eq!(
            serde_json::to_value(Problem::CertificateUntrusted).ok(),
            Some(serde_json::json!("certificate_untrusted"))
        );
    }
}
