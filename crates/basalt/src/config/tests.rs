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
        // Directory keys are documented once, as directories.<name>.<key>, and profile keys
        // as directories.<name>.profiles.<profile>.<key>.
        let documented = match key.strip_prefix("directories.") {
            Some(rest) => {
                let key = rest.split_once('.').map_or(rest, |(_, k)| k);
                match key.strip_prefix("profiles.") {
                    Some(rest) => format!(
                        "directories.<name>.profiles.<profile>.{}",
                        rest.split_once('.').map_or(rest, |(_, k)| k)
                    ),
                    None => format!("directories.<name>.{key}"),
                }
            }
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

#[test]
fn external_account_binding_modes_parse_and_a_bad_one_names_the_key() {
    use basalt_server::EabMode;
    for (text, mode) in [
        ("", EabMode::Off),
        ("external_account_binding = \"off\"\n", EabMode::Off),
        (
            "external_account_binding = \"optional\"\n",
            EabMode::Optional,
        ),
        (
            "external_account_binding = \"required\"\n",
            EabMode::Required,
        ),
    ] {
        let config: Config = toml::from_str(&format!("[directories.default]\n{text}")).unwrap();
        let policy = config.directories["default"]
            .area_policy("default")
            .unwrap();
        assert_eq!(policy.external_account_binding, mode, "{text}");
    }
    let config: Config =
        toml::from_str("[directories.default]\nexternal_account_binding = \"yes\"\n").unwrap();
    let err = format!("{:#}", config.validate().unwrap_err());
    assert!(
        err.starts_with("directories.default.external_account_binding") && err.contains("\"yes\""),
        "{err}"
    );
}

/// One `[directories.fleet]` with `extra` appended, validated: the error text.
fn profile_error(extra: &str) -> String {
    let text = format!("[directories.fleet]\n{extra}");
    let config: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
    config.validate().unwrap_err().to_string()
}

#[test]
fn profile_errors_name_their_key_path() {
    let table = "[directories.fleet.profiles.web]\ndescription = \"Web\"\n";
    let cases = [
        (
            format!("{table}extended_key_usages = [\"codeSigning\"]\n"),
            "directories.fleet.profiles.web.extended_key_usages: \"codeSigning\"",
        ),
        (
            format!("{table}extended_key_usages = []\n"),
            "directories.fleet.profiles.web.extended_key_usages: at least one",
        ),
        (
            format!("{table}key_usages = [\"cRLSign\"]\n"),
            "directories.fleet.profiles.web.key_usages: \"cRLSign\"",
        ),
        (
            format!("{table}key_usages = [\"keyEncipherment\"]\n"),
            "directories.fleet.profiles.web.key_usages: digitalSignature is required",
        ),
        (
            format!("{table}certificate_lifetime = \"2days\"\n"),
            "directories.fleet.profiles.web.certificate_lifetime: 2days is longer than max_certificate_lifetime",
        ),
        (
            format!("{table}certificate_lifetime = \"2h\"\nmax_certificate_lifetime = \"1h\"\n"),
            "directories.fleet.profiles.web.certificate_lifetime: 2h is longer",
        ),
        (
            format!("names.identifier_types = [\"dns\"]\n{table}identifier_types = [\"ip\"]\n"),
            "directories.fleet.profiles.web.identifier_types: \"ip\" is not among the area's",
        ),
        (
            format!("{table}identifier_types = [\"email\"]\n"),
            "directories.fleet.profiles.web.identifier_types: \"email\" is not an identifier type",
        ),
        (
            "[directories.fleet.profiles.web]\ncommon_name = false\n".to_owned(),
            "directories.fleet.profiles.web.description: required",
        ),
        (
            "[directories.fleet.profiles.Web_1]\ndescription = \"x\"\n".to_owned(),
            "directories.fleet.profiles.Web_1: a profile name uses only a-z",
        ),
        (
            format!(
                "[directories.fleet.profiles.{}]\ndescription = \"x\"\n",
                "a".repeat(65)
            ),
            "a profile name uses only a-z, 0-9 and '-', at most 64 characters",
        ),
        (
            format!("default_profile = \"nosuch\"\n{table}"),
            "directories.fleet.default_profile: \"nosuch\" is not one of the area's profiles (web)",
        ),
        (
            "default_profile = \"web\"\n".to_owned(),
            "directories.fleet.default_profile: \"web\" is not one of the area's profiles (default, mtls-client, short, tls-server)",
        ),
    ];
    for (extra, expected) in cases {
        let err = profile_error(&extra);
        assert!(
            err.contains(expected),
            "{extra}\n=> {err}\nwanted {expected}"
        );
    }
    let err = toml::from_str::<Config>(&format!("[directories.fleet]\n{table}colour = 1\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("colour"), "{err}");
}

#[test]
fn profiles_parse_with_their_defaults_and_the_shipped_set_without_a_table() {
    let text = "[directories.fleet]\ncertificate_lifetime = \"2h\"\nmax_certificate_lifetime = \"12h\"\n\
        default_profile = \"svc\"\nnames.identifier_types = [\"dns\"]\n\
        [directories.fleet.profiles.svc]\ndescription = \"Services\"\n\
        extended_key_usages = [\"clientAuth\"]\nkey_usages = [\"digitalSignature\"]\n\
        certificate_lifetime = \"30m\"\ncommon_name = false\ncrl_distribution_point = false\n";
    let config: Config = toml::from_str(text).unwrap();
    config.validate().unwrap();
    let dir = &config.directories["fleet"];
    let set = dir
        .profile_set("fleet", &[basalt_protocol::IdentifierType::Dns])
        .unwrap();
    assert_eq!(set.default_name(), "svc");
    assert_eq!(set.names(), "svc");
    let (_, svc) = set.get("svc").unwrap();
    assert_eq!(svc.description, "Services");
    assert_eq!(
        svc.leaf.extended_key_usages,
        vec![basalt_signer::ExtendedKeyUsage::ClientAuth]
    );
    assert_eq!(
        svc.leaf.key_usages,
        vec![basalt_signer::KeyUsage::DigitalSignature]
    );
    assert!(!svc.leaf.common_name && !svc.leaf.crl_distribution_point);
    assert_eq!(svc.certificate_lifetime, Some(Duration::from_secs(1800)));
    assert_eq!(svc.max_certificate_lifetime, None);
    assert_eq!(
        svc.identifier_types,
        vec![basalt_protocol::IdentifierType::Dns]
    );

    let shipped = Config::default().directories["default"]
        .profile_set("default", &[basalt_protocol::IdentifierType::Dns])
        .unwrap();
    assert_eq!(shipped.default_name(), "default");
    assert_eq!(shipped.names(), "default, mtls-client, short, tls-server");
    let (_, short) = shipped.get("short").unwrap();
    assert_eq!(
        short.certificate_lifetime,
        Some(Duration::from_secs(6 * 3600))
    );
    let (_, default) = shipped.get("default").unwrap();
    assert_eq!(
        default.identifier_types,
        vec![basalt_protocol::IdentifierType::Dns]
    );
}
