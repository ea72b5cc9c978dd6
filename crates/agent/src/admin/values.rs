//! A set of settings an administrator fixed or preset: top-level settings fields by
//! their settings.json names, each checked against the field's type when read, applied
//! over settings, and compared with what a user wants to save.

use std::path::Path;

use serde_json::{Map, Value};

use crate::settings::{Settings, SettingsError};

/// Settings fields and their values, as an administrator set them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AdminValues(Map<String, Value>);

/// Values read from one source, and what was left out of it and why.
#[derive(Debug, Default)]
pub struct Read {
    pub values: AdminValues,
    pub problems: Vec<String>,
}

impl AdminValues {
    /// Checks each `(field, value)` against the settings' fields: unknown fields and
    /// values of another type are left out, each with a problem naming it. `from`
    /// names the source in those problems. A number or text where the field is on/off
    /// reads as on unless it is 0, `false` or empty (registry DWORDs are numbers).
    pub fn from_pairs(from: &str, pairs: impl IntoIterator<Item = (String, Value)>) -> Read {
        let defaults = defaults();
        let mut read = Read::default();
        for (field, value) in pairs {
            let Some(default) = defaults.get(&field) else {
                read.problems
                    .push(format!("{from}: {field:?} is not a setting"));
                continue;
            };
            match coerce(default, value) {
                Some(value) if fits(&field, &value) => {
                    read.values.0.insert(field, value);
                }
                _ => read
                    .problems
                    .push(format!("{from}: {field} has a value of the wrong type")),
            }
        }
        read
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The fields set, by their settings.json names (`serverUrl`, `token`...).
    pub fn fields(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }

    /// `settings` with these values over them, `{hostname}` and `{username}` in a
    /// `clientId` expanded.
    pub fn apply(&self, settings: Settings) -> Settings {
        if self.is_empty() {
            return settings;
        }
        let Ok(Value::Object(mut merged)) = serde_json::to_value(&settings) else {
            return settings;
        };
        for (field, value) in self.expanded() {
            merged.insert(field, value);
        }
        // Every value was checked against its field when read.
        serde_json::from_value(Value::Object(merged)).unwrap_or(settings)
    }

    /// The first field of `wanted` that differs from the value set here: a user may not
    /// change what a policy fixed.
    pub fn refused_change(&self, wanted: &Settings) -> Option<SettingsError> {
        let Ok(Value::Object(wanted)) = serde_json::to_value(wanted) else {
            return None;
        };
        self.expanded()
            .into_iter()
            .find(|(field, value)| wanted.get(field) != Some(value))
            .map(|(field, _)| SettingsError::Locked(field))
    }

    fn expanded(&self) -> Map<String, Value> {
        let mut values = self.0.clone();
        if let Some(Value::String(id)) = values.get_mut("clientId") {
            *id = expand_client_id(id);
        }
        values
    }
}

/// Reads a JSON object of settings from `path`; a missing file is no values. (Windows
/// reads the registry instead; the tests read files everywhere.)
#[cfg_attr(windows, allow(dead_code))]
pub fn read_file(path: &Path) -> Read {
    let from = path.display().to_string();
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Read::default(),
        Err(e) => {
            return Read {
                problems: vec![format!("{from} cannot be read: {e}")],
                ..Read::default()
            }
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => AdminValues::from_pairs(&from, map),
        Ok(_) => Read {
            problems: vec![format!("{from} is not a JSON object")],
            ..Read::default()
        },
        Err(e) => Read {
            problems: vec![format!("{from} is not JSON: {e}")],
            ..Read::default()
        },
    }
}

/// `template` with `{hostname}` (this PC's name, lowercase) and `{username}` (the
/// signed-in user) filled in: one preset or policy gives every PC its own id.
pub fn expand_client_id(template: &str) -> String {
    if !template.contains('{') {
        return template.to_owned();
    }
    let host = gethostname::gethostname().to_string_lossy().to_lowercase();
    let user = ["USERNAME", "USER", "LOGNAME"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "user".to_owned());
    template
        .replace("{hostname}", &host)
        .replace("{username}", &user)
}

/// The settings' fields with their default values.
fn defaults() -> Map<String, Value> {
    match serde_json::to_value(Settings::default()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// `value` in the JSON type of `default` where the source could not say it (registry
/// values are text or numbers).
fn coerce(default: &Value, value: Value) -> Option<Value> {
    match (default, value) {
        (Value::Bool(_), Value::Number(n)) => Some(Value::Bool(n.as_u64() != Some(0))),
        (Value::Bool(_), Value::String(s)) => {
            let off = matches!(s.trim().to_lowercase().as_str(), "" | "0" | "false");
            Some(Value::Bool(!off))
        }
        (Value::Number(_), Value::String(s)) => s.trim().parse::<u64>().ok().map(Value::from),
        (_, value) => Some(value),
    }
}

/// Whether `value` can stand in settings for `field`.
fn fits(field: &str, value: &Value) -> bool {
    let Ok(Value::Object(mut settings)) = serde_json::to_value(Settings::default()) else {
        return false;
    };
    settings.insert(field.to_owned(), value.clone());
    serde_json::from_value::<Settings>(Value::Object(settings)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(value: Value) -> Vec<(String, Value)> {
        match value {
            Value::Object(map) => map.into_iter().collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn values_are_checked_against_the_settings_fields() {
        let read = AdminValues::from_pairs(
            "policy",
            pairs(json!({
                "serverUrl": "https://print.example:3000",
                "autostart": 1,
                "maxJobBytes": "1048576",
                "colour": "blue",
                "historyLimit": "many",
            })),
        );
        assert_eq!(
            read.values.fields(),
            ["autostart", "maxJobBytes", "serverUrl"]
        );
        assert_eq!(read.problems.len(), 2, "{:?}", read.problems);
        assert!(read
            .problems
            .iter()
            .any(|p| p.contains("\"colour\" is not a setting")));
        assert!(read.problems.iter().any(|p| p.contains("historyLimit")));
        let applied = read.values.apply(Settings::default());
        assert_eq!(applied.server_url, "https://print.example:3000");
        assert!(applied.autostart);
        assert_eq!(applied.max_job_bytes, 1_048_576);
    }

    #[test]
    fn a_client_id_template_names_the_pc_and_a_locked_field_cannot_change() {
        let read = AdminValues::from_pairs(
            "policy",
            pairs(json!({"clientId": "{hostname}-labels", "token": "t0ken"})),
        );
        let applied = read.values.apply(Settings::default());
        let host = gethostname::gethostname().to_string_lossy().to_lowercase();
        assert_eq!(applied.client_id, format!("{host}-labels"));
        assert_eq!(read.values.refused_change(&applied), None);
        let mut changed = applied.clone();
        changed.token = Some("mine".into());
        let refused = read.values.refused_change(&changed);
        assert_eq!(refused.as_ref().and_then(|e| e.field()), Some("token"));
        // Fields the policy does not set stay the user's.
        changed = applied;
        changed.printer = Some("Labels".into());
        assert_eq!(read.values.refused_change(&changed), None);
    }

    #[test]
    fn an_unreadable_file_is_a_problem_and_a_missing_one_is_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(read_file(&dir.path().join("policy.json")).values.is_empty());
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{not json").expect("write");
        let read = read_file(&bad);
        assert!(read.values.is_empty());
        assert!(
            read.problems[0].contains("is not JSON"),
            "{:?}",
            read.problems
        );
    }
}
