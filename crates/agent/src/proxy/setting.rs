//! The `proxy` setting as the user writes it and the settings file stores it; what it
//! means for a connection is in the parent module.

use std::fmt;
use std::str::FromStr;

use url::Url;

use super::Proxy;

/// The `proxy` setting: `system` (the default), `none`, or a proxy URL
/// `http://[user:password@]host[:port]` (port 80 when left out).
///
/// Stored as text: `String::from` gives the full value, password included, for the
/// private settings file; `Display` shows `http://user:***@host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum ProxySetting {
    /// The environment's proxy variables, else the Windows user's Internet Settings.
    #[default]
    System,
    /// Every connection goes directly.
    None,
    /// Every connection but loopback ones goes through this proxy. A [`Proxy`] rather
    /// than a URL, so that `Debug` cannot show the password.
    Url(Proxy),
}

/// Why a `proxy` setting was refused. The messages are for the user and never repeat
/// the value (it may hold a password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxySettingError {
    /// Neither a keyword nor a URL with a scheme.
    #[error(
        "the proxy must be \"system\", \"none\" or an http:// URL such as http://proxy.example:3128"
    )]
    NotAUrl,
    /// A scheme other than `http`: an https or SOCKS proxy.
    #[error("{scheme}:// proxies are not supported; give an http:// proxy (connections through it stay encrypted end to end)")]
    UnsupportedScheme {
        /// The scheme given, in lower case.
        scheme: String,
    },
    /// `http://` without a host name or address.
    #[error("the proxy URL has no host")]
    NoHost,
    /// The URL does not parse.
    #[error("the proxy URL is not valid: {0}")]
    InvalidUrl(url::ParseError),
    /// A path, query or fragment: perhaps a PAC script's address, which is not supported.
    #[error("the proxy URL must be only http://[user:password@]host[:port] (a PAC script is not supported)")]
    NotOnlyAddress,
}

impl ProxySetting {
    /// Parses the setting's text; surrounding spaces are ignored, the keywords are in any
    /// case, and an empty text is `system`. A URL must say `http://`: a typo in a
    /// keyword must not become a proxy host.
    pub fn parse(text: &str) -> Result<Self, ProxySettingError> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("system") {
            return Ok(Self::System);
        }
        if text.eq_ignore_ascii_case("none") {
            return Ok(Self::None);
        }
        let Some((scheme, _)) = text.split_once("://") else {
            return Err(ProxySettingError::NotAUrl);
        };
        // Checked before parsing so that `socks5://…` gets the message that helps; only
        // a well-formed scheme is echoed (the text may hold a password).
        let well_formed = !scheme.is_empty()
            && scheme.len() <= 16
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !well_formed {
            return Err(ProxySettingError::NotAUrl);
        }
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(ProxySettingError::UnsupportedScheme {
                scheme: scheme.to_ascii_lowercase(),
            });
        }
        let url = Url::parse(text).map_err(|error| match error {
            url::ParseError::EmptyHost => ProxySettingError::NoHost,
            other => ProxySettingError::InvalidUrl(other),
        })?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(ProxySettingError::NotOnlyAddress);
        }
        Proxy::from_url(&url).map(Self::Url)
    }
}

impl FromStr for ProxySetting {
    type Err = ProxySettingError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<String> for ProxySetting {
    type Error = ProxySettingError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::parse(&text)
    }
}

impl From<ProxySetting> for String {
    /// The full value, password included: what the private settings file stores.
    fn from(setting: ProxySetting) -> String {
        match setting {
            ProxySetting::System => "system".to_owned(),
            ProxySetting::None => "none".to_owned(),
            ProxySetting::Url(proxy) => proxy.text(Some(proxy.url.password().unwrap_or(""))),
        }
    }
}

impl fmt::Display for ProxySetting {
    /// The value with the password as `***`, fit for logs and the UI.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::System => f.write_str("system"),
            Self::None => f.write_str("none"),
            Self::Url(proxy) => f.write_str(&proxy.text(Some("***"))),
        }
    }
}
