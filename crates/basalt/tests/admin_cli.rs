//! The admin commands (`basalt certs`, `accounts`, `orders`) run as the real binary against
//! a SQLite database populated through basalt-storage: tables, `--json`, filters,
//! revocation and deactivation, and refusals of bad input with a message and a non-zero
//! exit.

#[path = "admin_cli/fixture.rs"]
mod fixture;

#[path = "admin_cli/config_check.rs"]
mod config_check;
#[path = "admin_cli/eab.rs"]
mod eab;

use serde_json::Value;

use fixture::{basalt, fails, fixture, json, ok};

fn serials(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a JSON array")
        .iter()
        .map(|c| c["serial"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn certs_list_prints_a_table_and_filters() {
    let f = fixture().await;
    let data = f.dir.path();

    let table = ok(&basalt(data, &["certs", "list"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("SERIAL"), "{table}");
    assert!(lines[0].contains("NOT AFTER"), "{table}");
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[1].starts_with("0d "), "newest first: {table}");
    assert!(
        lines[3].contains("0a1b") && lines[3].contains("a.test,www.a.test"),
        "{table}"
    );
    assert!(lines[3].contains("valid"), "{table}");
    assert!(lines[2].contains("expired"), "{table}");

    let all = json(&basalt(data, &["certs", "list", "--json"]));
    assert_eq!(serials(&all), ["0d", "0c", "0a1b"]);
    assert_eq!(all[2]["area"], "prod");
    assert_eq!(all[2]["intermediate_key_id"], f.prod.key_id);
    assert_eq!(all[0]["intermediate_id"], Value::Null);

    let cases: &[(&[&str], &[&str])] = &[
        (&["--area", "prod"], &["0c", "0a1b"]),
        (&["--account", &f.bob.to_string()], &["0d"]),
        (&["--name", "A.Test."], &["0d", "0a1b"]),
        (&["--name", "www.a.test"], &["0a1b"]),
        (&["--status", "expired"], &["0c"]),
        (&["--status", "valid"], &["0d", "0a1b"]),
        (&["--status", "revoked"], &[]),
        (&["--expiring-within", "1h"], &[]),
        (&["--expiring-within", "3h"], &["0d"]),
        (&["--expiring-within", "31days"], &["0d", "0a1b"]),
        (
            &[
                "--area",
                "prod",
                "--account",
                &f.alice.to_string(),
                "--status",
                "valid",
            ],
            &["0a1b"],
        ),
        (&["--limit", "1"], &["0d"]),
    ];
    for (filter, expected) in cases {
        let mut args = vec!["certs", "list", "--json"];
        args.extend_from_slice(filter);
        assert_eq!(
            serials(&json(&basalt(data, &args))),
            *expected,
            "{filter:?}"
        );
    }
    let limited = basalt(data, &["certs", "list", "--limit", "1"]);
    ok(&limited);
    assert!(String::from_utf8_lossy(&limited.stderr).contains("--limit"));
    let empty = ok(&basalt(data, &["certs", "list", "--status", "revoked"]));
    assert!(empty.contains("(none)"), "{empty}");

    let err = fails(&basalt(
        data,
        &["certs", "list", "--expiring-within", "soon"],
    ));
    assert!(err.contains("soon"), "{err}");
    let err = fails(&basalt(data, &["certs", "list", "--name", "not a name"]));
    assert!(err.contains("--name"), "{err}");
    let err = fails(&basalt(data, &["certs", "list", "--status", "bogus"]));
    assert!(err.contains("bogus"), "{err}");
}

#[tokio::test]
async fn certs_show_prints_one_certificate() {
    let f = fixture().await;
    let data = f.dir.path();
    let text = ok(&basalt(data, &["certs", "show", "0A:1B"]));
    assert!(text.contains("serial:"), "{text}");
    assert!(text.contains("0a1b"), "{text}");
    assert!(text.contains(&f.prod.key_id), "{text}");
    assert!(
        text.contains("profile:") && text.contains("tls-server"),
        "{text}"
    );
    assert!(text.contains("-----BEGIN CERTIFICATE-----"), "{text}");
    let shown = json(&basalt(data, &["certs", "show", "0a1b", "--json"]));
    assert_eq!(shown["status"], "valid");
    assert_eq!(shown["names"], serde_json::json!(["a.test", "www.a.test"]));
    assert_eq!(shown["profile"], "tls-server");
    assert!(shown["chain_pem"].as_str().unwrap().contains("0a1b=="));

    let err = fails(&basalt(data, &["certs", "show", "ffff"]));
    assert!(err.contains("no certificate with serial ffff"), "{err}");
    let err = fails(&basalt(data, &["certs", "show", "xyz"]));
    assert!(err.contains("not a certificate serial"), "{err}");
}

#[tokio::test]
async fn certs_revoke_revokes_once_and_marks_the_crl_stale() {
    let f = fixture().await;
    let data = f.dir.path();
    let before = f
        .store
        .intermediate_by_key_id(&f.prod.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.revocations, 0);

    let err = fails(&basalt(data, &["certs", "revoke", "0a1b", "--reason", "7"]));
    assert!(err.contains("not used"), "{err}");
    let err = fails(&basalt(
        data,
        &["certs", "revoke", "0a1b", "--reason", "sometimes"],
    ));
    assert!(err.contains("unknown revocation reason"), "{err}");
    let err = fails(&basalt(
        data,
        &["certs", "revoke", "0a1b", "--reason", "certificateHold"],
    ));
    assert!(err.contains("refused"), "{err}");
    let err = fails(&basalt(data, &["certs", "revoke", "0a1b"]));
    assert!(err.contains("--reason"), "{err}");
    let err = fails(&basalt(
        data,
        &["certs", "revoke", "ffff", "--reason", "superseded"],
    ));
    assert!(err.contains("no certificate with serial ffff"), "{err}");
    let unchanged = f
        .store
        .certificate_by_serial("0a1b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(unchanged.revoked_at, None);

    let text = ok(&basalt(
        data,
        &["certs", "revoke", "0a1b", "--reason", "keyCompromise"],
    ));
    assert!(
        text.contains("revoked certificate 0a1b (keyCompromise)"),
        "{text}"
    );
    let revoked = f
        .store
        .certificate_by_serial("0a1b")
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(revoked.revocation_reason, Some(1));
    let after = f
        .store
        .intermediate_by_key_id(&f.prod.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.revocations, 1);
    let shown = json(&basalt(data, &["certs", "show", "0a1b", "--json"]));
    assert_eq!(shown["status"], "revoked");
    assert_eq!(shown["revocation_reason"], "keyCompromise");
    assert_eq!(shown["revocation_reason_code"], 1);

    let err = fails(&basalt(
        data,
        &["certs", "revoke", "0a1b", "--reason", "superseded"],
    ));
    assert!(err.contains("already revoked"), "{err}");
    assert!(err.contains("keyCompromise"), "{err}");
    let again = f
        .store
        .intermediate_by_key_id(&f.prod.key_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.revocations, 1);

    // By number, with --json; a certificate without an intermediate counts for none.
    let revoked = json(&basalt(
        data,
        &["certs", "revoke", "0d", "--reason", "4", "--json"],
    ));
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "superseded");
    let listed = json(&basalt(
        data,
        &["certs", "list", "--status", "revoked", "--json"],
    ));
    assert_eq!(serials(&listed), ["0d", "0a1b"]);
}

#[tokio::test]
async fn accounts_list_show_and_deactivate() {
    let f = fixture().await;
    let data = f.dir.path();
    let table = ok(&basalt(data, &["accounts", "list"]));
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains("mailto:alice@example.test"), "{table}");
    let all = json(&basalt(data, &["accounts", "list", "--json"]));
    let ids: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [f.bob, f.alice]);
    let prod = json(&basalt(
        data,
        &["accounts", "list", "--area", "prod", "--json"],
    ));
    assert_eq!(prod.as_array().unwrap().len(), 1);
    assert_eq!(prod[0]["id"], f.alice);

    let alice = f.alice.to_string();
    let shown = json(&basalt(data, &["accounts", "show", &alice, "--json"]));
    assert_eq!(shown["status"], "valid");
    assert_eq!(shown["certificates"], 2);
    assert_eq!(shown["jwk"]["kty"], "EC");
    let text = ok(&basalt(data, &["accounts", "show", &alice]));
    assert!(text.contains("thumb-alice"), "{text}");

    let text = ok(&basalt(data, &["accounts", "deactivate", &alice]));
    assert!(
        text.contains(&format!("deactivated account {alice}")),
        "{text}"
    );
    let stored = f.store.account(f.alice).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "deactivated");
    let err = fails(&basalt(data, &["accounts", "deactivate", &alice]));
    assert!(err.contains("is deactivated"), "{err}");
    let gone = json(&basalt(
        data,
        &["accounts", "list", "--status", "deactivated", "--json"],
    ));
    assert_eq!(gone.as_array().unwrap().len(), 1);

    let err = fails(&basalt(data, &["accounts", "show", "999"]));
    assert!(err.contains("no account with id 999"), "{err}");
    let err = fails(&basalt(data, &["accounts", "deactivate", "999"]));
    assert!(err.contains("no account with id 999"), "{err}");
    let err = fails(&basalt(data, &["accounts", "show", "x"]));
    assert!(err.contains("'x'"), "{err}");
}

#[tokio::test]
async fn orders_show_prints_one_order() {
    let f = fixture().await;
    let data = f.dir.path();
    let id = f.order_id.to_string();
    let text = ok(&basalt(data, &["orders", "show", &id]));
    assert!(text.contains("certificate:"), "{text}");
    assert!(text.contains("0a1b"), "{text}");
    assert!(
        text.contains("profile:") && text.contains("tls-server"),
        "{text}"
    );
    let shown = json(&basalt(data, &["orders", "show", &id, "--json"]));
    assert_eq!(shown["status"], "valid");
    assert_eq!(shown["profile"], "tls-server");
    assert_eq!(shown["certificate_serial"], "0a1b");
    assert_eq!(shown["identifiers"][0]["value"], "a.test");
    assert_eq!(shown["account_id"], f.alice);
    let err = fails(&basalt(data, &["orders", "show", "999"]));
    assert!(err.contains("no order with id 999"), "{err}");
}

#[test]
fn a_missing_database_is_an_error_not_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let err = fails(&basalt(dir.path(), &["certs", "list"]));
    assert!(err.contains("no database at"), "{err}");
    assert!(!dir.path().join("basalt.db").exists());
}

