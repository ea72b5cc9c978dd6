//! The hub's settings resolved from flags, environment and files (`super`).

use super::*;

#[test]
fn flags_beat_env_beat_file_beat_defaults() {
    let file: FileConfig = toml::from_str(
        r#"
        listen = "127.0.0.1:4000"
        db = "/srv/file.db"
        max_body_bytes = 1000
        ping_interval_ms = 3000
        default_expiry = "90m"
        api_tokens = ["from-file"]
        [client_tokens]
        pc-1 = "t1"
        "#,
    )
    .expect("valid toml");
    // Only this test sets these variables.
    std::env::set_var("PRINTRELAY_HUB_MAX_BODY_BYTES", "2000");
    std::env::set_var("PRINTRELAY_HUB_PING_INTERVAL_MS", "4000");
    let cli = Cli::try_parse_from([
        "printrelay-hub",
        "--listen",
        "127.0.0.1:5000",
        "--ping-interval-ms",
        "5000",
    ])
    .expect("valid flags");
    std::env::remove_var("PRINTRELAY_HUB_MAX_BODY_BYTES");
    std::env::remove_var("PRINTRELAY_HUB_PING_INTERVAL_MS");
    let config = Config::resolve(cli, file).expect("resolves");
    assert_eq!(
        config.listen,
        "127.0.0.1:5000".parse().expect("addr"),
        "flag over file"
    );
    assert_eq!(config.ping_interval_ms, 5000, "flag over env and file");
    assert_eq!(config.max_body_bytes, 2000, "env over file");
    assert_eq!(
        config.db,
        Some(Database::Sqlite("/srv/file.db".into())),
        "file"
    );
    assert_eq!(config.default_expiry_ms, Some(90 * 60_000), "file");
    assert_eq!(config.api_tokens, ["from-file"]);
    assert_eq!(
        config.client_tokens.get("pc-1").map(String::as_str),
        Some("t1")
    );
    assert_eq!(config.ping_timeout_ms, 5000, "default");
    assert_eq!(config.log_format, LogFormat::Text, "default");
}

#[test]
fn defaults_without_any_source() {
    let config = Config::resolve(Cli::default(), FileConfig::default()).expect("resolves");
    assert_eq!(config.listen, "127.0.0.1:3000".parse().expect("addr"));
    assert_eq!(config.default_expiry_ms, Some(SEVEN_DAYS_MS));
    assert!(config.agent_tokens.is_empty() && config.cors_origins.is_empty());
    assert!(config.public_names.is_empty());
    assert_eq!(config.node_timeout_ms, 15_000);
}

#[test]
fn a_node_timeout_is_a_duration_never_never() {
    let cli = Cli::try_parse_from(["printrelay-hub", "--node-timeout", "5s"]).expect("5s");
    let config = Config::resolve(cli, FileConfig::default()).expect("resolves");
    assert_eq!(config.node_timeout_ms, 5_000);
    assert!(Cli::try_parse_from(["printrelay-hub", "--node-timeout", "never"]).is_err());
}

/// `--db` takes a path or a PostgreSQL URL; a bad URL in the file is refused without
/// quoting it (it may hold a password).
#[test]
fn db_is_a_path_or_a_postgres_url() {
    let cli = Cli::try_parse_from(["printrelay-hub", "--db", "postgres://hub:pw@db:5433/relay"])
        .expect("a URL");
    let config = Config::resolve(cli, FileConfig::default()).expect("resolves");
    assert!(config.db.as_ref().is_some_and(Database::is_postgres));
    let cli = Cli::try_parse_from(["printrelay-hub", "--db", "postgres://hub:s3cret@db:x/r"])
        .expect("text");
    let error = Config::resolve(cli, FileConfig::default()).expect_err("a bad port");
    assert!(!error.to_string().contains("s3cret"), "{error}");
    let file: FileConfig =
        toml::from_str(r#"db = "postgresql://hub:s3cret@db:x/relay""#).expect("text");
    let error = Config::resolve(Cli::default(), file).expect_err("a bad port");
    assert!(!error.to_string().contains("s3cret"), "{error}");
}

/// `--cluster` takes a Redis URL, only beside a PostgreSQL `--db`, and never shows
/// its password.
#[test]
fn cluster_is_a_redis_url_beside_postgres() {
    let with = |args: &[&str]| {
        let cli = Cli::try_parse_from([&["printrelay-hub"], args].concat()).expect("text");
        Config::resolve(cli, FileConfig::default())
    };
    let config = with(&[
        "--db",
        "postgres://db/relay",
        "--cluster",
        "redis://:pw@r:6380",
    ])
    .expect("resolves");
    assert_eq!(
        config.cluster.map(|url| url.to_string()).as_deref(),
        Some("redis://r:6380")
    );
    let error = with(&["--db", "hub.db", "--cluster", "redis://r"]).expect_err("SQLite");
    assert!(
        matches!(error, ConfigError::ClusterNeedsPostgres),
        "{error}"
    );
    let error =
        with(&["--db", "postgres://db/r", "--cluster", "rediss://:s3cret@r"]).expect_err("no TLS");
    assert!(!error.to_string().contains("s3cret"), "{error}");
    let file: FileConfig =
        toml::from_str("db = \"postgres://db/r\"\ncluster = \"redis://r\"").expect("toml");
    let config = Config::resolve(Cli::default(), file).expect("from the file");
    assert!(config.cluster.is_some());
}

#[test]
fn expiry_durations() {
    assert_eq!(parse_expiry("30s"), Ok(Expiry(Some(30_000))));
    assert_eq!(parse_expiry("2h"), Ok(Expiry(Some(7_200_000))));
    assert_eq!(parse_expiry("7d"), Ok(Expiry(Some(SEVEN_DAYS_MS))));
    assert_eq!(parse_expiry("45"), Ok(Expiry(Some(45_000))));
    assert_eq!(parse_expiry("never"), Ok(Expiry(None)));
    assert!(parse_expiry("-1h").is_err());
    assert!(parse_expiry("soon").is_err());
    assert!(parse_expiry("").is_err());
}

#[test]
fn json_config_files_and_unknown_keys() {
    let dir = std::env::temp_dir().join(format!("hubcfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = dir.join("hub.json");
    std::fs::write(
        &json,
        r#"{"cors_origins": ["https://erp.example"], "public_names": ["print.example.com"], "log_format": "json"}"#,
    )
    .expect("write");
    let file = FileConfig::read(&json).expect("json config");
    let config = Config::resolve(Cli::default(), file).expect("resolves");
    assert_eq!(config.cors_origins, ["https://erp.example"]);
    assert_eq!(config.public_names, ["print.example.com"]);
    assert_eq!(config.log_format, LogFormat::Json);
    let typo = dir.join("hub.toml");
    std::fs::write(&typo, "listne = \"0.0.0.0:1\"\n").expect("write");
    let error = FileConfig::read(&typo).expect_err("unknown key refused");
    assert!(error.to_string().contains("listne"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}
