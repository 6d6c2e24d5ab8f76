//! The config file's contract: the example parses, the file `init` writes parses back to the
//! defaults, and every key is documented in docs/config.md.

use super::*;

const EXAMPLE: &str = include_str!("../../../../deploy/basalt.example.toml");
const REFERENCE: &str = include_str!("../../../../docs/config.md");

/// Every dotted key path of a TOML document (`server.listen`, `directories.default.backdate`).
fn key_paths(value: &toml::Value, prefix: &str, out: &mut Vec<String>) {
    if let toml::Value::Table(table) = value {
        for (key, child) in table {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            match child {
                toml::Value::Table(_) => key_paths(child, &path, out),
                _ => out.push(path),
            }
        }
    }
}

#[test]
fn the_example_parses_and_validates() {
    let config: Config = toml::from_str(EXAMPLE).expect("deploy/basalt.example.toml parses");
    config.validate().expect("the example is valid");
}

#[test]
fn the_initial_file_parses_back_to_the_defaults() {
    let text = Config::initial_file_text().unwrap();
    let parsed: Config = toml::from_str(&text).unwrap();
    assert_eq!(parsed, Config::default());
}

#[test]
fn every_key_of_the_example_is_documented() {
    let value: toml::Value = toml::from_str(EXAMPLE).unwrap();
    let mut keys = Vec::new();
    key_paths(&value, "", &mut keys);
    assert!(
        keys.len() > 20,
        "the example should show every key, found {keys:?}"
    );
    for key in keys {
        // Directory keys are documented once, as directories.<name>.<key>.
        let documented = match key.strip_prefix("directories.") {
            Some(rest) => format!(
                "directories.<name>.{}",
                rest.split_once('.').map_or(rest, |(_, k)| k)
            ),
            None => key.clone(),
        };
        assert!(
            REFERENCE.contains(&format!("`{documented}`")),
            "docs/config.md does not document `{documented}`"
        );
    }
}

#[test]
fn the_example_shows_every_key_the_defaults_have() {
    let example: toml::Value = toml::from_str(EXAMPLE).unwrap();
    let defaults = toml::Value::try_from(Config::default()).unwrap();
    let (mut have, mut want) = (Vec::new(), Vec::new());
    key_paths(&example, "", &mut have);
    key_paths(&defaults, "", &mut want);
    for key in want {
        assert!(
            have.contains(&key),
            "deploy/basalt.example.toml lacks {key}"
        );
    }
}

#[test]
fn unknown_keys_and_bad_values_are_refused_with_the_key_path() {
    let err =
        toml::from_str::<Config>("[server]\nlisten = \"127.0.0.1:1\"\nlistn = 3\n").unwrap_err();
    assert!(err.to_string().contains("listn"), "{err}");
    let err = toml::from_str::<Config>("[server]\nnonce_lifetime = \"soon\"\n").unwrap_err();
    assert!(err.to_string().contains("nonce_lifetime"), "{err}");
    let mut config = Config::default();
    config.validation.concurrency = 0;
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .starts_with("validation.concurrency")
    );
}

#[test]
fn zero_connection_and_queue_limits_are_refused_with_the_key_path() {
    type BreakIt = fn(&mut Config);
    let cases: [(BreakIt, &str); 5] = [
        (
            |c| c.server.tls_handshake_timeout = Duration::ZERO,
            "server.tls_handshake_timeout",
        ),
        (
            |c| c.server.max_connections_per_ip = 0,
            "server.max_connections_per_ip",
        ),
        (
            |c| c.server.http2_keep_alive_timeout = Duration::ZERO,
            "server.http2_keep_alive_timeout",
        ),
        (|c| c.validation.queue_limit = 0, "validation.queue_limit"),
        (
            |c| c.validation.queue_limit_per_account = 0,
            "validation.queue_limit_per_account",
        ),
    ];
    for (break_it, key) in cases {
        let mut config = Config::default();
        break_it(&mut config);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.starts_with(key), "{key}: {err}");
    }
    let text = "[server]\nheader_read_timeout = \"2s\"\nmax_connections = 10\n[validation]\nqueue_limit_per_account = 3\n";
    let config: Config = toml::from_str(text).unwrap();
    config.validate().unwrap();
    assert_eq!(
        config.connection_settings().header_read_timeout,
        Duration::from_secs(2)
    );
    assert_eq!(config.connection_settings().max_connections, 10);
    assert_eq!(config.validation_queue_limits().per_account, 3);
}

