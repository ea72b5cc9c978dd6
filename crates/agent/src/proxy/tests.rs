//! Proxy tests: the setting's text, the rules of the environment and of Windows'
//! Internet Settings (pure), and CONNECT tunnels against a scripted proxy on a loopback
//! port.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

fn setting(text: &str) -> ProxySetting {
    ProxySetting::parse(text).expect("a valid setting")
}

fn proxy(text: &str) -> Proxy {
    match setting(text) {
        ProxySetting::Url(proxy) => proxy,
        other => panic!("not a URL setting: {other:?}"),
    }
}

fn url(text: &str) -> Url {
    Url::parse(text).expect("a URL")
}

/// The rule of the `system` setting in this environment (no Windows values).
fn env_rule(vars: &[(&str, &str)]) -> ProxyRule {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ProxyRule::resolve(&ProxySetting::System, |name| vars.get(name).cloned(), None)
}

/// `host:port` of the proxy `rule` picks for `target`, or "direct".
fn via(rule: &ProxyRule, target: &str) -> String {
    rule.proxy_for(&url(target)).map_or_else(
        || "direct".to_owned(),
        |p| format!("{}:{}", p.host(), p.port()),
    )
}

fn windows_rule(server: &str, bypass: Option<&str>) -> ProxyRule {
    let settings = InternetSettings {
        proxy_enable: true,
        proxy_server: Some(server.to_owned()),
        proxy_override: bypass.map(str::to_owned),
    };
    ProxyRule::resolve(&ProxySetting::System, |_| None, Some(&settings))
}

// --- The setting's text ---

#[test]
fn keywords_parse_in_any_case_and_empty_is_system() {
    assert_eq!(setting("system"), ProxySetting::System);
    assert_eq!(setting(" SYSTEM "), ProxySetting::System);
    assert_eq!(setting(""), ProxySetting::System);
    assert_eq!(setting("None"), ProxySetting::None);
    assert_eq!(ProxySetting::default(), ProxySetting::System);
}

#[test]
fn a_proxy_url_gives_host_port_and_default_port_80() {
    let with_port = proxy("http://proxy.corp:3128");
    assert_eq!((with_port.host(), with_port.port()), ("proxy.corp", 3128));
    assert!(!with_port.has_credentials());
    let without_port = proxy("http://Proxy.Corp/");
    assert_eq!(
        (without_port.host(), without_port.port()),
        ("proxy.corp", 80)
    );
    let v6 = proxy("http://[fd00::1]:8080");
    assert_eq!((v6.host(), v6.port()), ("fd00::1", 8080));
    assert_eq!(v6.to_string(), "http://[fd00::1]:8080");
}

#[test]
fn unsupported_or_broken_settings_are_refused_with_a_reason() {
    assert_eq!(
        ProxySetting::parse("https://proxy:443"),
        Err(ProxySettingError::UnsupportedScheme {
            scheme: "https".to_owned()
        })
    );
    assert_eq!(
        ProxySetting::parse("SOCKS5://proxy:1080"),
        Err(ProxySettingError::UnsupportedScheme {
            scheme: "socks5".to_owned()
        })
    );
    assert_eq!(
        ProxySetting::parse("http://"),
        Err(ProxySettingError::NoHost)
    );
    assert_eq!(
        ProxySetting::parse("http://:3128"),
        Err(ProxySettingError::NoHost)
    );
    // A typo in a keyword is not a proxy host.
    assert_eq!(
        ProxySetting::parse("sytem"),
        Err(ProxySettingError::NotAUrl)
    );
    assert_eq!(
        ProxySetting::parse("proxy.corp:3128"),
        Err(ProxySettingError::NotAUrl)
    );
    assert!(matches!(
        ProxySetting::parse("http://proxy:99999"),
        Err(ProxySettingError::InvalidUrl(_))
    ));
    assert!(matches!(
        ProxySetting::parse("http://bad host:80"),
        Err(ProxySettingError::InvalidUrl(_))
    ));
    assert_eq!(
        ProxySetting::parse("http://wpad.corp/proxy.pac"),
        Err(ProxySettingError::NotOnlyAddress)
    );
}

