//! Fetches `pdf_uri`/`raw_uri` documents: http and https only, bounded in size and
//! time, and only from hosts the [`FetchPolicy`] admits. Runs on the job worker task.
//!
//! A server must not be able to turn the agent against the office network: an
//! unlisted host is refused before any lookup or connection; every host is resolved
//! here, its addresses checked, and the connection pinned to those very addresses (a
//! DNS answer that changes between check and connect cannot slip through); redirects
//! are followed one by one, each target checked the same way. Through an HTTP proxy
//! (the `proxy` setting, as for the server connection), a listed host is left to the
//! proxy to resolve; a host admitted by `*` only is still resolved and checked here
//! first. What the server hears
//! says nothing about the network (no OS error text, which tells open from closed
//! ports); the detail goes to the agent's log.

mod address;
mod policy;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use url::{Host, Url};

pub use address::{reach, Reach};
pub use policy::{parse_allowed_host, Admission, FetchPolicy};

use crate::error_text::error_chain;
use crate::protocol::{Document, ErrorCode, JobError, RemoteKind};

/// Bound on one fetch, first lookup to last byte, redirects included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Redirects followed before the fetch fails.
const MAX_REDIRECTS: usize = 5;

/// What the server is told when a host is refused.
const REFUSED: &str = "the agent does not fetch documents from this host";

/// Why a fetch did not return bytes; the `String`s are for the log only.
#[derive(Debug)]
enum Failure {
    Refused(String),
    Failed(String),
    Status(reqwest::StatusCode),
    TooLarge,
}

/// How host names are resolved: by the system, or from a fixed table in tests.
#[derive(Debug, Clone, Default)]
pub(crate) enum Dns {
    #[default]
    System,
    #[cfg(test)]
    Fixed(Vec<(String, std::net::IpAddr)>),
}

impl Dns {
    async fn lookup(&self, name: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        match self {
            Dns::System => Ok(tokio::net::lookup_host((name, port)).await?.collect()),
            #[cfg(test)]
            Dns::Fixed(table) => Ok(table
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, ip)| SocketAddr::new(*ip, port))
                .collect()),
        }
    }
}

/// Downloads a remote document into memory, refusing hosts `policy` does not admit and
/// more than `max_bytes`.
pub async fn fetch(
    url: &Url,
    kind: RemoteKind,
    max_bytes: u64,
    policy: &FetchPolicy,
) -> Result<Document, JobError> {
    fetch_with(url, kind, max_bytes, policy, &Dns::System).await
}

pub(crate) async fn fetch_with(
    url: &Url,
    kind: RemoteKind,
    max_bytes: u64,
    policy: &FetchPolicy,
    dns: &Dns,
) -> Result<Document, JobError> {
    let body = fetch_resource_with(url, max_bytes, policy, dns).await?.body;
    if body.is_empty() {
        return Err(JobError::new(
            ErrorCode::EmptyContent,
            "the fetched document is empty",
        ));
    }
    match kind {
        RemoteKind::Pdf if !body.starts_with(b"%PDF-") => Err(JobError::new(
            ErrorCode::InvalidContent,
            "the fetched document is not a PDF",
        )),
        RemoteKind::Pdf => Ok(Document::Pdf(body)),
        RemoteKind::Raw => Ok(Document::Raw(body)),
        RemoteKind::Image if printrelay_protocol::image_format(&body).is_none() => {
            Err(JobError::new(
                ErrorCode::InvalidImage,
                "the fetched document is not a PNG, JPEG, GIF or WebP image",
            ))
        }
        RemoteKind::Image => Ok(Document::Image(body)),
        RemoteKind::Html => {
            printrelay_protocol::check_html_size(body.len() as u64)?;
            // Browsers read undeclared bytes leniently too; the renderer sees UTF-8.
            Ok(Document::Html(String::from_utf8_lossy(&body).into_owned()))
        }
    }
}

/// What a page being rendered asked for: its bytes and declared type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub body: Vec<u8>,
    /// The `Content-Type` the server sent, if any.
    pub content_type: Option<String>,
}

