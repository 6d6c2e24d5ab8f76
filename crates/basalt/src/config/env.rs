//! Environment overrides of basalt.toml: `BASALT_<SECTION>__<KEY>` sets `section.key`, with
//! `__` between the parts of the key path (`BASALT_SERVER__METRICS_LISTEN`,
//! `BASALT_DIRECTORIES__DEFAULT__CERTIFICATE_LIFETIME`). A value that reads as a TOML value
//! (`8`, `true`, `["a", "b"]`, `"quoted"`) is taken as one; anything else is a string.
//! Precedence: defaults < file < environment < flags. The way containers and systemd units
//! set one key without editing the file.

use toml::{Table, Value};

/// The prefix of every override; a variable without `__` after it is not an override (so
/// `BASALT_DATA` and `BASALT_DATABASE_URL`, the flags' own variables, are left alone).
const PREFIX: &str = "BASALT_";

/// One override: the key path it sets and the value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Override {
    pub(crate) path: Vec<String>,
    pub(crate) value: Value,
}

impl Override {
    /// The dotted key path, as the config file and its errors name it.
    pub(crate) fn key(&self) -> String {
        self.path.join(".")
    }
}

/// The overrides among `vars` (normally `std::env::vars()`), sorted by key path.
pub(crate) fn overrides(vars: impl IntoIterator<Item = (String, String)>) -> Vec<Override> {
    let mut found: Vec<Override> = vars
        .into_iter()
        .filter_map(|(name, raw)| {
            let rest = name.strip_prefix(PREFIX)?;
            if !rest.contains("__") {
                return None;
            }
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                return None;
            }
            Some(Override {
                path,
                value: parse_value(&raw),
            })
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    found
}

/// `raw` as a TOML value if it is one, else as a string.
fn parse_value(raw: &str) -> Value {
    toml::from_str::<Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_owned()))
}

/// Sets every override in `table`, making the tables on its path. An override whose path
/// runs into a non-table value replaces that value (the config check then reports it).
pub(crate) fn apply(table: &mut Table, overrides: &[Override]) {
    for o in overrides {
        let (last, parents) = o.path.split_last().expect("a path has at least two parts");
        let mut current = &mut *table;
        for part in parents {
            let entry = current
                .entry(part.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            if !entry.is_table() {
                *entry = Value::Table(Table::new());
            }
            current = entry.as_table_mut().expect("made a table just above");
        }
        current.insert(last.clone(), o.value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn overrides_take_typed_values_and_skip_the_flags_own_variables() {
        let found = overrides(vars(&[
            ("BASALT_SERVER__MAX_CONNECTIONS", "10"),
            ("BASALT_SERVER__METRICS_LISTEN", "127.0.0.1:9102"),
            (
                "BASALT_DIRECTORIES__DEFAULT__CHALLENGE_TYPES",
                "[\"dns-01\"]",
            ),
            ("BASALT_DATA", "/var/lib/basalt"),
            ("BASALT_DATABASE_URL", "sqlite://x"),
            ("BASALT_SERVER__", "broken"),
            ("HOME", "/root"),
        ]));
        let keys: Vec<String> = found.iter().map(Override::key).collect();
        assert_eq!(
            keys,
            [
                "directories.default.challenge_types",
                "server.max_connections",
                "server.metrics_listen"
            ]
        );
        assert_eq!(found[1].value, Value::Integer(10));
        assert_eq!(found[2].value, Value::String("127.0.0.1:9102".into()));

        let mut table: Table = toml::from_str("[server]\nmax_connections = 5\n").unwrap();
        apply(&mut table, &found);
        assert_eq!(table["server"]["max_connections"].as_integer(), Some(10));
        assert_eq!(
            table["directories"]["default"]["challenge_types"][0].as_str(),
            Some("dns-01")
        );
    }
}
