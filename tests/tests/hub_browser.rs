//! What browsers meet at the hub: CORS for pages of other origins, and the Host check
//! against DNS rebinding (421 for a request naming a host the hub does not answer to,
//! Socket.IO included, with or without tokens).

use anyhow::{bail, Result};
use printrelay_e2e::{http_client, Hub};
use reqwest::Method;
use serde_json::Value;

/// Long enough for any listen address.
const TOKEN: &str = "api-secret-0123456789";

/// The status of `method path` sent to `hub` with `Host: host`, and the body when it is
/// JSON.
async fn as_host(hub: &Hub, method: Method, path: &str, host: &str) -> Result<(u16, Value)> {
    let response = hub
        .request(method, path)
        .header("host", host)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

/// Opens the Socket.IO websocket naming `host`; the status of a refused handshake.
async fn websocket_as_host(hub: &Hub, host: &str) -> Result<Option<u16>> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Error;
    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        hub.port
    );
    let mut request = url.into_client_request()?;
    request.headers_mut().insert("host", host.parse()?);
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(None),
        Err(Error::Http(response)) => Ok(Some(response.status().as_u16())),
        Err(other) => bail!("websocket as {host}: {other}"),
    }
}

#[tokio::test]
async fn requests_for_another_host_are_421_everywhere_socket_io_included() -> Result<()> {
    let db = tempfile::tempdir()?;
    let hub = Hub::start(&db.path().join("hub.db"), 2_000, 1_000).await?;
    let port = hub.port;
    let evil = format!("evil.example:{port}");
    let paths = [
        "/getStatus",
        "/startPrint?clientId=pc&printData=x",
        "/healthz",
        "/api/v1/openapi.json",
        "/api/v1/clients",
        "/socket.io/?EIO=4&transport=polling",
        "/no/such/path",
    ];
    for path in paths {
        let (status, body) = as_host(&hub, Method::GET, path, &evil).await?;
        assert_eq!(status, 421, "{path}: {body}");
        assert_eq!(
            body["error"]["code"], "misdirected_request",
            "{path}: {body}"
        );
        for own in [
            format!("localhost:{port}"),
            format!("127.0.0.1:{port}"),
            format!("[::1]:{port}"),
        ] {
            let (status, body) = as_host(&hub, Method::GET, path, &own).await?;
            assert_ne!(status, 421, "{path} as {own}: {body}");
        }
    }
    // The right name on another port (a port forward nobody declared), and no port.
    for host in [
        format!("localhost:{}", port.wrapping_add(1)),
        "localhost".into(),
    ] {
        let (status, _) = as_host(&hub, Method::GET, "/healthz", &host).await?;
        assert_eq!(status, 421, "{host}");
    }
    // A job posted through a rebound name is not queued; a preflight gets no CORS answer.
    let job = serde_json::json!({"clientId": "pc", "jobId": "rebound", "contentType": "text", "content": "x"});
    let response = hub
        .request(Method::POST, "/api/v1/jobs")
        .header("host", &evil)
        .json(&job)
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 421);
    assert_eq!(hub.job("rebound").await?, None);
    let preflight = hub
        .request(Method::OPTIONS, "/getStatus")
        .header("host", &evil)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await?;
    assert_eq!(preflight.status().as_u16(), 421);
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert_eq!(websocket_as_host(&hub, &evil).await?, Some(421));
    assert_eq!(
        websocket_as_host(&hub, &format!("localhost:{port}")).await?,
        None
    );

    // With tokens, a valid token does not make another host acceptable.
    let db = tempfile::tempdir()?;
    let flags = ["--api-token", TOKEN, "--agent-token", TOKEN];
    let guarded = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let evil = format!("evil.example:{}", guarded.port);
    for path in [
        "/getStatus",
        "/api/v1/clients",
        "/socket.io/?EIO=4&transport=polling",
    ] {
        let (status, _) = as_host(&guarded, Method::GET, path, &evil).await?;
        assert_eq!(status, 421, "{path}");
    }
    assert_eq!(websocket_as_host(&guarded, &evil).await?, Some(421));
    Ok(())
}

