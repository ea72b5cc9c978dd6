//! Settings file tests: first start, recovery from the last good copy, files kept
//! aside, and the files' modes.

use super::*;
use crate::connection::ReconnectPolicy;
use crate::settings::DEFAULT_SERVER_URL;

/// A store whose folder does not exist yet, so the store creates it.
fn store() -> (tempfile::TempDir, SettingsStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SettingsStore::new(dir.path().join("config").join("settings.json"));
    (dir, store)
}

/// What a PC must keep to go on receiving its jobs.
fn installed(store: &SettingsStore) -> Settings {
    let settings = Settings {
        client_id: "front-desk-7".into(),
        server_url: "https://hub.example.com/printrelay/".into(),
        token: Some("s3cret".into()),
        ..Settings::default()
    };
    store.save(&settings).expect("save");
    settings
}

fn kept_aside(store: &SettingsStore) -> Vec<PathBuf> {
    let dir = store.path().parent().expect("folder");
    std::fs::read_dir(dir)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .map(|e| e.path())
        .collect()
}

/// Loads, expecting the installed id, server and token back with a warning.
fn assert_recovered(store: &SettingsStore, want: &Settings) -> String {
    let loaded = store.load().expect("load");
    assert_eq!(loaded.settings.client_id, want.client_id);
    assert_eq!(loaded.settings.server_url, want.server_url);
    assert_eq!(loaded.settings.token, want.token);
    let warning = loaded.warning.expect("a warning for the user");
    assert_eq!(warning.code, crate::warning::WarningCode::SettingsFromCopy);
    let warning = warning.detail;
    assert!(warning.contains("settings.json.bak"), "{warning}");
    assert!(
        !warning.contains("s3cret"),
        "the token is never shown: {warning}"
    );
    // Written back: the next start needs no recovery.
    let again = store.load().expect("load again");
    assert!(again.warning.is_none(), "{:?}", again.warning);
    assert_eq!(again.settings, loaded.settings);
    warning
}

#[test]
fn first_load_makes_and_keeps_a_client_id() {
    let (_dir, store) = store();
    let first = store.load().expect("load");
    assert!(first.warning.is_none());
    assert!(!first.settings.client_id.is_empty());
    assert_eq!(first.settings.server_url, DEFAULT_SERVER_URL);
    let second = store.load().expect("load again");
    assert_eq!(second.settings.client_id, first.settings.client_id);
}

#[test]
fn a_save_keeps_the_same_settings_as_the_last_good_copy() {
    let (_dir, store) = store();
    installed(&store);
    let changed = Settings {
        client_id: "front-desk-8".into(),
        ..Settings::default()
    };
    store.save(&changed).expect("save again");
    let copy = std::fs::read_to_string(store.backup_path()).expect("the copy");
    let copy: Settings = serde_json::from_str(&copy).expect("JSON");
    assert_eq!(copy, changed);
    let leftovers: Vec<_> = std::fs::read_dir(store.path().parent().expect("folder"))
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_corrupt_file_is_kept_aside_and_the_last_good_copy_is_used() {
    let (_dir, store) = store();
    let want = installed(&store);
    std::fs::write(store.path(), "{ not json").expect("write");
    let warning = assert_recovered(&store, &want);
    assert!(warning.contains("corrupt"), "{warning}");
    let kept = kept_aside(&store);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&kept[0]).ok().as_deref(),
        Some("{ not json")
    );
}

#[test]
fn an_empty_file_is_recovered_from_the_last_good_copy() {
    let (_dir, store) = store();
    let want = installed(&store);
    std::fs::write(store.path(), "").expect("truncate");
    let warning = assert_recovered(&store, &want);
    assert!(warning.contains("empty"), "{warning}");
}

#[test]
fn an_unreadable_file_is_recovered_from_the_last_good_copy() {
    let (_dir, store) = store();
    let want = installed(&store);
    // Something that exists but cannot be read as text, whoever runs the test.
    std::fs::remove_file(store.path()).expect("remove");
    std::fs::create_dir(store.path()).expect("a folder in its place");
    let warning = assert_recovered(&store, &want);
    assert!(warning.contains("cannot be read"), "{warning}");
    assert_eq!(kept_aside(&store).len(), 1);
}

#[test]
fn a_missing_file_is_recovered_from_the_last_good_copy() {
    let (_dir, store) = store();
    let want = installed(&store);
    std::fs::remove_file(store.path()).expect("remove");
    let warning = assert_recovered(&store, &want);
    assert!(warning.contains("missing"), "{warning}");
}

#[test]
fn a_file_edited_by_hand_becomes_the_last_good_copy_once_loaded() {
    let (_dir, store) = store();
    installed(&store);
    let edited = r#"{"clientId":"front-desk-9","serverUrl":"http://10.0.0.5:3000"}"#;
    std::fs::write(store.path(), edited).expect("edit");
    assert_eq!(
        store.load().expect("load").settings.client_id,
        "front-desk-9"
    );
    std::fs::write(store.path(), "garbage").expect("break");
    let loaded = store.load().expect("load");
    assert_eq!(loaded.settings.client_id, "front-desk-9");
    assert_eq!(loaded.settings.server_url, "http://10.0.0.5:3000");
}

