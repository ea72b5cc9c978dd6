//! `printrelay-agent`: the headless agent for PCs and kiosks without a desktop.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use printrelay_agent::paths::Paths;
use printrelay_agent::printing::{resolve_printer, PrinterBackend, SystemBackend};
use printrelay_agent::settings::{Overrides, SettingsStore};
use printrelay_agent::signals::{Signal, Signals};
use printrelay_agent::{Agent, AgentEvent};

#[derive(Debug, Parser)]
#[command(name = "printrelay-agent", version, about = "PrintRelay headless print agent", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to the dispatch server and print its jobs until stopped.
    Run(Box<RunArgs>),
    /// List local printers with their default flag and state.
    Printers,
    /// What this PC uses: server, client id, token set or not, printer, what the
    /// administrator's policy fixed, and the last connection event recorded.
    Status {
        /// The report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search the job history (works while the agent runs).
    Jobs(JobsArgs),
    /// Print one test page.
    PrintTest {
        /// Queue name; defaults to the configured printer, then the system default.
        #[arg(long, env = "PRINTRELAY_PRINTER")]
        printer: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// Dispatch server URL, e.g. http://localhost:3000 (default: from settings). Its path
    /// is the Socket.IO namespace, as in socket.io-client: http://host:3000/printers
    /// joins /printers. Several hub nodes, comma-separated, are tried in order, then
    /// round-robin: http://hub1:3000,http://hub2:3000.
    #[arg(long, env = "PRINTRELAY_SERVER")]
    server: Option<String>,
    /// The server's engine path, for socket.io behind a reverse proxy at another path
    /// (default: from settings, normally /socket.io/).
    #[arg(long, env = "PRINTRELAY_SOCKET_PATH", value_name = "PATH")]
    socket_path: Option<String>,
    /// A PEM file of CA certificates to trust besides the operating system's (default:
    /// from settings).
    #[arg(long, env = "PRINTRELAY_CA_FILE", value_name = "FILE")]
    ca_file: Option<std::path::PathBuf>,
    /// The HTTP proxy: `system` (HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY, or Windows'
    /// Internet Settings), `none`, or http://[user:password@]host:port (default: from
    /// settings, normally system).
    #[arg(
        long,
        env = "PRINTRELAY_PROXY",
        value_name = "PROXY",
        hide_env_values = true
    )]
    proxy: Option<printrelay_agent::proxy::ProxySetting>,
    /// Client id the server routes jobs by (default: from settings, made once per install).
    #[arg(long, env = "PRINTRELAY_CLIENT_ID")]
    client_id: Option<String>,
    /// Printer queue to print on (default: from settings, then the system default).
    #[arg(long, env = "PRINTRELAY_PRINTER")]
    printer: Option<String>,
    /// Agent token for servers that require one.
    #[arg(long, env = "PRINTRELAY_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Connect attempts before giving up (default: from settings, 5).
    #[arg(long, value_name = "N")]
    reconnect_attempts: Option<u32>,
    /// First retry delay in milliseconds (default: from settings, 1000).
    #[arg(long, value_name = "MS")]
    reconnect_delay_ms: Option<u64>,
    /// Longest retry delay in milliseconds (default: from settings, 5000).
    #[arg(long, value_name = "MS")]
    reconnect_delay_max_ms: Option<u64>,
    /// Bound on one connect attempt in milliseconds (default: from settings, 10000).
    #[arg(long, value_name = "MS")]
    connect_timeout_ms: Option<u64>,
    /// After giving up, try again this often in milliseconds; 0 stays offline until a
    /// reconnect (default: from settings, 60000).
    #[arg(long, value_name = "MS")]
    background_retry_ms: Option<u64>,
    /// A host `pdf_uri`/`raw_uri` documents may be fetched from besides the server's own;
    /// repeat it for more, `*` for any host with a public address. Replaces the
    /// settings' `fetchAllowedHosts` for this run.
    #[arg(long = "fetch-allowed-host", value_name = "HOST")]
    fetch_allowed_hosts: Vec<String>,
    /// Seconds one HTML job may take to render (default: from settings, 30).
    #[arg(long, value_name = "SECS")]
    render_timeout_secs: Option<u64>,
    /// The browser HTML is rendered with, a path or a name on PATH (default: from
    /// settings, else the first of chromium-headless-shell, chromium, chrome, edge).
    #[arg(long, value_name = "PATH")]
    html_renderer: Option<std::path::PathBuf>,
    /// `json` writes one JSON object per line on stdout for every event.
    #[arg(long, value_enum, default_value_t = EventFormat::None)]
    events: EventFormat,
}