/// Fetches a resource of a page being rendered (a stylesheet, an image, a font), under
/// the same policy, limits and errors as a document.
pub async fn fetch_resource(
    url: &Url,
    max_bytes: u64,
    policy: &FetchPolicy,
) -> Result<Resource, JobError> {
    fetch_resource_with(url, max_bytes, policy, &Dns::System).await
}

/// One fetch bounded by [`FETCH_TIMEOUT`], its failure in the words the server hears.
async fn fetch_resource_with(
    url: &Url,
    max_bytes: u64,
    policy: &FetchPolicy,
    dns: &Dns,
) -> Result<Resource, JobError> {
    tokio::time::timeout(FETCH_TIMEOUT, fetch_bytes(url, max_bytes, policy, dns))
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Failed(format!(
                "no answer within {FETCH_TIMEOUT:?}"
            )))
        })
        .map_err(|failure| to_job_error(url, failure, max_bytes))
}

/// The job error the server hears; the detail is logged here (host only: a document
/// URL may carry a signature in its query).
fn to_job_error(url: &Url, failure: Failure, max_bytes: u64) -> JobError {
    let host = url.host_str().unwrap_or_default();
    match failure {
        Failure::Refused(detail) => {
            tracing::warn!(host, %detail, "document fetch refused");
            JobError::new(ErrorCode::FetchRefused, REFUSED)
        }
        Failure::Failed(detail) => {
            tracing::warn!(host, %detail, "document fetch failed");
            JobError::new(ErrorCode::FetchFailed, "the document could not be fetched")
        }
        Failure::Status(status) => {
            tracing::warn!(host, %status, "document fetch failed");
            JobError::new(
                ErrorCode::FetchFailed,
                format!("the document server answered HTTP {}", status.as_u16()),
            )
        }
        Failure::TooLarge => JobError::new(
            ErrorCode::ContentTooLarge,
            format!("the document is larger than the limit of {max_bytes} bytes"),
        ),
    }
}

