//! `basalt eab create`: a new key for an area. The HMAC key is printed here once and
//! never again (`list` cannot show it); the database keeps it because checking a binding
//! needs it (docs/eab.md).

use anyhow::{Context, bail};
use basalt_storage::{EAB_KID, Error, NewEabKey};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::snippets::{Snippets, directory_url};
use super::{expiry, to_json, usage};
use crate::cli::EabCreateArgs;
use crate::commands::admin::print_json;
use crate::commands::admin::store::{Missing, open_with};
use crate::config::Config;

/// Random bytes of a key id (22 base64url characters).
const KID_BYTES: usize = 16;
/// Random bytes of an HMAC key: 256 bits, HS256's block-size-free minimum (RFC 7518 §3.2).
const HMAC_KEY_BYTES: usize = 32;

pub(super) async fn run(args: &EabCreateArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.admin.config_path())?;
    let area = &args.area;
    let Some(section) = config.directories.get(area) else {
        bail!(
            "no area {area:?} in {} (areas: {})",
            args.admin.config_path().display(),
            config
                .directories
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    if section.external_account_binding.as_deref().unwrap_or("off") == "off" {
        eprintln!(
            "basalt: note: directories.{area}.external_account_binding is \"off\": the area ignores bindings until it is \"optional\" or \"required\""
        );
    }
    let store = open_with(&args.admin, &config, Missing::Refuse).await?;
    let rng = SystemRandom::new();
    let kid = random_token::<KID_BYTES>(&rng)?.to_string();
    let hmac_key = random_token::<HMAC_KEY_BYTES>(&rng)?;
    let now = OffsetDateTime::now_utc();
    let expires_at = args
        .expires
        .map(|d| {
            time::Duration::try_from(d)
                .ok()
                .and_then(|d| now.checked_add(d))
                .context("--expires is too far in the future")
        })
        .transpose()?;
    let created = match store
        .create_eab_key(&NewEabKey {
            kid,
            directory: area.clone(),
            hmac_key: hmac_key.to_string(),
            reusable: args.reusable,
            note: args.note.clone(),
            created_at: now,
            expires_at,
        })
        .await
    {
        Ok(created) => created,
        // 128 random bits: only a broken RNG repeats a kid.
        Err(Error::Duplicate { what, .. }) if what == EAB_KID => {
            bail!("the new key id is already taken; run the command again")
        }
        Err(e) => return Err(e.into()),
    };
    let url = directory_url(&config, area, args.server_url.as_deref());
    let snippets = Snippets::new(&url, &created.kid, &hmac_key, area);
    if args.admin.json {
        let mut value = to_json(&created);
        value["hmac_key"] = hmac_key.as_str().into();
        value["directory_url"] = url.clone().into();
        value["snippets"] = snippets.to_json();
        return print_json(&value);
    }
    println!(
        "basalt: EAB key for area {area} ({}, expires {})",
        usage(&created),
        expiry(&created)
    );
    println!("kid:      {}", created.kid);
    println!("hmac key: {}", hmac_key.as_str());
    println!("directory: {url}");
    println!();
    println!("The HMAC key is shown only now; basalt eab list never prints it.");
    println!();
    print!("{}", snippets.text());
    Ok(())
}

/// `N` random bytes from the system RNG as base64url without padding, drawn again while the
/// text starts with `-`: pasted after `--eab-kid`, `--hmac` or `basalt eab revoke`, such a
/// value would be read as a flag (it costs under 6 bits of the first character's entropy).
fn random_token<const N: usize>(rng: &SystemRandom) -> anyhow::Result<Zeroizing<String>> {
    let mut bytes = Zeroizing::new([0u8; N]);
    loop {
        rng.fill(bytes.as_mut())
            .map_err(|_| anyhow::anyhow!("the system random number generator failed"))?;
        let text = Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref()));
        if !text.starts_with('-') {
            return Ok(text);
        }
    }
}