#[derive(Debug, clap::Args)]
struct JobsArgs {
    /// Only jobs in these states (received, spooled, completed, failed, rejected, expired, cancelled).
    #[arg(long, value_delimiter = ',')]
    state: Vec<String>,
    /// Only jobs printed on this queue.
    #[arg(long)]
    printer: Option<String>,
    /// Part of the job id or title.
    #[arg(long)]
    search: Option<String>,
    /// Received at or after this time (RFC 3339, e.g. 2026-11-25T08:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// Received before this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Jobs per page (1..=1000).
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Jobs to skip (paging).
    #[arg(long, default_value_t = 0)]
    offset: usize,
    /// Print the page as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EventFormat {
    /// Events only in the log (stderr and log file).
    None,
    /// One JSON object per line on stdout.
    Json,
}

/// A failure that ends the program with a one-line message.
#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error(transparent)]
    Paths(#[from] printrelay_agent::paths::NoHomeDir),
    #[error(transparent)]
    Settings(#[from] printrelay_agent::settings::SettingsError),
    #[error(transparent)]
    Print(#[from] printrelay_agent::printing::PrintError),
    #[error(transparent)]
    Store(#[from] printrelay_agent::store::StoreError),
    #[error("{0}")]
    BadArgument(String),
    #[error("no printers are installed on this machine")]
    NoPrinters,
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
}

fn main() -> ExitCode {
    printrelay_agent::allocator::tune();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("printrelay-agent: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let paths = Paths::from_env()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    let system = SystemBackend::default();
    match cli.command {
        Command::Printers => {
            let printers = system.printers();
            if printers.is_empty() {
                return Err(CliError::NoPrinters);
            }
            for p in printers {
                let default = if p.is_default { "*" } else { " " };
                println!(
                    "{default} {:<30} {:<10} {}",
                    p.system_name,
                    format!("{:?}", p.state).to_lowercase(),
                    p.name
                );
            }
            Ok(())
        }
        Command::Status { json } => {
            let store = SettingsStore::new(paths.settings_file());
            let in_force =
                printrelay_agent::admin::settings_in_force(store, &Overrides::from_env())?;
            let history = printrelay_agent::store::Store::open(&paths.database_file())?;
            let last = history.recent_connection_events(1)?.into_iter().next();
            let report = printrelay_agent::status_report::StatusReport::new(
                &in_force,
                &paths.settings_file(),
                last,
            );
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                println!("{report}");
            }
            Ok(())
        }
        Command::Jobs(args) => {
            let store = printrelay_agent::store::Store::open(&paths.database_file())?;
            let page = store.query(&args.to_query()?)?;
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&page).unwrap_or_default()
                );
                return Ok(());
            }
            println!("{} job(s) match; showing {}", page.total, page.jobs.len());
            for job in &page.jobs {
                let when =
                    time::OffsetDateTime::from_unix_timestamp((job.received_at / 1000) as i64)
                        .map(|t| t.to_string())
                        .unwrap_or_default();
                let error = job
                    .error
                    .as_ref()
                    .map(|e| format!("  {}", e.message))
                    .unwrap_or_default();
                println!(
                    "{when:<32} {:<10} {:<20} {}{error}",
                    format!("{:?}", job.state).to_lowercase(),
                    job.printer.as_deref().unwrap_or("-"),
                    job.job_id
                );
            }
            Ok(())
        }
        Command::PrintTest { printer } => {
            let settings = printrelay_agent::admin::settings_in_force(
                SettingsStore::new(paths.settings_file()),
                &Overrides::default(),
            )?
            .settings;
            let wanted = printer.or(settings.printer);
            let printers = system.printers();
            if printers.is_empty() {
                return Err(CliError::NoPrinters);
            }
            let target = resolve_printer(&printers, wanted.as_deref())?;
            let job = printrelay_agent::test_page::test_page(
                Some(target.system_name.clone()),
                settings.language,
            );
            let id = system.submit(printrelay_agent::printing::Submission {
                printer: &target.system_name,
                document_name: &format!("printrelay:{}", job.job_id),
                document: &job.document,
                copies: 1,
                options: &job.options,
            })?;
            println!(
                "test page sent to {} (spooler job {id})",
                target.system_name
            );
            Ok(())
        }
        Command::Run(args) => {
            let _guard = printrelay_agent::logging::init(&paths.log_dir(), "agent");
            let overrides = Overrides {
                server_url: args.server,
                socket_path: args.socket_path,
                ca_file: args.ca_file,
                proxy: args.proxy,
                client_id: args.client_id,
                printer: args.printer,
                token: args.token,
                reconnect_attempts: args.reconnect_attempts,
                reconnect_delay_ms: args.reconnect_delay_ms,
                reconnect_delay_max_ms: args.reconnect_delay_max_ms,
                background_retry_ms: args.background_retry_ms,
                connect_timeout_ms: args.connect_timeout_ms,
                fetch_allowed_hosts: (!args.fetch_allowed_hosts.is_empty())
                    .then_some(args.fetch_allowed_hosts),
                render_timeout_secs: args.render_timeout_secs,
                html_renderer: args.html_renderer,
            };
            let in_force = printrelay_agent::admin::settings_in_force(
                SettingsStore::new(paths.settings_file()),
                &overrides,
            )?;
            let settings = in_force.settings;
            settings.validate()?;
            if let Some(printer) = &settings.printer {
                resolve_printer(&system.printers(), Some(printer))?;
            }
            let store = printrelay_agent::store::Store::open(&paths.database_file())?;
            runtime.block_on(serve(
                settings,
                system,
                store,
                in_force.warnings,
                args.events,
            ))
        }
    }
}

