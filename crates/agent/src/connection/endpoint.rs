//! Where a connection goes, the socket.io-client way: the server URL's path is the
//! Socket.IO namespace (`http://host:3000/printers` -> `/printers`), and the engine path
//! (`/socket.io/` unless a reverse proxy moved it) is a setting of its own. Pure; used by
//! the supervisor task before each connect and by settings validation.

use url::Url;

use super::problem::ConnectError;

/// The engine path socket.io servers listen on unless configured otherwise.
pub const DEFAULT_SOCKET_PATH: &str = "/socket.io/";

/// A server URL and socket path resolved into what the transports need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The websocket URL: `ws[s]://host:port<socket path>?EIO=4&transport=websocket`.
    pub websocket: Url,
    /// The Socket.IO namespace joined after the handshake (`/` by default).
    pub namespace: String,
}

impl Endpoint {
    /// Resolves `server` (http, https, ws or wss, with a host) and `socket_path`.
    ///
    /// A trailing slash of the namespace is dropped (`/printers/` is `/printers`): a
    /// server never registers a namespace with one, and a pasted URL often has it.
    pub fn new(server: &Url, socket_path: &str) -> Result<Self, ConnectError> {
        let scheme = match server.scheme() {
            "http" | "ws" => "ws",
            "https" | "wss" => "wss",
            other => {
                return Err(ConnectError::InvalidUrl(format!(
                    "unsupported scheme {other:?}"
                )))
            }
        };
        if server.host_str().is_none_or(str::is_empty) {
            return Err(ConnectError::InvalidUrl("no host".into()));
        }
        if server.query().is_some() {
            return Err(ConnectError::InvalidUrl(
                "a query (?...) has no place in the server address".into(),
            ));
        }
        let path = normalize_socket_path(socket_path).map_err(ConnectError::InvalidUrl)?;
        let mut websocket = server.clone();
        websocket
            .set_scheme(scheme)
            .map_err(|()| ConnectError::InvalidUrl(server.to_string()))?;
        websocket.set_path(&path);
        websocket.set_query(Some("EIO=4&transport=websocket"));
        websocket.set_fragment(None);
        Ok(Self {
            websocket,
            namespace: namespace_of(server),
        })
    }
}

/// The namespace a server URL names: its path without a trailing slash, `/` for none.
pub fn namespace_of(server: &Url) -> String {
    let path = server.path().trim_end_matches('/');
    if path.is_empty() {
        "/".into()
    } else {
        path.into()
    }
}

/// `path` as an engine path: starting and ending with `/` (socket.io-client adds the
/// trailing one too); an empty one is the default. Errors say what is wrong with it.
pub fn normalize_socket_path(path: &str) -> Result<String, String> {
    let path = path.trim();
    if path.is_empty() {
        return Ok(DEFAULT_SOCKET_PATH.into());
    }
    if !path.starts_with('/') {
        return Err(format!("{path:?} must start with /"));
    }
    if path.contains(['?', '#', ' ']) || path.chars().any(char::is_control) {
        return Err(format!("{path:?} is not a path"));
    }
    Ok(if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(server: &str, path: &str) -> Result<(String, String), ConnectError> {
        let server = Url::parse(server).expect("test URL");
        Endpoint::new(&server, path).map(|e| (e.websocket.to_string(), e.namespace))
    }

    #[test]
    fn the_url_path_is_the_namespace_and_the_socket_path_the_engine_path() {
        assert_eq!(
            endpoint("http://localhost:3000", DEFAULT_SOCKET_PATH),
            Ok((
                "ws://localhost:3000/socket.io/?EIO=4&transport=websocket".into(),
                "/".into()
            ))
        );
        assert_eq!(
            endpoint("https://print.example.com/printers/", "/print/socket.io"),
            Ok((
                "wss://print.example.com/print/socket.io/?EIO=4&transport=websocket".into(),
                "/printers".into()
            ))
        );
        assert_eq!(
            endpoint("wss://h/a/b", ""),
            Ok((
                "wss://h/socket.io/?EIO=4&transport=websocket".into(),
                "/a/b".into()
            ))
        );
    }

    #[test]
    fn unusable_servers_and_paths_are_refused() {
        for (server, path) in [
            ("ftp://x", "/socket.io/"),
            ("http://x/?a=1", "/socket.io/"),
            ("http://x", "socket.io"),
            ("http://x", "/a b/"),
        ] {
            assert!(
                matches!(endpoint(server, path), Err(ConnectError::InvalidUrl(_))),
                "{server} {path}"
            );
        }
    }
}