#[test]
fn egress_ranges_are_checked_at_load_and_directories_inherit_what_they_do_not_set() {
    let mut config = Config::default();
    config.validation.egress_allow = vec!["127.0.0.0/8".into(), "::1".into()];
    config.validation.egress_deny = vec!["10.9.0.0/16".into()];
    assert!(config.validate().is_ok());
    assert_eq!(config.egress().unwrap().allow.len(), 2);
    assert_eq!(config.directory_egress("default").unwrap(), None);

    let dir = config.directories.get_mut("default").unwrap();
    dir.egress_allow = Some(vec![]);
    let own = config.directory_egress("default").unwrap().unwrap();
    assert!(own.allow.is_empty());
    assert_eq!(own.deny, config.egress().unwrap().deny);

    config.validation.egress_allow = vec!["127.0.0.1/33".into()];
    let err = config.validate().unwrap_err();
    assert!(
        format!("{err:#}").starts_with("validation.egress_allow"),
        "{err:#}"
    );
    config.validation.egress_allow = vec![];
    config.directories.get_mut("default").unwrap().egress_deny = Some(vec!["nonsense".into()]);
    let err = config.validate().unwrap_err();
    assert!(
        format!("{err:#}").starts_with("directories.default.egress_deny"),
        "{err:#}"
    );
}

#[test]
fn the_serve_flag_allows_egress_ranges() {
    use clap::Parser;
    let cli = crate::cli::Cli::try_parse_from([
        "basalt",
        "serve",
        "--egress-allow",
        "127.0.0.0/8",
        "--egress-allow",
        "::1",
    ])
    .unwrap();
    let crate::cli::Command::Serve(args) = cli.command else {
        panic!("serve expected");
    };
    assert_eq!(args.egress_allow, vec!["127.0.0.0/8", "::1"]);
}

#[test]
fn reserved_identifiers_are_refused_unless_a_directory_allows_them() {
    assert!(!Config::default().directories["default"].allow_reserved_identifiers);
    // What conformance-tests/lib.sh writes: one key, every other one at its default.
    let config: Config =
        toml::from_str("[directories.default]\nallow_reserved_identifiers = true\n").unwrap();
    config.validate().unwrap();
    let dir = &config.directories["default"];
    assert!(dir.allow_reserved_identifiers);
    assert_eq!(
        DirectorySection {
            allow_reserved_identifiers: false,
            ..dir.clone()
        },
        DirectorySection::named("default")
    );
}

#[test]
fn renewal_window_keys_are_checked_with_the_key_path() {
    let load = |keys: &str| {
        let config: Config = toml::from_str(&format!("[directories.default]\n{keys}\n")).unwrap();
        config.validate().map(|()| config)
    };
    for (keys, key) in [
        ("renewal_at = 1.0", "directories.default.renewal_at"),
        ("renewal_at = 0.0", "directories.default.renewal_at"),
        (
            "renewal_margin = -0.1",
            "directories.default.renewal_margin",
        ),
        ("renewal_margin = 0.5", "directories.default.renewal_margin"),
        (
            "renewal_at = 0.9\nrenewal_margin = 0.2",
            "directories.default.renewal_margin",
        ),
        (
            "renewal_retry_after = \"0s\"",
            "directories.default.renewal_retry_after",
        ),
    ] {
        let err = load(keys).unwrap_err().to_string();
        assert!(err.starts_with(key), "{keys}: {err}");
    }
    let config =
        load("renewal_at = 0.75\nrenewal_margin = 0.05\nrenewal_retry_after = \"1h\"").unwrap();
    let renewal = config.directories["default"]
        .area_policy("default")
        .unwrap()
        .renewal;
    assert_eq!(renewal.ideal_at, Some(0.75));
    assert_eq!(renewal.margin, 0.05);
    assert_eq!(renewal.retry_after, Duration::from_secs(3600));
    // The defaults are Boulder's.
    let renewal = Config::default().directories["default"]
        .area_policy("default")
        .unwrap()
        .renewal;
    assert_eq!(renewal, basalt_server::RenewalSettings::default());
}