async fn serve(
    settings: printrelay_agent::settings::Settings,
    system: SystemBackend,
    store: printrelay_agent::store::Store,
    warnings: Vec<printrelay_agent::warning::Warning>,
    format: EventFormat,
) -> Result<(), CliError> {
    tracing::info!(server = %settings.server_url, client_id = %settings.client_id, printer = ?settings.printer, "starting");
    let backend: Arc<dyn PrinterBackend> = Arc::new(system);
    let agent = Agent::start(settings, backend, store).await?;
    let (announced, mut events) = agent.subscribe_with_connection();
    if format == EventFormat::Json {
        // What was announced before we subscribed; the rest follows, each state once.
        if let Some(state) = announced {
            print_event(&AgentEvent::Connection(state));
        }
        for warning in warnings {
            print_event(&AgentEvent::Warning(warning));
        }
    }
    let mut signals = Signals::new().map_err(CliError::Signals)?;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(event) if format == EventFormat::Json => print_event(&event),
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => tracing::warn!(missed = n, "event output fell behind"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            signal = signals.next() => match signal {
                Signal::Reconnect => agent.reconnect().await,
                Signal::Stop => break,
            },
        }
    }
    tracing::info!("stopping");
    agent.shutdown().await;
    if format == EventFormat::Json {
        print_event(&AgentEvent::Connection(agent.connection().state()));
    }
    Ok(())
}

fn print_event(event: &AgentEvent) {
    use std::io::Write;
    if let Ok(line) = serde_json::to_string(event) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

impl JobsArgs {
    fn to_query(&self) -> Result<printrelay_agent::store::JobQuery, CliError> {
        let states = self
            .state
            .iter()
            .map(|s| {
                serde_json::from_value(serde_json::Value::String(s.trim().to_owned()))
                    .map_err(|_| CliError::BadArgument(format!("unknown job state {s:?}")))
            })
            .collect::<Result<_, _>>()?;
        let time = |text: &Option<String>| -> Result<Option<u64>, CliError> {
            text.as_deref()
                .map(|t| {
                    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as u64)
                        .map_err(|e| {
                            CliError::BadArgument(format!("{t:?} is not an RFC 3339 time: {e}"))
                        })
                })
                .transpose()
        };
        Ok(printrelay_agent::store::JobQuery {
            states,
            printer: self.printer.clone(),
            text: self.search.clone(),
            since: time(&self.since)?,
            until: time(&self.until)?,
            offset: self.offset,
            limit: self.limit,
        })
    }
}
