//! `basalt config check` as the real binary: a file with five distinct mistakes gets all
//! five reported (key path and line), exit status 1; a good file exits 0; `serve` refuses
//! the same file listing every problem.

use crate::fixture::{basalt, fails, ok};

const FIVE_MISTAKES: &str = r#"[server]
colour = "blue"
max_connections = 0
[storage]
max_connections = "many"
[validation]
lease = "soon"
[directories.web]
challenge_types = ["smtp-01"]
"#;

#[test]
fn config_check_reports_five_mistakes_at_once_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("basalt.toml");
    std::fs::write(&file, FIVE_MISTAKES).unwrap();
    let output = basalt(dir.path(), &["config", "check"]);
    let stderr = fails(&output);
    assert!(stderr.contains("5 problem(s)"), "{stderr}");
    let table = String::from_utf8(output.stdout).unwrap();
    for (key, line) in [
        ("server.colour", 2),
        ("server.max_connections", 3),
        ("storage.max_connections", 5),
        ("validation.lease", 7),
        ("directories.web.challenge_types", 9),
    ] {
        assert!(
            table
                .lines()
                .any(|l| l.starts_with(key)
                    && l.split_whitespace().nth(1) == Some(&line.to_string())),
            "{key} at line {line} missing from:\n{table}"
        );
    }

    let json = basalt(dir.path(), &["config", "check", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["problems"].as_array().unwrap().len(), 5);

    // serve stops on the same file and names every problem, not only the first.
    let data = dir.path().join("data");
    let config = file.to_str().unwrap();
    let serve = fails(&basalt(
        &data,
        &["serve", "--config", config, "--listen", "127.0.0.1:0"],
    ));
    for key in [
        "server.colour",
        "storage.max_connections",
        "validation.lease",
    ] {
        assert!(
            serve.contains(key),
            "{key} missing from serve's error:\n{serve}"
        );
    }

    std::fs::write(&file, "[directories.web]\n").unwrap();
    assert!(ok(&basalt(dir.path(), &["config", "check"])).contains("no problems"));
}