async fn fetch_bytes(
    url: &Url,
    max_bytes: u64,
    policy: &FetchPolicy,
    dns: &Dns,
) -> Result<Resource, Failure> {
    let mut current = url.clone();
    let proxies = crate::proxy::ProxyRule::from_setting(policy.proxy());
    for _ in 0..=MAX_REDIRECTS {
        let through_proxy = proxies.proxy_for(&current).is_some();
        // A listed host reached through the proxy is the proxy's to resolve (the PC
        // may have no DNS for the outside); any other is checked here as always.
        let addrs = if through_proxy && policy.admission(&current) == Some(Admission::Listed) {
            Vec::new()
        } else {
            checked_addresses(&current, policy, dns).await?
        };
        let proxy = match proxies.proxy_for(&current) {
            Some(proxy) => {
                let at = dns
                    .lookup(proxy.host(), proxy.port())
                    .await
                    .map_err(|e| Failure::Failed(format!("the proxy {proxy}: {e}")))?;
                Some((proxy, at))
            }
            None => None,
        };
        let proxy = proxy.as_ref().map(|(proxy, at)| (*proxy, at.as_slice()));
        let response = pinned_client(&current, &addrs, policy.ca_file(), proxy)?
            .get(current.clone())
            .send()
            .await
            .map_err(|e| Failure::Failed(error_chain(&e.without_url())))?;
        let status = response.status();
        if status.is_redirection() {
            current = redirect_target(&current, &response)?;
            continue;
        }
        if !status.is_success() {
            return Err(Failure::Status(status));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        return Ok(Resource {
            body: read_body(response, max_bytes).await?,
            content_type,
        });
    }
    Err(Failure::Failed(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// The addresses `url`'s host may be reached at, after the policy admitted the host
/// and its addresses passed the check for that admission. Every address must pass:
/// a name that resolves to a public and a private address is refused.
async fn checked_addresses(
    url: &Url,
    policy: &FetchPolicy,
    dns: &Dns,
) -> Result<Vec<SocketAddr>, Failure> {
    let host = url.host_str().unwrap_or_default().to_owned();
    let admission = policy
        .admission(url)
        .ok_or_else(|| Failure::Refused(format!("{host} is not in fetchAllowedHosts")))?;
    let port = url
        .port_or_known_default()
        .ok_or_else(|| Failure::Failed(format!("no port for {url}")))?;
    let addrs = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
        Some(Host::Domain(name)) => dns
            .lookup(name, port)
            .await
            .map_err(|e| Failure::Failed(format!("cannot resolve {host}: {e}")))?,
        None => return Err(Failure::Failed("the URL has no host".into())),
    };
    if addrs.is_empty() {
        return Err(Failure::Failed(format!("{host} has no address")));
    }
    for addr in &addrs {
        match (reach(addr.ip()), admission) {
            (Reach::Never, _) => {
                return Err(Failure::Refused(format!(
                    "{host} resolves to {}, never fetched from",
                    addr.ip()
                )))
            }
            (Reach::Private, Admission::PublicOnly) => {
                return Err(Failure::Refused(format!(
                    "{host} resolves to the non-public {} and is admitted by * only",
                    addr.ip()
                )))
            }
            _ => {}
        }
    }
    Ok(addrs)
}

/// A client for one request to `url`: it connects only to `addrs` (no lookup of its
/// own) and follows no redirect itself. Through a proxy (the server connection's rule),
/// the addresses were checked all the same, and the proxy connects by name.
fn pinned_client(
    url: &Url,
    addrs: &[SocketAddr],
    ca_file: Option<&std::path::Path>,
    proxy: Option<(&crate::proxy::Proxy, &[SocketAddr])>,
) -> Result<reqwest::Client, Failure> {
    // The agent's TLS settings: certificates checked as the OS does, as for its server.
    let tls = crate::tls::client_config(ca_file).map_err(|e| Failure::Failed(e.to_string()))?;
    let mut builder = reqwest::Client::builder()
        .use_preconfigured_tls((*tls).clone())
        .timeout(FETCH_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(NoLookups));
    if let Some((proxy, proxy_addrs)) = proxy {
        let through = reqwest::Proxy::all(proxy.url())
            .map_err(|e| Failure::Failed(format!("the proxy {proxy}: {}", error_chain(&e))))?;
        // The proxy is reached at the addresses looked up for it.
        builder = builder
            .proxy(through)
            .resolve_to_addrs(proxy.host(), proxy_addrs);
    }
    if let (Some(Host::Domain(name)), false) = (url.host(), addrs.is_empty()) {
        builder = builder.resolve_to_addrs(name, addrs);
    }
    builder
        .build()
        .map_err(|e| Failure::Failed(error_chain(&e)))
}

/// The resolver behind the pinned addresses: any name they do not cover is an error.
struct NoLookups;

impl reqwest::dns::Resolve for NoLookups {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let message = format!("{} was not checked before connecting", name.as_str());
        Box::pin(async move { Err(message.into()) })
    }
}

/// Where a redirect leads: an http or https URL (the next hop checks its host).
fn redirect_target(from: &Url, response: &reqwest::Response) -> Result<Url, Failure> {
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            Failure::Failed(format!(
                "HTTP {} without a usable Location",
                response.status()
            ))
        })?;
    let target = from
        .join(location)
        .map_err(|e| Failure::Failed(format!("redirect to a bad URL: {e}")))?;
    if !matches!(target.scheme(), "http" | "https") {
        return Err(Failure::Refused(format!(
            "redirect to a {} URL",
            target.scheme()
        )));
    }
    Ok(target)
}

async fn read_body(response: reqwest::Response, max_bytes: u64) -> Result<Vec<u8>, Failure> {
    if response.content_length().is_some_and(|len| len > max_bytes) {
        return Err(Failure::TooLarge);
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| Failure::Failed(error_chain(&e.without_url())))?;
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(Failure::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests;
