//! A small W3C WebDriver client for driving the desktop app through tauri-driver and
//! WebKitWebDriver (and the hub's console through chromedriver, `crate::chromedriver`):
//! sessions, elements, clicks, typing, scripts and screenshots.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use serde_json::{json, Value};
use tokio::process::Command;
use tokio::time::Instant;

use crate::common::http_client;
use crate::process::Process;

/// tauri-driver on a free port, on the D-Bus session `bus` (the app's single-instance lock,
/// tray and notifications use the session bus; a test may watch it).
#[derive(Debug)]
pub struct TauriDriver {
    _process: Process,
    pub port: u16,
}

impl TauriDriver {
    /// Starts tauri-driver with `env` for the app it will launch, and waits until it answers.
    pub async fn start(
        display: &str,
        bus: &str,
        env: &[(&str, String)],
        log: &Path,
    ) -> Result<Self> {
        let port = free_port()?;
        let native_port = free_port()?;
        let log = std::fs::File::create(log)?;
        let mut command = Command::new("tauri-driver");
        command
            .arg("--port")
            .arg(port.to_string())
            .arg("--native-port")
            .arg(native_port.to_string())
            .env("DISPLAY", display)
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            // Software rendering: Xvfb has no GPU.
            .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .stdout(Stdio::null())
            .stderr(log)
            .process_group(0)
            .kill_on_drop(true);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command
            .spawn()
            .context("starting tauri-driver (scripts/setup.sh test installs it)")?;
        let driver = Self {
            _process: Process::group_leader(child),
            port,
        };
        wait_until_ready(port, "tauri-driver").await?;
        Ok(driver)
    }

    /// Launches `application` and opens a session on its first web view.
    pub async fn session(&self, application: &Path) -> Result<Session> {
        let base = format!("http://127.0.0.1:{}/session", self.port);
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": application},
        }}});
        new_session(&base, &capabilities).await
    }
}

/// One WebDriver session.
#[derive(Debug)]
pub struct Session {
    base: String,
}

impl Session {
    /// Opens `url` in the session's window.
    pub async fn navigate(&self, url: &str) -> Result<()> {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await?;
        Ok(())
    }

    /// The URL the window shows.
    pub async fn current_url(&self) -> Result<String> {
        let url = self.call(reqwest::Method::GET, "/url", None).await?;
        Ok(url.as_str().unwrap_or_default().to_owned())
    }

    /// Types `text` into the element matching `css` (a file path, for a file input).
    pub async fn send_keys(&self, css: &str, text: &str) -> Result<()> {
        self.on_element(
            css,
            reqwest::Method::POST,
            "value",
            Some(json!({"text": text})),
        )
        .await
        .with_context(|| format!("typing into {css}"))?;
        Ok(())
    }

    /// Empties the input matching `css`.
    pub async fn clear(&self, css: &str) -> Result<()> {
        self.on_element(css, reqwest::Method::POST, "clear", Some(json!({})))
            .await?;
        Ok(())
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = http_client().request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request.send().await?.json().await?;
        if let Some(error) = answer["value"]["error"].as_str() {
            bail!("webdriver {path}: {error}: {}", answer["value"]["message"]);
        }
        Ok(answer["value"].clone())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The element matching `css`.
    pub async fn find(&self, css: &str) -> Result<String> {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        // An object with one key (W3C's web element identifier; WebKitWebDriver's differs).
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| anyhow!("no element id for {css}: {found}"))
    }

    /// Clicks the element matching `css`, as a user would.
    pub async fn click(&self, css: &str) -> Result<()> {
        self.on_element(css, reqwest::Method::POST, "click", Some(json!({})))
            .await
            .with_context(|| format!("clicking {css}"))?;
        Ok(())
    }

    /// The visible text of the element matching `css`.
    pub async fn text(&self, css: &str) -> Result<String> {
        let text = self
            .on_element(css, reqwest::Method::GET, "text", None)
            .await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Calls `/element/<id>/<action>` on the element matching `css`. The window renders
    /// its lists anew on every job event: an element replaced between finding and acting
    /// ("stale element reference") is found again, as a user's second look would.
    async fn on_element(
        &self,
        css: &str,
        method: reqwest::Method,
        action: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut tries = 0;
        loop {
            let element = self.find(css).await?;
            let answer = self
                .call(
                    method.clone(),
                    &format!("/element/{element}/{action}"),
                    body.clone(),
                )
                .await;
            match answer {
                Err(error) if tries < 5 && error.to_string().contains("stale element") => {
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Polls `script` until it returns `true`, or fails with the last value after `limit`.
    pub async fn wait_until(&self, what: &str, script: &str, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            let value = self.execute(script, json!([])).await;
            if matches!(value, Ok(Value::Bool(true))) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{what}: not within {limit:?} (last: {value:?})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let data = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .context("screenshot is not base64")?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Ends the session (the app is closed by the driver).
    pub async fn close(self) -> Result<()> {
        self.call(reqwest::Method::DELETE, "", None).await?;
        Ok(())
    }
}

/// Waits until the driver on `port` answers `/status` (at most 20 s).
pub(crate) async fn wait_until_ready(port: u16, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let status_url = format!("http://127.0.0.1:{port}/status");
    while http_client().get(&status_url).send().await.is_err() {
        if Instant::now() > deadline {
            bail!("{what} did not answer within 20 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Opens a session at `base` (`http://driver/session`) with `capabilities`.
pub(crate) async fn new_session(base: &str, capabilities: &Value) -> Result<Session> {
    let answer: Value = http_client()
        .post(base)
        .json(capabilities)
        .send()
        .await?
        .json()
        .await?;
    let id = answer["value"]["sessionId"]
        .as_str()
        .ok_or_else(|| anyhow!("no session: {answer}"))?;
    Ok(Session {
        base: format!("{base}/{id}"),
    })
}

/// A port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