#[tokio::test]
async fn a_public_name_is_answered_to_and_a_malformed_one_stops_the_hub() -> Result<()> {
    let db = tempfile::tempdir()?;
    let flags = [
        "--public-name",
        "print.example.com",
        "--public-name",
        "office-pc:8443",
    ];
    let hub = Hub::start_with(&db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    for (host, status) in [
        ("print.example.com", 200),
        ("PRINT.example.com:9999", 200),
        ("office-pc:8443", 200),
        ("office-pc:8444", 421),
        ("office-pc", 421),
        ("other.example.com", 421),
    ] {
        let (got, body) = as_host(&hub, Method::GET, "/getStatus", host).await?;
        assert_eq!(got, status, "{host}: {body}");
    }

    let mut command =
        std::process::Command::new(printrelay_e2e::workspace_binary("printrelay-hub")?);
    printrelay_e2e::without_hub_env(&mut command);
    let out = command
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(db.path().join("other.db"))
        .args(["--public-name", "https://print.example.com/"])
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--public-name"), "{stderr}");
    Ok(())
}

/// A hub on every interface answers to any address of the machine (an IP literal
/// cannot be rebound) and to localhost, but to no other name.
#[tokio::test]
async fn an_unspecified_listen_address_answers_to_addresses_not_to_names() -> Result<()> {
    let db = tempfile::tempdir()?;
    let flags = ["--api-token", TOKEN, "--agent-token", TOKEN];
    let hub =
        Hub::start_listening("0.0.0.0:0", &db.path().join("hub.db"), 2_000, 1_000, &flags).await?;
    let port = hub.port;
    for (host, status) in [
        (format!("192.0.2.7:{port}"), 200),
        (format!("[2001:db8::7]:{port}"), 200),
        (format!("localhost:{port}"), 200),
        (format!("printserver:{port}"), 421),
        (format!("192.0.2.7:{}", port.wrapping_add(1)), 421),
    ] {
        let (got, body) = as_host(&hub, Method::GET, "/api/v1/clients", &host).await?;
        assert_eq!(got, status, "{host}: {body}");
    }
    Ok(())
}

/// `Access-Control-Allow-Origin` of a page's GET on `/api/v1/clients`.
async fn allowed_origin(hub: &Hub) -> Result<Option<String>> {
    let response = hub
        .request(Method::GET, "/api/v1/clients")
        .header("origin", "https://erp.example")
        .send()
        .await?;
    assert_eq!(response.status().as_u16(), 200);
    Ok(response
        .headers()
        .get("access-control-allow-origin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned))
}

#[tokio::test]
async fn cors_is_open_without_api_tokens_and_closed_with_them_unless_configured() -> Result<()> {
    let db = tempfile::tempdir()?;
    let start = async |name: &str, flags: &[&str]| {
        Hub::start_with(&db.path().join(name), 2_000, 1_000, flags).await
    };
    let open = start("open.db", &[]).await?;
    assert_eq!(allowed_origin(&open).await?.as_deref(), Some("*"));
    let closed = start("closed.db", &["--cors-origin", "none"]).await?;
    assert_eq!(allowed_origin(&closed).await?, None);
    let guarded = start("guarded.db", &["--api-token", TOKEN]).await?;
    assert_eq!(allowed_origin(&guarded).await?, None);
    let opened = start("opened.db", &["--api-token", TOKEN, "--cors-origin", "*"]).await?;
    assert_eq!(allowed_origin(&opened).await?.as_deref(), Some("*"));
    // What the page itself is allowed to send: a token, JSON.
    let preflight = http_client()
        .request(Method::OPTIONS, format!("{}/api/v1/jobs", opened.url()))
        .header("origin", "https://erp.example")
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .header("access-control-request-private-network", "true")
        .send()
        .await?;
    assert!(preflight.status().is_success(), "{}", preflight.status());
    assert_eq!(
        preflight
            .headers()
            .get("access-control-allow-private-network")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    Ok(())
}
