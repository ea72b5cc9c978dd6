//! Which HTTP proxy, if any, the agent's connections go through, and the CONNECT tunnel
//! through one. Used by the connection supervisor task when it opens the websocket to
//! its server, and by the job worker when it fetches a document.
//!
//! The `proxy` setting ([`ProxySetting`]) is `system` (the default), `none`, or an
//! `http://[user:password@]host[:port]` URL; [`ProxyRule::from_setting`] turns it into a
//! rule and [`ProxyRule::proxy_for`] answers, target by target:
//!
//! - Loopback targets (`localhost` and `*.localhost`, 127.0.0.0/8, `::1`) are always
//!   reached directly, whatever the setting: a hub on the same PC keeps working behind
//!   a company proxy (Go's net/http and Windows do the same).
//! - `none`: every target directly.
//! - A URL: every other target through that proxy. `NO_PROXY` does not apply: the user
//!   named this proxy for this agent.
//! - `system`: the environment when any proxy variable is set in it, else (Windows only)
//!   the user's Internet Settings, else directly.
//!   - http and ws targets take `http_proxy`, then `all_proxy`; https and wss targets
//!     `https_proxy`, then `all_proxy`. Each name is looked up in lower case, then upper
//!     case; the first non-empty value decides. A value without a scheme
//!     (`proxy.corp:3128`) means `http://`. A value with another scheme (`socks5://`,
//!     `https://`) or that is no URL leaves those targets direct: only HTTP proxies are
//!     supported for now, and a SOCKS proxy is not silently spoken to as HTTP.
//!   - `no_proxy` (or `NO_PROXY`): entries separated by commas or spaces. `*`: every
//!     target directly. `host` or `.host`: that host and all its subdomains, in any case.
//!     An IP address: that address; a CIDR block (`10.0.0.0/8`, `fd00::/8`): the
//!     addresses in it (targets written as IP addresses only; no name is resolved).
//!     `entry:port`: only targets on that port.
//!   - Windows (`HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`):
//!     used when `ProxyEnable` is 1 and `ProxyServer` is set. `ProxyServer` is
//!     `host:port` for every protocol, or a list `http=host:port;https=host:port`: ws
//!     targets take http's entry and wss targets https's; a protocol without an entry
//!     takes the list's bare `host:port` if there is one, else goes directly, as WinINet
//!     does (its `socks=` fallback is not supported). `ProxyOverride` is a `;` list of
//!     host patterns with `*` wildcards (`*.corp.local`, `10.*`), matched against the
//!     target's host in any case; `<local>` matches every host name without a dot.
//!     Automatic configuration (a PAC script, WPAD) is not read.
//!
//! The proxy is spoken to in plain HTTP. The websocket goes through a CONNECT tunnel
//! ([`connect_via`]) with TLS to the server inside it, so the proxy sees the server's
//! name and port and nothing else; document fetches hand the proxy to reqwest
//! ([`Proxy::url`]), which tunnels https the same way. The proxy's password lives in the
//! private settings file and in memory only: [`ProxySetting`]'s `Display` and
//! [`Proxy`]'s `Debug` and `Display` hide it, so it cannot reach a log.

mod no_proxy;
mod setting;
mod system;
mod tunnel;
#[cfg(windows)]
mod windows;

use std::fmt;

use base64::Engine as _;
use url::{Host, Url};

use no_proxy::NoProxy;
pub use setting::{ProxySetting, ProxySettingError};
pub use system::InternetSettings;
use system::Override;
pub use tunnel::{connect_via, TunnelError};
#[cfg(windows)]
pub use windows::read_internet_settings;

/// One HTTP proxy server: where it is and the credentials it wants.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// A name or an address, IPv6 without brackets (as `TcpStream::connect` takes it).
    host: String,
    port: u16,
    /// User and password, percent-decoded.
    credentials: Option<(String, String)>,
    /// `http://[user:password@]host:port/`, credentials percent-encoded, for reqwest.
    url: Url,
}

impl Proxy {
    /// The proxy an address from the environment or the registry names: `host[:port]`,
    /// perhaps written `http://host:port`; `None` for another scheme (not an HTTP
    /// proxy) or a value that is no address.
    fn from_address(text: &str) -> Option<Self> {
        let text = text.trim();
        let url = if text.contains("://") {
            Url::parse(text).ok()?
        } else {
            Url::parse(&format!("http://{text}")).ok()?
        };
        Self::from_url(&url).ok()
    }

    /// The proxy an `http://` URL names; its path, if any, is ignored.
    fn from_url(url: &Url) -> Result<Self, ProxySettingError> {
        if url.scheme() != "http" {
            return Err(ProxySettingError::UnsupportedScheme {
                scheme: url.scheme().to_owned(),
            });
        }
        let host = match url.host() {
            Some(Host::Domain(name)) if !name.is_empty() => name.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(ProxySettingError::NoHost),
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let credentials = (!url.username().is_empty() || url.password().is_some()).then(|| {
            (
                percent_decode(url.username()),
                percent_decode(url.password().unwrap_or("")),
            )
        });
        let mut url = url.clone();
        url.set_path("/");
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self {
            host,
            port,
            credentials,
            url,
        })
    }

    /// The proxy's host name or address (an IPv6 address without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the proxy is given a user and password.
    pub fn has_credentials(&self) -> bool {
        self.credentials.is_some()
    }

