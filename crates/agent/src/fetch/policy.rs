//! Which hosts documents may be fetched from (setting `fetchAllowedHosts`), decided
//! from the URL alone, before any lookup or connection. Pure; used by the fetch on the
//! job worker task and by settings validation.

use url::{Host, Url};

/// How far a host is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The dispatch server's host or a host the user listed: it may resolve to a
    /// loopback or private address (an office intranet document server).
    Listed,
    /// Admitted by `*` only: it must resolve to public addresses.
    PublicOnly,
}

/// The hosts the agent fetches documents from, and how it reaches them: the CA file it
/// trusts besides the system's and the proxy, both those of its server connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchPolicy {
    /// Canonical host names and addresses (see [`host_key`]).
    listed: Vec<String>,
    /// `*` was given.
    any_public: bool,
    /// The `caFile` setting.
    ca_file: Option<std::path::PathBuf>,
    /// The `proxy` setting.
    proxy: crate::proxy::ProxySetting,
}

impl FetchPolicy {
    /// This policy, trusting the certificates in `ca_file` too and going through the
    /// proxy `proxy` names.
    pub fn with_route(
        mut self,
        ca_file: Option<&std::path::Path>,
        proxy: crate::proxy::ProxySetting,
    ) -> Self {
        self.ca_file = ca_file.map(std::path::Path::to_path_buf);
        self.proxy = proxy;
        self
    }

    /// The proxy setting.
    pub fn proxy(&self) -> &crate::proxy::ProxySetting {
        &self.proxy
    }

    /// The CA file trusted besides the system's.
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.ca_file.as_deref()
    }

    /// The dispatch servers' hosts (every one the agent may connect to), the hosts in
    /// `allowed`, and any public host if `allowed` holds `*`. Entries that do not parse
    /// admit nothing (settings validation reports them).
    pub fn new(servers: &[Url], allowed: &[String]) -> Self {
        let mut policy = Self::default();
        for host in servers.iter().filter_map(Url::host) {
            policy.listed.push(host_key(&host));
        }
        for entry in allowed {
            match parse_allowed_host(entry) {
                Ok(Some(key)) => policy.listed.push(key),
                Ok(None) => policy.any_public = true,
                Err(_) => {}
            }
        }
        policy
    }

    /// How far `url`'s host is trusted, or `None` when nothing may be fetched from it.
    pub fn admission(&self, url: &Url) -> Option<Admission> {
        let key = host_key(&url.host()?);
        if self.listed.contains(&key) {
            Some(Admission::Listed)
        } else if self.any_public {
            Some(Admission::PublicOnly)
        } else {
            None
        }
    }
}

/// One host as compared: a lower-case domain without a trailing dot, or an address in
/// its standard form (IPv6 without brackets).
fn host_key(host: &Host<&str>) -> String {
    match host {
        Host::Domain(name) => name.trim_end_matches('.').to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    }
}

