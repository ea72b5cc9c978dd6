//! The defence against DNS rebinding: the hub answers only requests that name it in
//! `Host` (and in the request target, when that has an authority); anything else,
//! Socket.IO included, is 421 `misdirected_request`. Without it a web page on
//! `evil.example`, whose name the attacker later points at 127.0.0.1, could read
//! and use a hub on the same machine as if it were its own origin.
//!
//! Which names: a loopback hub answers to `localhost`, `127.0.0.1` and `[::1]`; a hub on
//! a specific address to that address; a hub on `0.0.0.0` / `[::]` to `localhost` and
//! to any IP literal (a name can be rebound, an address cannot); each with the port it
//! listens on (no port only when that is 80). Every hub also answers to the
//! `--public-name`s (what a reverse proxy or a port forward sends): `name` with any
//! port or none, `name:port` with that port only (or none when it is 80 or 443).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// A `--public-name` that is not a host name or address with an optional port.
#[derive(Debug, thiserror::Error)]
#[error("--public-name {0:?} is not a host name (or address) with an optional :port, such as print.example.com or print.example.com:8443")]
pub struct InvalidPublicName(String);

/// A host as a request names it: lowercase name or address, and the port if given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authority {
    host: Host,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Ip(IpAddr),
    /// Lowercase.
    Name(String),
}

impl Authority {
    /// `name`, `name:port`, `1.2.3.4:port`, `[::1]:port`; `None` for anything else.
    fn parse(text: &str) -> Option<Self> {
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (address, after) = rest.split_once(']')?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':')?),
            };
            (
                Host::Ip(IpAddr::V6(address.parse::<Ipv6Addr>().ok()?)),
                port,
            )
        } else {
            let (host, port) = match text.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (text, None),
            };
            let host = match host.parse::<std::net::Ipv4Addr>() {
                Ok(address) => Host::Ip(IpAddr::V4(address)),
                Err(_) if is_host_name(host) => Host::Name(host.to_ascii_lowercase()),
                Err(_) => return None,
            };
            (host, port)
        };
        let port = match port {
            None => None,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                Some(digits.parse().ok()?)
            }
            Some(_) => return None,
        };
        Some(Self { host, port })
    }
}

/// Letters, digits, `-`, `_` and dots between labels (DNS names as `Host` carries them).
fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The hosts one hub answers to (see the module notes).
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// The port the hub listens on.
    port: u16,
    /// Valid with `port` (or without one when `port` is 80).
    own: Vec<Host>,
    /// Any IP literal with `port` (a hub on an unspecified address).
    any_address: bool,
    /// `--public-name`s: a port of `None` allows any port.
    public: Vec<Authority>,
}

impl AllowedHosts {
    /// For a hub listening on `listen` (the address bound, with its real port).
    pub fn new(listen: SocketAddr, public_names: &[String]) -> Result<Self, InvalidPublicName> {
        let ip = listen.ip();
        let localhost = Host::Name("localhost".into());
        let (own, any_address) = if ip.is_unspecified() {
            (vec![localhost], true)
        } else if ip.is_loopback() {
            let loopback = [
                Host::Ip(IpAddr::from([127, 0, 0, 1])),
                Host::Ip(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ];
            let mut own = vec![localhost, Host::Ip(ip)];
            own.extend(loopback);
            (own, false)
        } else {
            (vec![Host::Ip(ip)], false)
        };
        let public = public_names
            .iter()
            .map(|name| Authority::parse(name).ok_or_else(|| InvalidPublicName(name.clone())))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            port: listen.port(),
            own,
            any_address,
            public,
        })
    }

    /// Does this hub answer to a request naming `host` (a `Host` header's value)?
    pub fn allows(&self, host: &str) -> bool {
        let Some(asked) = Authority::parse(host) else {
            return false;
        };
        let own_port = asked.port.map_or(self.port == 80, |p| p == self.port);
        let own_host = self.own.contains(&asked.host)
            || (self.any_address && matches!(asked.host, Host::Ip(_)));
        if own_port && own_host {
            return true;
        }
        self.public.iter().any(|name| {
            name.host == asked.host
                && match (name.port, asked.port) {
                    (None, _) => true,
                    (Some(wanted), Some(port)) => wanted == port,
                    // Browsers leave out the default port of the scheme.
                    (Some(wanted), None) => wanted == 80 || wanted == 443,
                }
        })
    }
}