#[test]
fn an_error_never_repeats_the_password() {
    for text in [
        "socks5://user:s3cret@proxy:1080",
        "http://user:s3cret@proxy:99999",
        "user:s3cret@proxy://x",
    ] {
        let error = ProxySetting::parse(text).expect_err("refused");
        assert!(!error.to_string().contains("s3cret"), "{text}: {error}");
    }
}

#[test]
fn display_and_debug_hide_the_password_and_the_stored_text_keeps_it() {
    let value = setting("http://alice:s3cret@proxy.corp:3128");
    assert_eq!(value.to_string(), "http://alice:***@proxy.corp:3128");
    assert!(!format!("{value:?}").contains("s3cret"));
    let ProxySetting::Url(ref proxy) = value else {
        panic!("a URL setting")
    };
    assert_eq!(proxy.to_string(), "http://proxy.corp:3128");
    assert!(!format!("{proxy:?}").contains("s3cret"));
    let stored = String::from(value.clone());
    assert_eq!(stored, "http://alice:s3cret@proxy.corp:3128");
    assert_eq!(setting(&stored), value);
    assert_eq!(String::from(ProxySetting::System), "system");
    assert_eq!(String::from(ProxySetting::None), "none");
}

#[test]
fn serde_round_trips_through_text_and_refuses_a_bad_value() {
    let value = setting("http://bob:p%40ss@10.0.0.5:8080");
    let json = serde_json::to_string(&value).expect("serialize");
    assert_eq!(json, "\"http://bob:p%40ss@10.0.0.5:8080\"");
    let back: ProxySetting = serde_json::from_str(&json).expect("deserialize");
    assert_eq!(back, value);
    assert!(serde_json::from_str::<ProxySetting>("\"socks5://x:1\"").is_err());
    let system: ProxySetting = serde_json::from_str("\"system\"").expect("deserialize");
    assert_eq!(system, ProxySetting::System);
}

#[test]
fn credentials_are_percent_decoded_for_basic_authorization() {
    let with = proxy("http://us%20er:p%40ss%3Aword@proxy:3128");
    // base64("us er:p@ss:word")
    assert_eq!(
        with.basic_authorization().as_deref(),
        Some("Basic dXMgZXI6cEBzczp3b3Jk")
    );
    assert_eq!(
        with.url().as_str(),
        "http://us%20er:p%40ss%3Aword@proxy:3128/"
    );
    assert_eq!(proxy("http://proxy:3128").basic_authorization(), None);
    // A user without a password still authenticates, with an empty password.
    assert_eq!(
        proxy("http://alice@proxy:3128")
            .basic_authorization()
            .as_deref(),
        Some("Basic YWxpY2U6")
    );
}

#[test]
fn a_broken_escape_is_kept_as_it_is() {
    assert_eq!(percent_decode("a%2"), "a%2");
    assert_eq!(percent_decode("a%zz%41"), "a%zzA");
    assert_eq!(percent_decode("%+1"), "%+1");
}

// --- Which proxy a target takes ---

#[test]
fn none_is_direct_and_a_url_takes_every_non_loopback_target() {
    let none = ProxyRule::resolve(&ProxySetting::None, |_| Some("http://env:1".into()), None);
    assert!(none.is_direct());
    assert_eq!(via(&none, "wss://print.example"), "direct");
    let explicit = ProxyRule::resolve(
        &setting("http://proxy.corp:3128"),
        // NO_PROXY does not apply to a proxy the user named.
        |name| (name == "no_proxy").then(|| "*".to_owned()),
        None,
    );
    assert_eq!(via(&explicit, "wss://print.example"), "proxy.corp:3128");
    assert_eq!(
        via(&explicit, "http://docs.example/a.pdf"),
        "proxy.corp:3128"
    );
    assert_eq!(via(&explicit, "ftp://files.example"), "direct");
}