#[test]
fn when_both_are_unusable_defaults_are_used_and_both_are_said() {
    let (_dir, store) = store();
    installed(&store);
    std::fs::write(store.path(), "{ not json").expect("write");
    std::fs::write(store.backup_path(), "").expect("write");
    let loaded = store.load().expect("load");
    let warning = loaded.warning.expect("a warning");
    assert_eq!(warning.code, crate::warning::WarningCode::SettingsReset);
    let warning = warning.detail;
    assert!(warning.contains("defaults"), "{warning}");
    assert!(warning.contains("last good copy was unusable"), "{warning}");
    assert_eq!(loaded.settings.server_url, DEFAULT_SERVER_URL);
    assert_ne!(loaded.settings.client_id, "front-desk-7");
    assert!(!loaded.settings.client_id.is_empty());
    // The fresh settings now have a good copy of their own.
    let copy = std::fs::read_to_string(store.backup_path()).expect("copy");
    assert!(copy.contains(&loaded.settings.client_id));
}

#[test]
fn a_corrupt_file_without_a_copy_is_kept_aside_and_defaults_are_used() {
    let (_dir, store) = store();
    std::fs::create_dir_all(store.path().parent().expect("folder")).expect("folder");
    std::fs::write(store.path(), "{ not json").expect("write");
    let loaded = store.load().expect("load");
    let warning = loaded.warning.expect("a warning");
    assert_eq!(warning.code, crate::warning::WarningCode::SettingsReset);
    let warning = warning.detail;
    assert!(warning.contains("corrupt"), "{warning}");
    assert!(warning.contains("defaults are in use"), "{warning}");
    assert_eq!(loaded.settings.server_url, DEFAULT_SERVER_URL);
    assert_eq!(kept_aside(&store).len(), 1);
}

#[test]
fn a_file_with_an_unusable_value_is_kept_aside_too() {
    let (_dir, store) = store();
    std::fs::create_dir_all(store.path().parent().expect("folder")).expect("folder");
    let text = r#"{"clientId":"pc-7","serverUrl":"ftp://nowhere"}"#;
    std::fs::write(store.path(), text).expect("write");
    let loaded = store.load().expect("load");
    let warning = loaded.warning.expect("a warning").detail;
    assert!(warning.contains("serverUrl"), "{warning}");
    assert_eq!(loaded.settings.server_url, DEFAULT_SERVER_URL);
    let kept = kept_aside(&store);
    assert_eq!(kept.len(), 1);
    assert_eq!(
        std::fs::read_to_string(&kept[0]).ok().as_deref(),
        Some(text)
    );
}

#[test]
fn unknown_and_missing_fields_fall_back_to_defaults() {
    let (_dir, store) = store();
    std::fs::create_dir_all(store.path().parent().expect("folder")).expect("folder");
    std::fs::write(store.path(), r#"{"clientId":"pc-7","futureField":1}"#).expect("write");
    let loaded = store.load().expect("load");
    assert_eq!(loaded.settings.client_id, "pc-7");
    assert_eq!(loaded.settings.reconnect, ReconnectPolicy::default());
    assert!(loaded.settings.fetch_allowed_hosts.is_empty());
}

#[cfg(unix)]
mod modes {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::private::tests::mode;

    #[test]
    fn the_files_and_their_folder_are_private() {
        let (_dir, store) = store();
        store.load().expect("load");
        assert_eq!(mode(store.path().parent().expect("folder")), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(&store.backup_path()), 0o600);
    }

    #[test]
    fn files_of_an_older_version_are_narrowed_when_loaded() {
        let (_dir, store) = store();
        installed(&store);
        let loose = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(store.path(), loose.clone()).expect("chmod");
        std::fs::set_permissions(store.backup_path(), loose).expect("chmod");
        let folder = store.path().parent().expect("folder");
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let loaded = store.load().expect("load");
        assert!(loaded.warning.is_none(), "{:?}", loaded.warning);
        assert_eq!(mode(folder), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        assert_eq!(mode(&store.backup_path()), 0o600);
    }
}

#[test]
fn a_server_path_of_an_older_version_becomes_the_socket_path_once() {
    let (_dir, store) = store();
    let folder = store.path().parent().expect("folder");
    std::fs::create_dir_all(folder).expect("folder");
    let older =
        r#"{"serverUrl": "https://hub.example.com/printrelay/", "clientId": "front-desk-7"}"#;
    std::fs::write(store.path(), older).expect("write");

    let loaded = store.load().expect("load");
    assert_eq!(loaded.settings.server_url, "https://hub.example.com");
    assert_eq!(loaded.settings.socket_path, "/printrelay/socket.io/");
    assert_eq!(loaded.settings.client_id, "front-desk-7");
    let notice = loaded.warning.expect("the user is told");
    assert_eq!(notice.code, crate::warning::WarningCode::SettingsMigrated);
    assert!(
        notice.detail.contains("/printrelay/socket.io/"),
        "{}",
        notice.detail
    );

    // Saved with its socket path: the next start changes nothing and says nothing.
    let again = store.load().expect("load again");
    assert!(again.warning.is_none(), "{:?}", again.warning);
    assert_eq!(again.settings, loaded.settings);

    // A URL path saved by this version is a namespace and stays.
    let mut current = loaded.settings;
    current.server_url = "https://hub.example.com/printers".into();
    store.save(&current).expect("save");
    let namespace = store.load().expect("load");
    assert_eq!(
        namespace.settings.server_url,
        "https://hub.example.com/printers"
    );
    assert!(namespace.warning.is_none());
}