/// Checks one `fetchAllowedHosts` entry: `Ok(None)` for `*`, `Ok(Some(key))` for a host
/// name or address (IPv6 with or without brackets), `Err` with why otherwise. A scheme,
/// port or path is refused rather than guessed at.
pub fn parse_allowed_host(entry: &str) -> Result<Option<String>, String> {
    let entry = entry.trim();
    if entry == "*" {
        return Ok(None);
    }
    let shown: String = entry.chars().take(80).collect();
    let bad = || format!("{shown:?} is not a host name or address (no scheme, port or path)");
    if entry.is_empty() || entry.contains(['/', '@', '*']) {
        return Err(bad());
    }
    let bracketed = if entry.contains(':') && !entry.starts_with('[') {
        format!("[{entry}]")
    } else {
        entry.to_owned()
    };
    // Parsed as a URL host is, so an entry matches the host of the URLs it names
    // (international names in their ASCII form, `127.1` as `127.0.0.1`).
    let url = Url::parse(&format!("http://{bracketed}/")).map_err(|_| bad())?;
    match url.host() {
        Some(host) if url.port().is_none() => Ok(Some(host_key(&host))),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).expect("a URL")
    }

    fn policy(server: &str, allowed: &[&str]) -> FetchPolicy {
        let allowed: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
        FetchPolicy::new(&[url(server)], &allowed)
    }

    #[test]
    fn by_default_only_the_dispatch_servers_host_is_admitted() {
        let p = policy("https://hub.example.com/printrelay/", &[]);
        assert_eq!(
            p.admission(&url("https://hub.example.com:8443/doc.pdf")),
            Some(Admission::Listed)
        );
        assert_eq!(
            p.admission(&url("https://HUB.example.com./d")),
            Some(Admission::Listed)
        );
        for other in [
            "http://127.0.0.1/api/v1/clients",
            "http://localhost:3000/",
            "http://cdn.example.com/doc.pdf",
            "http://example.com/",
            "http://[::1]/",
        ] {
            assert_eq!(p.admission(&url(other)), None, "{other}");
        }
    }

    #[test]
    fn a_loopback_server_admits_its_own_address_only() {
        let p = policy("http://127.0.0.1:3000", &[]);
        assert_eq!(
            p.admission(&url("http://127.0.0.1:9/x")),
            Some(Admission::Listed)
        );
        assert_eq!(p.admission(&url("http://localhost:9/x")), None);
        assert_eq!(p.admission(&url("http://127.0.0.2:9/x")), None);
        assert_eq!(p.admission(&url("http://[::ffff:127.0.0.1]:9/x")), None);
    }

    #[test]
    fn listed_hosts_are_admitted_with_any_address_and_the_server_stays() {
        let p = policy("ws://hub.office:3000", &["docs.office", "10.0.0.5", "::1"]);
        for listed in [
            "http://docs.office/a.pdf",
            "http://10.0.0.5:8080/a.pdf",
            "http://[::1]/a.pdf",
            "http://hub.office/a.pdf",
        ] {
            assert_eq!(
                p.admission(&url(listed)),
                Some(Admission::Listed),
                "{listed}"
            );
        }
        assert_eq!(p.admission(&url("http://www.docs.office/a.pdf")), None);
    }

    #[test]
    fn a_star_admits_any_host_for_public_addresses_only() {
        let p = policy("http://127.0.0.1:3000", &["*", "localhost"]);
        assert_eq!(
            p.admission(&url("https://cdn.example.com/a.pdf")),
            Some(Admission::PublicOnly)
        );
        assert_eq!(
            p.admission(&url("http://127.0.0.2/a.pdf")),
            Some(Admission::PublicOnly)
        );
        assert_eq!(
            p.admission(&url("http://localhost/a.pdf")),
            Some(Admission::Listed)
        );
        assert_eq!(
            p.admission(&url("http://127.0.0.1/a.pdf")),
            Some(Admission::Listed)
        );
    }

    #[test]
    fn without_a_server_only_listed_hosts_are_admitted() {
        let p = FetchPolicy::new(&[], &["docs.office".to_owned()]);
        assert_eq!(
            p.admission(&url("http://docs.office/")),
            Some(Admission::Listed)
        );
        assert_eq!(p.admission(&url("http://localhost/")), None);
    }

    #[test]
    fn entries_are_host_names_or_addresses() {
        assert_eq!(parse_allowed_host("*"), Ok(None));
        assert_eq!(
            parse_allowed_host(" Docs.Office. "),
            Ok(Some("docs.office".into()))
        );
        assert_eq!(parse_allowed_host("127.1"), Ok(Some("127.0.0.1".into())));
        assert_eq!(parse_allowed_host("[fe80::1]"), Ok(Some("fe80::1".into())));
        assert_eq!(parse_allowed_host("FE80::1"), Ok(Some("fe80::1".into())));
        assert_eq!(
            parse_allowed_host("bücher.example"),
            Ok(Some("xn--bcher-kva.example".into()))
        );
        for bad in [
            "",
            "http://docs.office",
            "docs.office:8080",
            "docs.office/path",
            "user@docs.office",
            "*.office",
            "two words",
        ] {
            assert!(parse_allowed_host(bad).is_err(), "{bad:?}");
        }
    }
}
