//! Fetch tests against real HTTP servers on loopback ports: admitted and refused hosts,
//! redirects checked hop by hop, pinned addresses and what the server is told.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A one-answer HTTP server on 127.0.0.1 that counts the requests it got.
struct Server {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Server {
    async fn start(status: u16, headers: &[(&str, String)], body: &[u8]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        let answer: Arc<Vec<u8>> = Arc::new([head.as_bytes(), body].concat());
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let answer = Arc::clone(&answer);
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.write_all(&answer).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Self { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn url(&self, host: &str, path: &str) -> Url {
        Url::parse(&format!("http://{host}:{}{path}", self.port)).expect("URL")
    }
}

/// The agent's policy with its dispatch server on 127.0.0.1 and `allowed` listed.
fn policy(allowed: &[&str]) -> FetchPolicy {
    let server = Url::parse("http://127.0.0.1:3000").expect("URL");
    let allowed: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
    FetchPolicy::new(&[server], &allowed)
}

async fn get(url: &Url, policy: &FetchPolicy, dns: &Dns) -> Result<Document, JobError> {
    fetch_with(url, RemoteKind::Raw, 1024, policy, dns).await
}

fn assert_refused(result: Result<Document, JobError>) {
    let error = result.expect_err("refused");
    assert_eq!(error.code, ErrorCode::FetchRefused);
    assert_eq!(error.message, REFUSED);
}

#[tokio::test]
async fn the_dispatch_servers_host_is_fetched_from() {
    let server = Server::start(200, &[], b"^XA^XZ").await;
    let got = get(&server.url("127.0.0.1", "/a"), &policy(&[]), &Dns::System).await;
    assert_eq!(got, Ok(Document::Raw(b"^XA^XZ".to_vec())));
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn an_unlisted_host_is_refused_before_any_connection() {
    let server = Server::start(200, &[], b"secret").await;
    for host in ["localhost", "127.0.0.2", "[::ffff:127.0.0.1]"] {
        assert_refused(
            get(
                &server.url(host, "/api/v1/clients"),
                &policy(&[]),
                &Dns::System,
            )
            .await,
        );
    }
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn a_listed_name_is_fetched_from_the_address_that_was_checked() {
    let server = Server::start(200, &[], b"intranet").await;
    // A name no real resolver knows: the connection can only go where the check said.
    let dns = Dns::Fixed(vec![("docs.office.test".into(), [127, 0, 0, 1].into())]);
    let url = server.url("docs.office.test", "/a");
    let got = get(&url, &policy(&["docs.office.test"]), &dns).await;
    assert_eq!(got, Ok(Document::Raw(b"intranet".to_vec())));
    // Under `*` alone the same name is refused: its address is loopback.
    assert_refused(get(&url, &policy(&["*"]), &dns).await);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn a_star_admits_public_addresses_only() {
    let dns = Dns::Fixed(vec![
        ("cdn.example.test".into(), [93, 184, 215, 14].into()),
        ("nas.example.test".into(), [192, 168, 1, 20].into()),
        ("rebind.example.test".into(), [93, 184, 215, 14].into()),
        ("rebind.example.test".into(), [127, 0, 0, 1].into()),
        ("meta.example.test".into(), [169, 254, 169, 254].into()),
    ]);
    let star = policy(&["*"]);
    let url = |host: &str| Url::parse(&format!("https://{host}/doc.pdf")).expect("URL");
    let public = checked_addresses(&url("cdn.example.test"), &star, &dns).await;
    assert_eq!(
        public.ok(),
        Some(vec![SocketAddr::from(([93, 184, 215, 14], 443))])
    );
    for host in [
        "nas.example.test",
        "rebind.example.test",
        "meta.example.test",
        "10.1.2.3",
        "[fd00::1]",
    ] {
        let checked = checked_addresses(&url(host), &star, &dns).await;
        assert!(
            matches!(checked, Err(Failure::Refused(_))),
            "{host}: {checked:?}"
        );
    }
    // Without `*` a public name is not admitted either.
    let default = checked_addresses(&url("cdn.example.test"), &policy(&[]), &dns).await;
    assert!(matches!(default, Err(Failure::Refused(_))));
}

#[tokio::test]
async fn a_redirect_to_an_unlisted_host_is_refused() {
    let inner = Server::start(200, &[], b"secret").await;
    for target in [
        inner.url("localhost", "/api/v1/clients"),
        inner.url("127.0.0.2", "/"),
    ] {
        let outer = Server::start(302, &[("Location", target.to_string())], b"").await;
        assert_refused(get(&outer.url("127.0.0.1", "/doc"), &policy(&[]), &Dns::System).await);
        assert_eq!(outer.hits(), 1);
    }
    let to_file = Server::start(301, &[("Location", "file:///etc/passwd".into())], b"").await;
    assert_refused(
        get(
            &to_file.url("127.0.0.1", "/doc"),
            &policy(&[]),
            &Dns::System,
        )
        .await,
    );
    assert_eq!(inner.hits(), 0);
}

#[tokio::test]
async fn redirects_within_admitted_hosts_are_followed_up_to_five() {
    let inner = Server::start(200, &[], b"label").await;
    let outer = Server::start(
        307,
        &[("Location", inner.url("localhost", "/x").to_string())],
        b"",
    )
    .await;
    let got = get(
        &outer.url("127.0.0.1", "/"),
        &policy(&["localhost"]),
        &Dns::System,
    )
    .await;
    assert_eq!(got, Ok(Document::Raw(b"label".to_vec())));
    let looping = Server::start(302, &[("Location", "/again".into())], b"").await;
    let error = get(&looping.url("127.0.0.1", "/"), &policy(&[]), &Dns::System)
        .await
        .expect_err("too many redirects");
    assert_eq!(error.code, ErrorCode::FetchFailed);
    assert_eq!(looping.hits(), MAX_REDIRECTS + 1);
}

#[tokio::test]
async fn failures_tell_the_server_nothing_about_the_network() {
    // A port that was just free: the connection is refused.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let url = Url::parse(&format!("http://127.0.0.1:{port}/a")).expect("URL");
    let error = get(&url, &policy(&[]), &Dns::System)
        .await
        .expect_err("closed");
    assert_eq!(error.code, ErrorCode::FetchFailed);
    assert_eq!(error.message, "the document could not be fetched");
    let missing = Server::start(404, &[], b"not here").await;
    let error = get(&missing.url("127.0.0.1", "/a"), &policy(&[]), &Dns::System)
        .await
        .expect_err("404");
    assert_eq!(error.code, ErrorCode::FetchFailed);
    assert_eq!(error.message, "the document server answered HTTP 404");
}

#[tokio::test]
async fn size_and_kind_are_still_checked() {
    let big = Server::start(200, &[], &[b'x'; 2048]).await;
    let error = get(&big.url("127.0.0.1", "/"), &policy(&[]), &Dns::System)
        .await
        .expect_err("too large");
    assert_eq!(error.code, ErrorCode::ContentTooLarge);
    let html = Server::start(200, &[], b"<html>").await;
    let error = fetch_with(
        &html.url("127.0.0.1", "/a.pdf"),
        RemoteKind::Pdf,
        1024,
        &policy(&[]),
        &Dns::System,
    )
    .await
    .expect_err("not a PDF");
    assert_eq!(error.code, ErrorCode::InvalidContent);
}