#[test]
fn loopback_targets_are_always_direct() {
    let rule = ProxyRule::resolve(&setting("http://proxy.corp:3128"), |_| None, None);
    for target in [
        "ws://localhost:3000",
        "ws://LOCALHOST.:3000",
        "wss://hub.localhost",
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "ws://[::1]:3000",
        "ws://[::ffff:127.0.0.1]:3000",
    ] {
        assert_eq!(via(&rule, target), "direct", "{target}");
    }
    assert_eq!(via(&rule, "ws://localhost.example.com"), "proxy.corp:3128");
    assert_eq!(via(&rule, "ws://128.0.0.1"), "proxy.corp:3128");
}

#[test]
fn environment_names_by_scheme_with_lower_case_first() {
    let rule = env_rule(&[
        ("http_proxy", "http://lower-http:1"),
        ("HTTP_PROXY", "http://upper-http:2"),
        ("HTTPS_PROXY", "http://upper-https:3"),
        ("all_proxy", "http://all:4"),
    ]);
    assert_eq!(via(&rule, "http://a.example"), "lower-http:1");
    assert_eq!(via(&rule, "ws://a.example"), "lower-http:1");
    assert_eq!(via(&rule, "https://a.example"), "upper-https:3");
    assert_eq!(via(&rule, "wss://a.example"), "upper-https:3");

    let all_only = env_rule(&[("ALL_PROXY", "http://all:4"), ("https_proxy", "")]);
    assert_eq!(via(&all_only, "wss://a.example"), "all:4");
    assert_eq!(via(&all_only, "ws://a.example"), "all:4");

    // Only http_proxy: https targets go directly, as with curl and Go.
    let http_only = env_rule(&[("http_proxy", "proxy.corp:3128")]);
    assert_eq!(via(&http_only, "ws://a.example"), "proxy.corp:3128");
    assert_eq!(via(&http_only, "wss://a.example"), "direct");

    assert!(env_rule(&[("no_proxy", "*")]).is_direct());
    assert!(env_rule(&[]).is_direct());
}

#[test]
fn an_environment_proxy_of_another_scheme_is_not_used() {
    let rule = env_rule(&[
        ("https_proxy", "socks5://socks.corp:1080"),
        ("all_proxy", "http://all:4"),
        ("http_proxy", "https://tls-proxy:443"),
    ]);
    // The variable that is set decides; its unusable value is not replaced by all_proxy.
    assert_eq!(via(&rule, "wss://a.example"), "direct");
    assert_eq!(via(&rule, "ws://a.example"), "direct");
    let garbage = env_rule(&[("https_proxy", "not a proxy")]);
    assert_eq!(via(&garbage, "wss://a.example"), "direct");
}

#[test]
fn an_environment_proxy_keeps_its_credentials() {
    let rule = env_rule(&[("https_proxy", "http://bob:pw@proxy:3128/")]);
    let chosen = rule
        .proxy_for(&url("wss://print.example"))
        .expect("a proxy");
    assert_eq!(
        chosen.basic_authorization().as_deref(),
        Some("Basic Ym9iOnB3")
    );
}

fn no_proxy_rule(no_proxy: &str) -> ProxyRule {
    env_rule(&[("all_proxy", "http://proxy:3128"), ("NO_PROXY", no_proxy)])
}

#[test]
fn no_proxy_names_match_the_host_and_its_subdomains() {
    let rule = no_proxy_rule("corp.example, .internal.test  Printers.LAN,*.wild.test");
    for direct in [
        "wss://corp.example",
        "wss://hub.corp.example",
        "wss://a.b.CORP.example",
        "ws://internal.test",
        "ws://x.internal.test",
        "ws://printers.lan:8080",
        "ws://one.wild.test",
    ] {
        assert_eq!(via(&rule, direct), "direct", "{direct}");
    }
    for proxied in [
        "wss://notcorp.example",
        "wss://corp.example.com",
        "ws://xinternal.test",
    ] {
        assert_eq!(via(&rule, proxied), "proxy:3128", "{proxied}");
    }
}