/// Axum middleware, outermost: 421 for a request whose `Host` or target authority names
/// another host, or that names none.
pub async fn check_host(
    State(allowed): State<Arc<AllowedHosts>>,
    request: Request,
    next: Next,
) -> Response {
    let header = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    let target = request.uri().authority().map(|a| a.as_str());
    let named: Vec<&str> = header.into_iter().chain(target).collect();
    if !named.is_empty() && named.iter().all(|host| allowed.allows(host)) {
        return next.run(request).await;
    }
    let host = named.first().copied().unwrap_or_default().to_owned();
    // A proxy or port forward sending a name the hub was not given shows up here.
    tracing::warn!(host = %host, path = %request.uri().path(), "request refused: the hub does not answer to this host (see --public-name)");
    ApiError::Misdirected(host).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(listen: &str, public: &[&str]) -> AllowedHosts {
        let public: Vec<String> = public.iter().map(|&p| p.to_owned()).collect();
        AllowedHosts::new(listen.parse().expect("address"), &public).expect("valid names")
    }

    #[test]
    fn a_loopback_hub_answers_to_the_loopback_names_on_its_port() {
        let hub = hosts("127.0.0.1:3000", &[]);
        for host in [
            "localhost:3000",
            "LocalHost:3000",
            "127.0.0.1:3000",
            "[::1]:3000",
        ] {
            assert!(hub.allows(host), "{host}");
        }
        for host in [
            "evil.example:3000",
            "localhost",
            "localhost:3001",
            "localhost.:3000",
            "127.0.0.2:3000",
            "192.168.1.5:3000",
            "localhost:3000:3000",
            "localhost:",
            "",
            "[::1",
        ] {
            assert!(!hub.allows(host), "{host}");
        }
        // On port 80 the port may be left out, as browsers do.
        assert!(hosts("127.0.0.1:80", &[]).allows("localhost"));
    }

    #[test]
    fn an_unspecified_address_answers_to_any_address_but_to_no_other_name() {
        let hub = hosts("0.0.0.0:3000", &[]);
        for host in [
            "192.168.1.5:3000",
            "10.0.0.1:3000",
            "[fe80::1]:3000",
            "localhost:3000",
        ] {
            assert!(hub.allows(host), "{host}");
        }
        for host in ["printserver:3000", "evil.example:3000", "192.168.1.5:80"] {
            assert!(!hub.allows(host), "{host}");
        }
        let specific = hosts("192.168.1.5:3000", &[]);
        assert!(specific.allows("192.168.1.5:3000"));
        assert!(!specific.allows("localhost:3000") && !specific.allows("10.0.0.1:3000"));
    }

    #[test]
    fn public_names_are_answered_to_as_given() {
        let hub = hosts(
            "127.0.0.1:3000",
            &["print.example.com", "Office-PC:8443", "[::1]:9000"],
        );
        for host in [
            "print.example.com",
            "print.example.com:443",
            "PRINT.example.com:3000",
            "office-pc:8443",
            "[::1]:9000",
        ] {
            assert!(hub.allows(host), "{host}");
        }
        for host in [
            "office-pc:8444",
            "office-pc",
            "example.com",
            "print.example.com.evil:80",
        ] {
            assert!(!hub.allows(host), "{host}");
        }
        assert!(hosts("127.0.0.1:3000", &["proxy:443"]).allows("proxy"));
        for bad in [
            "https://print.example.com",
            "print.example.com/hub",
            "a b",
            "",
            "host:http",
        ] {
            let names = vec![bad.to_owned()];
            assert!(
                AllowedHosts::new("127.0.0.1:3000".parse().expect("addr"), &names).is_err(),
                "{bad}"
            );
        }
    }
}