    /// `http://[user:password@]host:port/`, password included: for an HTTP client's
    /// proxy setting (reqwest's `Proxy::all`). Never log it; log the `Proxy` itself.
    pub fn url(&self) -> Url {
        self.url.clone()
    }

    /// The `Proxy-Authorization` value, `Basic base64(user:password)`, when the proxy
    /// has credentials.
    pub fn basic_authorization(&self) -> Option<String> {
        let (user, password) = self.credentials.as_ref()?;
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
        ))
    }

    /// `http://[user[:password]@]host[:port]` with the password given (`***` to hide
    /// it); user and password as percent-encoded in the URL.
    fn text(&self, password: Option<&str>) -> String {
        let mut text = String::from("http://");
        if self.credentials.is_some() {
            text.push_str(self.url.username());
            if let Some(password) = password.filter(|_| self.url.password().is_some()) {
                text.push(':');
                text.push_str(password);
            }
            text.push('@');
        }
        text.push_str(self.url.host_str().unwrap_or(&self.host));
        text.push(':');
        text.push_str(&self.port.to_string());
        text
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.credentials.as_ref().map(|(user, _)| user))
            .finish_non_exhaustive()
    }
}

impl fmt::Display for Proxy {
    /// `http://host:port`, without the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.url.host_str().unwrap_or(&self.host);
        write!(f, "http://{host}:{}", self.port)
    }
}

/// Which proxy, if any, a connection to a given target goes through (see the module's
/// documentation for the rules).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyRule {
    /// For http and ws targets.
    http: Option<Proxy>,
    /// For https and wss targets.
    https: Option<Proxy>,
    bypass: Bypass,
}

/// The targets that go directly although a proxy is set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Bypass {
    /// Loopback ones only.
    #[default]
    Nothing,
    /// `NO_PROXY`'s.
    NoProxy(NoProxy),
    /// Windows' `ProxyOverride`.
    Override(Override),
}

impl ProxyRule {
    /// Every target directly.
    pub fn direct() -> Self {
        Self::default()
    }

    /// Whether no target goes through a proxy.
    pub fn is_direct(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The rule of a setting in this process's environment: for `System`, the
    /// environment variables and, on Windows, the user's Internet Settings in the
    /// registry (read now: call again to follow a change).
    pub fn from_setting(setting: &ProxySetting) -> Self {
        #[cfg(windows)]
        let system = match setting {
            ProxySetting::System => read_internet_settings(),
            _ => None,
        };
        #[cfg(not(windows))]
        let system: Option<InternetSettings> = None;
        Self::resolve(setting, |name| std::env::var(name).ok(), system.as_ref())
    }

    /// The rule of a setting, given the environment as a lookup function and the
    /// Windows Internet Settings (if any): the pure part of [`ProxyRule::from_setting`].
    pub fn resolve(
        setting: &ProxySetting,
        env: impl Fn(&str) -> Option<String>,
        system: Option<&InternetSettings>,
    ) -> Self {
        match setting {
            ProxySetting::None => Self::direct(),
            ProxySetting::Url(proxy) => Self {
                http: Some(proxy.clone()),
                https: Some(proxy.clone()),
                bypass: Bypass::Nothing,
            },
            ProxySetting::System => Self::from_env(&env)
                .or_else(|| system.and_then(Self::from_internet_settings))
                .unwrap_or_default(),
        }
    }

    fn from_env(env: &impl Fn(&str) -> Option<String>) -> Option<Self> {
        let first = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| env(name).filter(|value| !value.trim().is_empty()))
        };
        let http = first(&["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]);
        let https = first(&["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]);
        if http.is_none() && https.is_none() {
            return None;
        }
        let no_proxy = first(&["no_proxy", "NO_PROXY"]).unwrap_or_default();
        Some(Self {
            http: http.as_deref().and_then(Proxy::from_address),
            https: https.as_deref().and_then(Proxy::from_address),
            bypass: Bypass::NoProxy(NoProxy::parse(&no_proxy)),
        })
    }

    fn from_internet_settings(settings: &InternetSettings) -> Option<Self> {
        let server = settings
            .proxy_server
            .as_deref()
            .filter(|s| !s.trim().is_empty());
        let (http, https) = system::parse_proxy_server(server.filter(|_| settings.proxy_enable)?);
        if http.is_none() && https.is_none() {
            return None;
        }
        let bypass = Override::parse(settings.proxy_override.as_deref().unwrap_or(""));
        Some(Self {
            http,
            https,
            bypass: Bypass::Override(bypass),
        })
    }

    /// The proxy for a connection to `target` (scheme http, https, ws or wss; host;
    /// port), or `None` to connect directly (other schemes too).
    pub fn proxy_for(&self, target: &Url) -> Option<&Proxy> {
        let proxy = match target.scheme() {
            "http" | "ws" => self.http.as_ref(),
            "https" | "wss" => self.https.as_ref(),
            _ => None,
        }?;
        let host = target.host()?;
        let port = target.port_or_known_default()?;
        let bypassed = is_loopback(&host)
            || match &self.bypass {
                Bypass::Nothing => false,
                Bypass::NoProxy(list) => list.matches(&host, port),
                Bypass::Override(list) => list.matches(&host),
            };
        (!bypassed).then_some(proxy)
    }
}

/// `localhost`, `*.localhost` (RFC 6761 keeps them on this machine), 127.0.0.0/8, `::1`
/// and IPv4-mapped loopback.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// `%XX` sequences decoded (as reqwest and curl do for URL credentials); invalid UTF-8
/// is replaced rather than refused.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests;
