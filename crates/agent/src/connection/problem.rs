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
        Error::Io(io) => io_error(&io),
        _ => ConnectError::Transport(detail),
    }
}

/// Sorts a failed socket call by what a person can do about it, in [`socket_words`].
pub(crate) fn io_error(io: &std::io::Error) -> ConnectError {
    use std::io::ErrorKind;
    let words = socket_words(io);
    if words.starts_with(HOST_NOT_FOUND) {
        ConnectError::NameNotFound(words)
    } else if words.contains("certificate") {
        ConnectError::Certificate(words)
    } else if matches!(
        io.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::AddrNotAvailable
            | ErrorKind::TimedOut
    ) || matches!(
        io.raw_os_error(),
        Some(10049 | 10051 | 10060 | 10061 | 10065)
    ) {
        ConnectError::Unreachable(words)
    } else {
        ConnectError::Transport(words)
    }
}

const HOST_NOT_FOUND: &str = "host not found";

/// A socket error in the same words on every OS, with the OS's number kept for IT staff:
/// Windows says "No connection could be made because the target machine actively
/// refused it. (os error 10061)" where Linux says "Connection refused (os error 111)";
/// both read "connection refused (os error N)" here. Windows' numbers (WSA*) are matched
/// by value, so this reads them the same on any build.
pub fn socket_words(io: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let code = io.raw_os_error();
    let by_code = match code {
        Some(10061) => Some("connection refused"),
        Some(10060) => Some("timed out"),
        Some(10065) => Some("no route to host"),
        Some(10051) => Some("network unreachable"),
        Some(10054) => Some("connection reset"),
        Some(10049) => Some("address not available"),
        // WSAHOST_NOT_FOUND, WSATRY_AGAIN, WSANO_DATA: the name does not resolve.
        Some(11001 | 11002 | 11004) => Some(HOST_NOT_FOUND),
        _ => None,
    };
    let text = io.to_string();
    let words = by_code.or(match io.kind() {
        ErrorKind::ConnectionRefused => Some("connection refused"),
        ErrorKind::TimedOut => Some("timed out"),
        ErrorKind::HostUnreachable => Some("no route to host"),
        ErrorKind::NetworkUnreachable => Some("network unreachable"),
        ErrorKind::ConnectionReset => Some("connection reset"),
        ErrorKind::AddrNotAvailable => Some("address not available"),
        // Linux's resolver errors carry no OS number, only this text.
        _ if text.contains("failed to lookup address")
            || text.to_lowercase().contains("name or service not known") =>
        {
            Some(HOST_NOT_FOUND)
        }
        _ => None,
    });
    match (words, code) {
        (Some(words), Some(code)) => format!("{words} (os error {code})"),
        (Some(words), None) => words.to_owned(),
        (None, _) => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_tungstenite::tungstenite::Error;

    #[test]
    fn connect_failures_are_sorted_by_what_a_person_can_do() {
        let io = |kind, text: &str| Error::Io(std::io::Error::new(kind, text.to_owned()));
        let refused = io(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(
            transport_error(refused).problem(),
            Problem::ServerUnreachable
        );
        let windows = Error::Io(std::io::Error::from_raw_os_error(10061));
        assert_eq!(
            transport_error(windows).problem(),
            Problem::ServerUnreachable
        );
        let dns = io(
            std::io::ErrorKind::Other,
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(transport_error(dns).problem(), Problem::NameNotFound);
        let windows_dns = Error::Io(std::io::Error::from_raw_os_error(11001));
        assert_eq!(
            transport_error(windows_dns).problem(),
            Problem::NameNotFound
        );
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

    #[test]
    fn windows_socket_errors_read_like_the_linux_ones() {
        let words = |code| socket_words(&std::io::Error::from_raw_os_error(code));
        // Windows (WSA) numbers beside the Linux ones: the same words, each OS's number.
        assert_eq!(words(10061), "connection refused (os error 10061)");
        assert_eq!(words(10060), "timed out (os error 10060)");
        assert_eq!(words(11001), "host not found (os error 11001)");
        // Linux's numbers mean other things on Windows (111 is a buffer overflow there).
        #[cfg(target_os = "linux")]
        {
            assert_eq!(words(111), "connection refused (os error 111)");
            assert_eq!(words(110), "timed out (os error 110)");
        }
        let linux_dns = std::io::Error::other(
            "failed to lookup address information: Name or service not known",
        );
        assert_eq!(socket_words(&linux_dns), "host not found");
        assert_eq!(
            ConnectError::Unreachable(words(10061)).to_string(),
            "cannot reach the server: connection refused (os error 10061)"
        );
        // What has no common words keeps the OS's own.
        assert_eq!(words(13), std::io::Error::from_raw_os_error(13).to_string());
    }
}
