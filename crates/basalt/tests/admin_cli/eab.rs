//! `basalt eab create|list|revoke` and the kid in `basalt accounts show`, as the real binary
//! (the data directory has no basalt.toml: the default config, one area `default`).

use basalt_storage::{EabBinding, NewAccount};
use time::OffsetDateTime;

use crate::fixture::{basalt, fails, fixture, json, ok};

#[tokio::test]
async fn eab_keys_are_created_listed_and_revoked_and_list_never_shows_a_key() {
    let f = fixture().await;
    let data = f.dir.path();

    let created = json(&basalt(
        data,
        &[
            "eab",
            "create",
            "--area",
            "default",
            "--expires",
            "30d",
            "--note",
            "team a",
            "--json",
        ],
    ));
    let kid = created["kid"].as_str().unwrap().to_owned();
    let hmac = created["hmac_key"].as_str().unwrap().to_owned();
    assert_eq!(kid.len(), 22, "{created}");
    assert_eq!(
        hmac.len(),
        43,
        "32 bytes, base64url without padding: {created}"
    );
    assert!(!hmac.contains('='), "{hmac}");
    assert_eq!(created["reusable"], false);
    assert_eq!(created["note"], "team a");
    assert!(created["expires_at"].is_string(), "{created}");
    assert!(
        created["snippets"]["lego"]
            .as_str()
            .unwrap()
            .contains(&format!("--eab --kid {kid} --hmac {hmac}")),
        "{created}"
    );
    let stored = f.store.eab_key(&kid).await.unwrap().unwrap();
    assert_eq!(stored.hmac_key, hmac);

    let text = ok(&basalt(
        data,
        &[
            "eab",
            "create",
            "--area",
            "default",
            "--reusable",
            "--server-url",
            "https://ca.test:8443",
        ],
    ));
    for wanted in [
        "--eab-kid",
        "--eab-hmac-key",
        "--server https://ca.test:8443/acme/default/directory",
        "kind: ClusterIssuer",
        "keySecretRef:",
    ] {
        assert!(text.contains(wanted), "{wanted} in {text}");
    }
    let other_hmac = text
        .lines()
        .find_map(|l| l.strip_prefix("hmac key:"))
        .unwrap()
        .trim()
        .to_owned();

    let refused = fails(&basalt(data, &["eab", "create", "--area", "nope"]));
    assert!(refused.contains("\"nope\""), "{refused}");

    let table = ok(&basalt(data, &["eab", "list"]));
    let listed = json(&basalt(data, &["eab", "list", "--json"]));
    assert!(table.lines().next().unwrap().starts_with("KID"), "{table}");
    assert!(table.contains(&kid) && table.contains("single-use") && table.contains("reusable"));
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    for key in [&hmac, &other_hmac] {
        assert!(!table.contains(key.as_str()), "the table shows an HMAC key");
        assert!(
            !listed.to_string().contains(key.as_str()),
            "--json shows an HMAC key"
        );
    }

    let refused = fails(&basalt(data, &["eab", "revoke", "no-such-kid"]));
    assert!(refused.contains("no-such-kid"), "{refused}");
    let revoked = json(&basalt(data, &["eab", "revoke", &kid, "--json"]));
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let again = fails(&basalt(data, &["eab", "revoke", &kid]));
    assert!(again.contains("already revoked"), "{again}");
}

#[tokio::test]
async fn accounts_show_names_the_eab_kid() {
    let f = fixture().await;
    let data = f.dir.path();
    let created = json(&basalt(
        data,
        &["eab", "create", "--area", "default", "--json"],
    ));
    let kid = created["kid"].as_str().unwrap();
    let account = f
        .store
        .insert_account_bound(
            &NewAccount {
                directory: "default".into(),
                key_thumbprint: "thumb-eab".into(),
                jwk: "{}".into(),
                contact: vec![],
                terms_of_service_agreed: true,
                now: OffsetDateTime::now_utc(),
            },
            &EabBinding { kid: kid.into() },
        )
        .await
        .unwrap();
    let id = account.id.to_string();
    let text = ok(&basalt(data, &["accounts", "show", &id]));
    assert!(
        text.lines()
            .any(|l| l.starts_with("eab kid:") && l.ends_with(kid)),
        "{text}"
    );
    assert_eq!(
        json(&basalt(data, &["accounts", "show", &id, "--json"]))["eab_kid"],
        kid
    );
    let plain = ok(&basalt(data, &["accounts", "show", &f.alice.to_string()]));
    assert!(
        plain
            .lines()
            .any(|l| l.starts_with("eab kid:") && l.ends_with('-')),
        "{plain}"
    );
}

/// A key id or HMAC key starting with `-` would be read as a flag after `--eab-kid`,
/// `--hmac` or `basalt eab revoke`; one in 32 random values would, so 80 of them make a
/// regression likely to show.
#[tokio::test]
async fn no_kid_or_hmac_key_starts_with_a_dash() {
    let f = fixture().await;
    let data = f.dir.path();
    for _ in 0..40 {
        let created = json(&basalt(
            data,
            &["eab", "create", "--area", "default", "--json"],
        ));
        for member in ["kid", "hmac_key"] {
            let value = created[member].as_str().unwrap();
            assert!(!value.starts_with('-'), "{member} {value}");
        }
        ok(&basalt(
            data,
            &["eab", "revoke", created["kid"].as_str().unwrap()],
        ));
    }
}
