//! The `no_proxy` list: which targets go directly although a proxy variable is set.
//! Pure; the rules are in the `proxy` module's documentation.

use std::net::IpAddr;

use url::Host;

/// A parsed `no_proxy` value; entries that do not parse are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct NoProxy {
    /// `*`: every target.
    everything: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    /// Only targets on this port, when given.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// A host name in lower case, without leading or trailing dots: it and its
    /// subdomains.
    Domain(String),
    /// One address.
    Address(IpAddr),
    /// The addresses whose first `prefix` bits are `network`'s.
    Block { network: IpAddr, prefix: u8 },
}

impl NoProxy {
    /// Parses a list separated by commas and whitespace.
    pub(super) fn parse(value: &str) -> Self {
        let mut list = Self::default();
        for item in value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
        {
            if item == "*" {
                list.everything = true;
            } else if let Some(entry) = Entry::parse(item) {
                list.entries.push(entry);
            }
        }
        list
    }

    /// Whether a target at `host`, `port` goes directly.
    pub(super) fn matches(&self, host: &Host<&str>, port: u16) -> bool {
        self.everything
            || self
                .entries
                .iter()
                .any(|entry| entry.port.is_none_or(|p| p == port) && entry.pattern.matches(host))
    }
}

impl Entry {
    fn parse(item: &str) -> Option<Self> {
        if let Some((address, prefix)) = item.split_once('/') {
            let network: IpAddr = unbracket(address).parse().ok()?;
            let prefix: u8 = prefix.parse().ok()?;
            let bits = if network.is_ipv4() { 32 } else { 128 };
            return (prefix <= bits).then_some(Self {
                pattern: Pattern::Block { network, prefix },
                port: None,
            });
        }
        // A bare IPv6 address holds colons that are not a port's.
        if let Ok(address) = unbracket(item).parse::<IpAddr>() {
            return Some(Self {
                pattern: Pattern::Address(address),
                port: None,
            });
        }
        let (host, port) = match item.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.parse::<u16>().ok()?)),
            None => (item, None),
        };
        if let Ok(address) = unbracket(host).parse::<IpAddr>() {
            return Some(Self {
                pattern: Pattern::Address(address),
                port,
            });
        }
        let name = host
            .strip_prefix("*.")
            .unwrap_or(host)
            .trim_start_matches('.')
            .trim_end_matches('.')
            .to_ascii_lowercase();
        (!name.is_empty()).then_some(Self {
            pattern: Pattern::Domain(name),
            port,
        })
    }
}

impl Pattern {
    fn matches(&self, host: &Host<&str>) -> bool {
        match (self, host) {
            (Self::Domain(pattern), Host::Domain(name)) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == *pattern
                    || name
                        .strip_suffix(pattern.as_str())
                        .is_some_and(|rest| rest.ends_with('.'))
            }
            (Self::Address(pattern), Host::Ipv4(ip)) => *pattern == IpAddr::V4(*ip),
            (Self::Address(pattern), Host::Ipv6(ip)) => *pattern == IpAddr::V6(*ip),
            (Self::Block { network, prefix }, Host::Ipv4(ip)) => {
                in_block(IpAddr::V4(*ip), *network, *prefix)
            }
            (Self::Block { network, prefix }, Host::Ipv6(ip)) => {
                in_block(IpAddr::V6(*ip), *network, *prefix)
            }
            _ => false,
        }
    }
}

/// `[::1]` → `::1`; anything else as it is.
fn unbracket(text: &str) -> &str {
    text.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(text)
}

/// Whether `address` is in `network/prefix` (never across IPv4 and IPv6).
fn in_block(address: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (address, network) {
        (IpAddr::V4(address), IpAddr::V4(network)) => {
            // A shift by the full width is no mask at all: /0 holds every address.
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(address) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(address), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(address) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}
