//! Turning an intermediate's `key_ref` into a key the signer can use, with the secrets
//! `[keys]` names.
//!
//! One [`KeyContext`] lives as long as the process: it reads the passphrase and the PIN once,
//! and keeps each PKCS#11 token open (its logged-in session pool) across area reloads, so a
//! reload after a rotation does not log in again.

mod secret;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, bail};
use basalt_signer::{
    KeySource, Passphrase, Pkcs11Token, Pkcs11Uri, TokenSelector, load_or_create_seal_secret,
};
use zeroize::Zeroizing;

use crate::config::KeysSection;
use secret::SecretSource;

/// The serving certificate's key is sealed under a key derived from the first area's
/// intermediate key; a token key has no private bytes, so this random secret (0600, in the
/// data directory) stands in for them, with the token key's public key.
const SEAL_SECRET_FILE: &str = "serving-seal.key";

/// The PKCS#11 module and how to log in.
struct Pkcs11Settings {
    module: PathBuf,
    pin: Passphrase,
    sessions: usize,
}

/// What resolving `key_ref`s needs; see the module docs.
pub(crate) struct KeyContext {
    data: PathBuf,
    passphrase: Option<Passphrase>,
    pkcs11: Option<Pkcs11Settings>,
    tokens: Mutex<HashMap<String, Arc<Pkcs11Token>>>,
}

impl KeyContext {
    /// Reads the configured secrets (an error names the key); opens no token yet.
    pub(crate) fn from_config(data: &Path, keys: &KeysSection) -> anyhow::Result<Self> {
        let passphrase = SecretSource {
            what: "the passphrase of encrypted intermediate keys",
            file: keys
                .passphrase_file
                .as_deref()
                .map(|p| ("keys.passphrase_file", p)),
            env: keys
                .passphrase_env
                .as_deref()
                .map(|n| ("keys.passphrase_env", n)),
            credential: keys
                .passphrase_credential
                .as_deref()
                .map(|n| ("keys.passphrase_credential", n)),
        }
        .read()?;
        let pin = SecretSource {
            what: "the PKCS#11 token's PIN",
            file: keys
                .pkcs11_pin_file
                .as_deref()
                .map(|p| ("keys.pkcs11_pin_file", p)),
            env: keys
                .pkcs11_pin_env
                .as_deref()
                .map(|n| ("keys.pkcs11_pin_env", n)),
            credential: keys
                .pkcs11_pin_credential
                .as_deref()
                .map(|n| ("keys.pkcs11_pin_credential", n)),
        }
        .read()?;
        let pkcs11 = match (&keys.pkcs11_module, pin) {
            (Some(module), Some(pin)) => Some(Pkcs11Settings {
                module: module.clone(),
                pin,
                sessions: keys.pkcs11_sessions.max(1),
            }),
            (Some(_), None) => bail!(
                "keys.pkcs11_module is set but no PIN: set keys.pkcs11_pin_file, pkcs11_pin_env or pkcs11_pin_credential"
            ),
            (None, Some(_)) => bail!("a PKCS#11 PIN is configured but keys.pkcs11_module is not"),
            (None, None) => None,
        };
        Ok(Self {
            data: data.to_path_buf(),
            passphrase,
            pkcs11,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The passphrase of encrypted key files, if configured.
    pub(crate) fn passphrase(&self) -> Option<Passphrase> {
        self.passphrase.clone()
    }

    /// The key `key_ref` names: a `pkcs11:` URI, or a key file relative to the data
    /// directory (an encrypted one is given the configured passphrase).
    pub(crate) fn source(&self, key_ref: &str) -> anyhow::Result<KeySource> {
        if key_ref.starts_with("pkcs11:") {
            let uri: Pkcs11Uri = key_ref.parse().with_context(|| format!("key {key_ref}"))?;
            let selector = match (&uri.token_label, &uri.token_serial) {
                (_, Some(serial)) => TokenSelector::Serial(serial.clone()),
                (Some(label), None) => TokenSelector::Label(label.clone()),
                (None, None) => bail!("key {key_ref}: the URI names no token (token= or serial=)"),
            };
            return Ok(KeySource::Pkcs11 {
                token: self.token(&selector)?,
                uri,
                seal_secret: self.seal_secret()?,
            });
        }
        let path = self.data.join(key_ref);
        let encrypted = std::fs::read_to_string(&path)
            .map(|text| text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----"))
            .unwrap_or(false);
        if encrypted && self.passphrase.is_none() {
            bail!(
                "{} is an encrypted key, and no passphrase is configured (keys.passphrase_file, passphrase_env or passphrase_credential)",
                path.display()
            );
        }
        Ok(KeySource::File {
            path,
            passphrase: if encrypted { self.passphrase() } else { None },
        })
    }

    /// The open token `selector` names, opening (and logging in to) it the first time.
    pub(crate) fn token(&self, selector: &TokenSelector) -> anyhow::Result<Arc<Pkcs11Token>> {
        let Some(settings) = &self.pkcs11 else {
            bail!("a key is in a PKCS#11 token ({selector}), but keys.pkcs11_module is not set");
        };
        let key = selector.to_string();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(token) = tokens.get(&key) {
            return Ok(token.clone());
        }
        let token = Pkcs11Token::open(
            &settings.module,
            selector,
            settings.pin.clone(),
            settings.sessions,
        )
        .with_context(|| format!("opening {selector}"))?;
        tokens.insert(key, token.clone());
        Ok(token)
    }

    /// The random secret the serving key's seal is derived from for a token key, made
    /// (0600) the first time one is needed.
    fn seal_secret(&self) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        Ok(load_or_create_seal_secret(
            &self.data.join(SEAL_SECRET_FILE),
        )?)
    }
}