#[test]
fn no_proxy_lower_case_wins_over_upper_case() {
    let rule = env_rule(&[
        ("all_proxy", "http://proxy:3128"),
        ("no_proxy", "a.example"),
        ("NO_PROXY", "b.example"),
    ]);
    assert_eq!(via(&rule, "wss://a.example"), "direct");
    assert_eq!(via(&rule, "wss://b.example"), "proxy:3128");
}

#[test]
fn no_proxy_addresses_and_blocks_match_address_targets() {
    let rule = no_proxy_rule("192.168.1.5,10.0.0.0/8,fd00::/8,[2001:db8::1],::2,172.16.0.0/33");
    for direct in [
        "ws://192.168.1.5",
        "ws://10.200.3.4:3000",
        "ws://[fd12::5]",
        "ws://[2001:db8::1]",
        "ws://[::2]",
    ] {
        assert_eq!(via(&rule, direct), "direct", "{direct}");
    }
    for proxied in [
        "ws://192.168.1.6",
        "ws://11.0.0.1",
        "ws://[fe00::1]",
        // A block applies to address targets only; names are not resolved.
        "ws://ten.example",
        // A /33 is not a block; the entry is left out.
        "ws://172.16.0.1",
    ] {
        assert_eq!(via(&rule, proxied), "proxy:3128", "{proxied}");
    }
    let everything = no_proxy_rule("0.0.0.0/0");
    assert_eq!(via(&everything, "ws://8.8.8.8"), "direct");
    assert_eq!(via(&everything, "ws://[2001:4860::8888]"), "proxy:3128");
}

#[test]
fn no_proxy_ports_restrict_an_entry_to_that_port() {
    let rule = no_proxy_rule("hub.example:8443,10.1.1.1:80,[fd00::7]:3000");
    assert_eq!(via(&rule, "wss://hub.example:8443"), "direct");
    assert_eq!(via(&rule, "wss://hub.example"), "proxy:3128");
    // The scheme's default port counts.
    assert_eq!(via(&rule, "ws://10.1.1.1"), "direct");
    assert_eq!(via(&rule, "ws://10.1.1.1:81"), "proxy:3128");
    assert_eq!(via(&rule, "ws://[fd00::7]:3000"), "direct");
    assert_eq!(via(&rule, "ws://[fd00::7]:3001"), "proxy:3128");
}

#[test]
fn no_proxy_star_sends_everything_directly() {
    let rule = no_proxy_rule("example.org, *");
    assert_eq!(via(&rule, "wss://print.example"), "direct");
    assert_eq!(via(&rule, "ws://8.8.8.8"), "direct");
}

// --- Windows' Internet Settings ---

#[test]
fn one_windows_proxy_serves_every_protocol() {
    let rule = windows_rule("proxy.corp:8080", None);
    assert_eq!(via(&rule, "ws://a.example"), "proxy.corp:8080");
    assert_eq!(via(&rule, "wss://a.example"), "proxy.corp:8080");
    assert_eq!(via(&rule, "ws://localhost:3000"), "direct");
}

#[test]
fn windows_per_protocol_proxies_follow_wininet() {
    let both = windows_rule("http=web:80;https=secure:8443;socks=socks:1080", None);
    assert_eq!(via(&both, "ws://a.example"), "web:80");
    assert_eq!(via(&both, "wss://a.example"), "secure:8443");

    // A protocol without an entry goes directly...
    let http_only = windows_rule("http=web:3128", None);
    assert_eq!(via(&http_only, "http://a.example"), "web:3128");
    assert_eq!(via(&http_only, "wss://a.example"), "direct");
    // ... unless the list has a bare entry.
    let with_default = windows_rule("https=http://secure:8443 fallback:3128", None);
    assert_eq!(via(&with_default, "wss://a.example"), "secure:8443");
    assert_eq!(via(&with_default, "ws://a.example"), "fallback:3128");

    assert!(windows_rule("socks=socks:1080", None).is_direct());
    assert!(windows_rule("https=https://tls:443", None).is_direct());
}

