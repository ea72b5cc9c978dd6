//! The Windows user's proxy (WinINet's Internet Settings): the values as read, and
//! their parsing. Pure, so that it is tested on every platform; the registry is read in
//! `windows.rs`.

use url::Host;

use super::Proxy;

/// The values of `HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings`
/// that decide a proxy (automatic configuration is not read).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InternetSettings {
    /// `ProxyEnable`: "Use a proxy server" is ticked.
    pub proxy_enable: bool,
    /// `ProxyServer`: `host:port`, or `http=host:port;https=host:port;…`.
    pub proxy_server: Option<String>,
    /// `ProxyOverride`: the `;` list of hosts that go directly.
    pub proxy_override: Option<String>,
}

/// The proxies for http and for https targets in a `ProxyServer` value. A protocol
/// without an entry of its own takes the bare `host:port` entry if there is one, else
/// none (WinINet's rule); `ftp=` and `socks=` entries are not used.
pub(super) fn parse_proxy_server(value: &str) -> (Option<Proxy>, Option<Proxy>) {
    let (mut bare, mut http, mut https) = (None, None, None);
    for entry in value
        .split(|c: char| c == ';' || c.is_whitespace())
        .filter(|entry| !entry.is_empty())
    {
        let slot = match entry.split_once('=') {
            None => &mut bare,
            Some((protocol, _)) if protocol.eq_ignore_ascii_case("http") => &mut http,
            Some((protocol, _)) if protocol.eq_ignore_ascii_case("https") => &mut https,
            Some(_) => continue,
        };
        let address = entry.split_once('=').map_or(entry, |(_, address)| address);
        // The first entry for a protocol wins; a broken one does not hide a later one.
        if slot.is_none() {
            *slot = Proxy::from_address(address);
        }
    }
    (http.or_else(|| bare.clone()), https.or(bare))
}

/// A parsed `ProxyOverride` value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Override {
    /// `<local>`: host names without a dot.
    local: bool,
    /// Patterns in lower case, `*` matching any run of characters.
    patterns: Vec<String>,
}

impl Override {
    /// Parses a list separated by `;` (and whitespace, which WinINet also accepts).
    pub(super) fn parse(value: &str) -> Self {
        let mut list = Self::default();
        for item in value
            .split(|c: char| c == ';' || c.is_whitespace())
            .filter(|item| !item.is_empty())
        {
            if item.eq_ignore_ascii_case("<local>") {
                list.local = true;
            } else {
                // A pattern may be written with a scheme (`https://*.corp`); the host
                // part is what is matched.
                let pattern = item.split_once("://").map_or(item, |(_, rest)| rest);
                list.patterns.push(pattern.to_ascii_lowercase());
            }
        }
        list
    }

    /// Whether a target at `host` goes directly; IPv6 addresses are matched without
    /// brackets.
    pub(super) fn matches(&self, host: &Host<&str>) -> bool {
        let text = match host {
            Host::Domain(name) => {
                if self.local && !name.contains('.') {
                    return true;
                }
                name.to_ascii_lowercase()
            }
            Host::Ipv4(ip) => ip.to_string(),
            Host::Ipv6(ip) => ip.to_string(),
        };
        self.patterns
            .iter()
            .any(|pattern| wildcard_match(pattern.as_bytes(), text.as_bytes()))
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of bytes.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it is now taken to end at.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((star_p, star_t)) => {
                    // Let the last `*` take one more byte and try again after it.
                    p = star_p + 1;
                    t = star_t + 1;
                    star = Some((star_p, star_t + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
pub(super) fn wildcard(pattern: &str, text: &str) -> bool {
    wildcard_match(pattern.as_bytes(), text.as_bytes())
}