#[tokio::test]
async fn certs_renew_early_marks_the_selection_and_refuses_what_matches_nothing() {
    let f = fixture().await;
    let data = f.dir.path();
    let notice = |serial: &str| {
        let store = f.store.clone();
        let serial = serial.to_owned();
        async move {
            store
                .renewal_certificate(&serial)
                .await
                .unwrap()
                .unwrap()
                .renewal_notice_id
        }
    };

    // Exactly one selection, and a note.
    fails(&basalt(data, &["certs", "renew-early", "--note", "x"]));
    fails(&basalt(
        data,
        &[
            "certs",
            "renew-early",
            "--area",
            "prod",
            "--serial",
            "0c",
            "--note",
            "x",
        ],
    ));
    let err = fails(&basalt(
        data,
        &["certs", "renew-early", "--area", "prod", "--note", " "],
    ));
    assert!(err.contains("--note"), "{err}");
    let err = fails(&basalt(
        data,
        &[
            "certs",
            "renew-early",
            "--name-suffix",
            "a..test",
            "--note",
            "x",
        ],
    ));
    assert!(err.contains("--name-suffix"), "{err}");
    // 0c is expired: nothing matches, nothing is stored.
    let err = fails(&basalt(
        data,
        &["certs", "renew-early", "--serial", "0C", "--note", "x"],
    ));
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(f.store.renewal_notice(1).await.unwrap(), None);

    let text = ok(&basalt(
        data,
        &[
            "certs",
            "renew-early",
            "--name-suffix",
            "a.test",
            "--note",
            "Incident 3",
        ],
    ));
    assert!(text.contains("2 certificate(s)"), "{text}");
    assert!(text.contains("Incident 3"), "{text}");
    assert_eq!(notice("0a1b").await, Some(1));
    assert_eq!(notice("0d").await, Some(1));
    assert_eq!(notice("0c").await, None);

    let marked = json(&basalt(
        data,
        &[
            "certs",
            "renew-early",
            "--intermediate",
            &f.prod.key_id.to_uppercase(),
            "--note",
            "rotating prod",
            "--json",
        ],
    ));
    assert_eq!(marked["certificates"], 1);
    assert_eq!(marked["notice_id"], 2);
    assert_eq!(marked["note"], "rotating prod");
    assert_eq!(notice("0a1b").await, Some(2));
    assert_eq!(notice("0d").await, Some(1));
}