#[test]
fn windows_proxy_needs_proxy_enable_and_a_server() {
    let off = InternetSettings {
        proxy_enable: false,
        proxy_server: Some("proxy:8080".into()),
        proxy_override: None,
    };
    assert!(ProxyRule::resolve(&ProxySetting::System, |_| None, Some(&off)).is_direct());
    let empty = InternetSettings {
        proxy_enable: true,
        proxy_server: Some("  ".into()),
        proxy_override: None,
    };
    assert!(ProxyRule::resolve(&ProxySetting::System, |_| None, Some(&empty)).is_direct());
}

#[test]
fn environment_proxy_variables_win_over_windows_settings() {
    let settings = InternetSettings {
        proxy_enable: true,
        proxy_server: Some("windows:8080".into()),
        proxy_override: None,
    };
    let with_env = ProxyRule::resolve(
        &ProxySetting::System,
        |name| (name == "HTTPS_PROXY").then(|| "http://env:3128".to_owned()),
        Some(&settings),
    );
    assert_eq!(via(&with_env, "wss://a.example"), "env:3128");
    // NO_PROXY alone is no proxy variable.
    let no_proxy_only = ProxyRule::resolve(
        &ProxySetting::System,
        |name| (name == "NO_PROXY").then(|| "a.example".to_owned()),
        Some(&settings),
    );
    assert_eq!(via(&no_proxy_only, "wss://a.example"), "windows:8080");
}

#[test]
fn windows_override_patterns_and_local() {
    let rule = windows_rule(
        "proxy:8080",
        Some("*.corp.local; 10.*;192.168.1.5;<local>;PRINT-HUB.example;fd00:*"),
    );
    for direct in [
        "wss://hub.corp.local",
        "wss://HUB.Corp.Local",
        "ws://10.1.2.3",
        "ws://192.168.1.5:3000",
        "ws://printserver",
        "ws://print-hub.example",
        "ws://[fd00::9]",
    ] {
        assert_eq!(via(&rule, direct), "direct", "{direct}");
    }
    for proxied in [
        // `*.corp.local` needs a label before it.
        "wss://corp.local",
        "ws://110.1.2.3",
        "ws://192.168.1.50",
        "ws://print.example",
    ] {
        assert_eq!(via(&rule, proxied), "proxy:8080", "{proxied}");
    }
    let without_local = windows_rule("proxy:8080", Some("*.corp.local"));
    assert_eq!(via(&without_local, "ws://printserver"), "proxy:8080");
}

#[test]
fn wildcards_match_any_run_of_characters() {
    assert!(system::wildcard("*", ""));
    assert!(system::wildcard("a*c", "abbbc"));
    assert!(system::wildcard("*.b.*", "a.b.c"));
    assert!(system::wildcard("a**", "a"));
    assert!(!system::wildcard("a*c", "abcd"));
    assert!(!system::wildcard("abc", "ab"));
    assert!(!system::wildcard("*x", "abc"));
}

// --- The CONNECT tunnel ---

/// A scripted proxy: accepts one connection, reads the request head, answers `answer`
/// and then echoes the tunnel. Returns its port and the head it was sent.
async fn scripted_proxy(answer: &'static [u8]) -> (u16, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            socket.read_exact(&mut byte).await.expect("request");
            head.push(byte[0]);
        }
        socket.write_all(answer).await.expect("answer");
        let mut buf = [0u8; 64];
        while let Ok(n) = socket.read(&mut buf).await {
            if n == 0 || socket.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        String::from_utf8(head).expect("text")
    });
    (port, task)
}

fn local_proxy(port: u16, credentials: &str) -> Proxy {
    proxy(&format!("http://{credentials}127.0.0.1:{port}"))
}

/// `connect_via`, bounded: reading past the header block would wait forever for bytes
/// the scripted proxy never sends.
async fn tunnel(
    proxy: &Proxy,
    host: &str,
    port: u16,
) -> Result<tokio::net::TcpStream, TunnelError> {
    tokio::time::timeout(Duration::from_secs(5), connect_via(proxy, host, port))
        .await
        .expect("connect_via returned in time")
}

