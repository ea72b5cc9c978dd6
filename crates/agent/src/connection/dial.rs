//! Opening the byte stream to the server: directly or through the proxy's CONNECT
//! tunnel, with TLS for `wss` (certificates checked as the OS does, plus the CA file),
//! then the websocket over it. Runs on the supervisor task, inside a connect attempt.

use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::{Host, Url};

use super::frame_guard::{DroppedLog, FrameGuard};
use super::problem::ConnectError;
use crate::proxy::ProxyRule;

/// The websocket of a session: frames longer than the cap are dropped as they arrive.
pub(crate) type Socket = WebSocketStream<FrameGuard<MaybeTlsStream<TcpStream>>>;

/// Opens the websocket at `endpoint`; frames longer than `frame_cap` bytes are dropped
/// as they arrive and noted in `dropped`.
pub(crate) async fn open_websocket(
    endpoint: &Url,
    route: Route<'_>,
    frame_cap: u64,
    dropped: &DroppedLog,
) -> Result<Socket, ConnectError> {
    let stream = connect_stream(endpoint, route).await?;
    let guarded = FrameGuard::new(stream, frame_cap, Arc::clone(dropped));
    // The guard drops long frames; a message split into many frames stops here.
    let cap = usize::try_from(frame_cap.saturating_mul(2)).unwrap_or(usize::MAX);
    let config = WebSocketConfig::default()
        .max_message_size(Some(cap))
        .max_frame_size(Some(cap));
    let (socket, _response) =
        tokio_tungstenite::client_async_with_config(endpoint.as_str(), guarded, Some(config))
            .await
            .map_err(super::problem::transport_error)?;
    Ok(socket)
}

/// How a connection leaves this PC: the CA file trusted besides the OS's, and the
/// proxy rule (resolved from the `proxy` setting before each attempt).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Route<'a> {
    pub ca_file: Option<&'a Path>,
    pub proxy: &'a ProxyRule,
}

/// The TCP connection to the endpoint, directly or through the proxy's CONNECT tunnel,
/// with TLS for `wss` (certificates checked as the OS does, plus the route's CA file).
async fn connect_stream(
    endpoint: &Url,
    route: Route<'_>,
) -> Result<MaybeTlsStream<TcpStream>, ConnectError> {
    let port = endpoint
        .port_or_known_default()
        .ok_or_else(|| ConnectError::InvalidUrl("no port".into()))?;
    let (host, name) = match endpoint.host() {
        Some(Host::Domain(domain)) => (
            domain.to_owned(),
            rustls::pki_types::ServerName::try_from(domain.to_owned())
                .map_err(|e| ConnectError::InvalidUrl(e.to_string()))?,
        ),
        Some(Host::Ipv4(ip)) => (ip.to_string(), ip.into()),
        Some(Host::Ipv6(ip)) => (ip.to_string(), ip.into()),
        None => return Err(ConnectError::InvalidUrl("no host".into())),
    };
    let tcp = match route.proxy.proxy_for(endpoint) {
        Some(proxy) => {
            tracing::debug!(%proxy, "connecting through the proxy");
            crate::proxy::connect_via(proxy, &host, port)
                .await
                .map_err(|e| ConnectError::Proxy(e.to_string()))?
        }
        None => TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| super::problem::io_error(&e))?,
    };
    // Heartbeat answers are small and must not wait for more bytes.
    let _ = tcp.set_nodelay(true);
    if endpoint.scheme() != "wss" {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    let config = crate::tls::client_config(route.ca_file)
        .map_err(|e| ConnectError::Certificate(e.to_string()))?;
    let tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(tls_error)?;
    Ok(MaybeTlsStream::Rustls(tls))
}

/// A failed TLS handshake: a refused certificate in words, else sorted as any I/O error.
fn tls_error(error: std::io::Error) -> ConnectError {
    let refused = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match refused {
        Some(rustls::Error::InvalidCertificate(certificate)) => {
            ConnectError::Certificate(crate::tls::describe_refusal(certificate))
        }
        _ => super::problem::io_error(&error),
    }
}
