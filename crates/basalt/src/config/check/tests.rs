//! Tests for `check`: several mistakes of different kinds reported together, with key paths
//! and lines; overrides from the environment.

use super::*;

/// Five distinct mistakes: an unknown key, a wrong type, a bad duration, a value serde
/// accepts but basalt does not, and an area policy that names an unknown challenge type.
const FIVE_MISTAKES: &str = r#"# basalt.toml with five mistakes
[server]
listen = "127.0.0.1:8443"
colour = "blue"
max_connections = 0

[storage]
max_connections = "many"

[validation]
lease = "soon"

[directories.web]
challenge_types = ["smtp-01"]
"#;

fn keys_and_lines(problems: &[Problem]) -> Vec<(String, Option<usize>)> {
    problems.iter().map(|p| (p.key.clone(), p.line)).collect()
}

#[test]
fn every_mistake_is_reported_at_once_with_its_key_and_line() {
    let problems = check(FIVE_MISTAKES, &[]);
    let mut found = keys_and_lines(&problems);
    found.sort();
    assert_eq!(
        found,
        [
            ("directories.web.challenge_types".to_owned(), Some(14)),
            ("server.colour".to_owned(), Some(4)),
            ("server.max_connections".to_owned(), Some(5)),
            ("storage.max_connections".to_owned(), Some(8)),
            ("validation.lease".to_owned(), Some(11)),
        ],
        "{problems:#?}"
    );
    let text = |key: &str| {
        problems
            .iter()
            .find(|p| p.key == key)
            .map(|p| p.message.clone())
            .unwrap()
    };
    assert!(
        text("server.colour").contains("unknown field"),
        "{problems:#?}"
    );
    assert!(text("server.max_connections").contains("at least 1"));
    assert!(text("directories.web.challenge_types").contains("smtp-01"));
    assert!(parse(FIVE_MISTAKES, &[]).is_err());
}

#[test]
fn a_good_file_has_no_problems_and_parses() {
    let text = "[server]\nlisten = \"127.0.0.1:9443\"\n[directories.default]\n";
    assert_eq!(check(text, &[]), []);
    let config = parse(text, &[]).unwrap();
    assert_eq!(config.server.listen.port(), 9443);
}

#[test]
fn a_syntax_error_names_its_line() {
    let problems = check("[server]\nlisten = \n", &[]);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "");
    assert_eq!(problems[0].line, Some(2));
}

#[test]
fn environment_overrides_apply_and_their_problems_say_so() {
    let overrides = env::overrides([
        (
            "BASALT_SERVER__METRICS_LISTEN".to_owned(),
            "127.0.0.1:9102".to_owned(),
        ),
        ("BASALT_VALIDATION__CONCURRENCY".to_owned(), "0".to_owned()),
    ]);
    let text = "[directories.default]\n";
    let problems = check(text, &overrides);
    assert_eq!(
        keys_and_lines(&problems),
        [("validation.concurrency".to_owned(), None)],
        "{problems:#?}"
    );
    assert!(problems[0].message.contains("set by the environment"));
    let fixed = env::overrides([(
        "BASALT_SERVER__METRICS_LISTEN".to_owned(),
        "127.0.0.1:9102".to_owned(),
    )]);
    let config = parse(text, &fixed).unwrap();
    assert_eq!(
        config.server.metrics_listen,
        Some("127.0.0.1:9102".parse().unwrap())
    );
}