#[tokio::test]
async fn a_200_answer_opens_the_tunnel_without_eating_its_first_bytes() {
    let (port, head) = scripted_proxy(
        b"HTTP/1.1 200 Connection established\r\nVia: test\r\n\r\nFIRST-TUNNEL-BYTES",
    )
    .await;
    let mut stream = tunnel(&local_proxy(port, ""), "print.example", 443)
        .await
        .expect("a tunnel");
    let mut first = [0u8; 18];
    // Bytes taken with the header block would never come: bound the wait.
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut first))
        .await
        .expect("the tunnel's first bytes were not eaten")
        .expect("tunnel bytes");
    assert_eq!(&first, b"FIRST-TUNNEL-BYTES");
    stream.write_all(b"ping").await.expect("write");
    let mut echo = [0u8; 4];
    stream.read_exact(&mut echo).await.expect("echo");
    assert_eq!(&echo, b"ping");
    drop(stream);
    let head = head.await.expect("proxy task");
    assert_eq!(
        head,
        "CONNECT print.example:443 HTTP/1.1\r\nHost: print.example:443\r\n\r\n"
    );
}

#[tokio::test]
async fn credentials_are_sent_and_ipv6_targets_are_bracketed() {
    let (port, head) = scripted_proxy(b"HTTP/1.0 200 OK\r\n\r\n").await;
    let stream = tunnel(&local_proxy(port, "alice:s3cret@"), "fd00::5", 3000)
        .await
        .expect("a tunnel");
    drop(stream);
    let head = head.await.expect("proxy task");
    assert!(
        head.starts_with("CONNECT [fd00::5]:3000 HTTP/1.1\r\nHost: [fd00::5]:3000\r\n"),
        "{head}"
    );
    // base64("alice:s3cret")
    assert!(
        head.contains("\r\nProxy-Authorization: Basic YWxpY2U6czNjcmV0\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn a_407_answer_asks_for_credentials() {
    let (port, _head) = scripted_proxy(
        b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n",
    )
    .await;
    let result = tunnel(&local_proxy(port, ""), "print.example", 443).await;
    assert!(
        matches!(result, Err(TunnelError::ProxyAuthentication)),
        "{result:?}"
    );
}

#[tokio::test]
async fn another_status_is_a_refusal_with_that_status() {
    let (port, _head) =
        scripted_proxy(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n").await;
    let result = tunnel(&local_proxy(port, ""), "print.example", 443).await;
    assert!(
        matches!(result, Err(TunnelError::Refused { status: 403 })),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_answer_that_is_not_http_is_a_protocol_error() {
    let (port, _head) = scripted_proxy(b"SSH-2.0-OpenSSH_9.6\r\n\r\n").await;
    let result = tunnel(&local_proxy(port, ""), "print.example", 443).await;
    assert!(
        matches!(result, Err(TunnelError::Protocol(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_endless_header_block_is_cut_at_8_kib() {
    static ENDLESS: [u8; 9000] = [b'a'; 9000];
    let (port, _head) = scripted_proxy(&ENDLESS).await;
    let result = tunnel(&local_proxy(port, ""), "print.example", 443).await;
    match result {
        Err(TunnelError::Protocol(message)) => assert!(message.contains("8192"), "{message}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_proxy_that_closes_before_answering_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        // Read the request first: closing with it unread would reset the connection.
        let mut request = [0u8; 256];
        let _ = socket.read(&mut request).await;
        drop(socket);
    });
    let result = tunnel(&local_proxy(port, ""), "print.example", 443).await;
    match result {
        Err(TunnelError::Protocol(message)) => assert!(message.contains("closed"), "{message}"),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unreachable_proxy_says_so() {
    // A port that was just free: nothing listens on it.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let result = tunnel(&local_proxy(port, ""), "print.example", 443).await;
    assert!(
        matches!(result, Err(TunnelError::ProxyUnreachable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_target_that_would_inject_headers_is_refused_before_connecting() {
    let result = tunnel(&local_proxy(9, ""), "print.example\r\nX-Evil: 1", 443).await;
    assert!(
        matches!(result, Err(TunnelError::InvalidTarget(_))),
        "{result:?}"
    );
}
