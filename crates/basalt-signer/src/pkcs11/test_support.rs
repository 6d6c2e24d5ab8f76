//! A SoftHSM2 token for one test, in a process of its own.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` (which names its token directory) at C_Initialize, the
//! environment is process-wide, and C_Finalize through any handle finalizes the module for the
//! whole process. So each PKCS#11 test re-runs this test binary for just itself with its own
//! `SOFTHSM2_CONF` (no `unsafe` `set_var`, no test sharing a token or a module state), and the
//! outer test passes when the inner one did. Skipped when SoftHSM2 is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;

use super::{Pkcs11Token, TokenSelector};
use crate::test_support::describe;

pub(crate) const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
pub(crate) const LABEL: &str = "basalt test token";
pub(crate) const PIN: &str = "1234-user-pin";
const SO_PIN: &str = "5678-so-pin";
const TEST_VAR: &str = "BASALT_SOFTHSM_TEST";
const DIR_VAR: &str = "BASALT_SOFTHSM_DIR";

/// `#[test] fn $name` that runs `$body(&SoftHsm)` in its own process with a fresh token.
macro_rules! softhsm_test {
    ($(#[$meta:meta])* fn $name:ident($hsm:ident) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            fn body($hsm: &$crate::pkcs11::test_support::SoftHsm) $body
            $crate::pkcs11::test_support::in_softhsm(
                concat!(module_path!(), "::", stringify!($name)),
                body,
            );
        }
    };
}
pub(crate) use softhsm_test;

/// The test's token: initialised with [`LABEL`], user PIN [`PIN`]. Holds the setup handle to
/// the module, which outlives the token under test (and can finalize the module under it).
pub(crate) struct SoftHsm {
    pub(crate) pkcs11: Pkcs11,
    pub(crate) dir: PathBuf,
}

/// Runs `body` in a child process of this test binary (see the module documentation).
pub(crate) fn in_softhsm(full_name: &str, body: fn(&SoftHsm)) {
    let name = full_name
        .split_once("::")
        .map_or(full_name, |(_crate, path)| path);
    if std::env::var(TEST_VAR).as_deref() == Ok(name) {
        let dir = PathBuf::from(std::env::var(DIR_VAR).expect("the parent sets the directory"));
        body(&SoftHsm::init(dir));
        return;
    }
    if !Path::new(MODULE).exists() {
        eprintln!("SoftHSM2 is not installed ({MODULE}); skipping {name}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    let conf = dir.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env("SOFTHSM2_CONF", &conf)
        .env(TEST_VAR, name)
        .env(DIR_VAR, dir.path())
        .output()
        .unwrap();
    let text = describe(&out);
    assert!(
        out.status.success(),
        "{name} failed in its SoftHSM2 process:\n{text}"
    );
    assert!(text.contains("1 passed"), "{name} did not run:\n{text}");
}

impl SoftHsm {
    fn init(dir: PathBuf) -> Self {
        let pkcs11 = Pkcs11::new(MODULE).unwrap();
        pkcs11
            .initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
            .unwrap();
        let free = pkcs11.get_slots_with_token().unwrap()[0];
        pkcs11
            .init_token(free, &AuthPin::from(SO_PIN), LABEL)
            .unwrap();
        let hsm = Self { pkcs11, dir };
        let session = hsm.session();
        session
            .login(UserType::So, Some(&AuthPin::from(SO_PIN)))
            .unwrap();
        session.init_pin(&AuthPin::from(PIN)).unwrap();
        session.logout().unwrap();
        hsm
    }

    /// A read-write session on the test token (not logged in), through the setup handle.
    pub(crate) fn session(&self) -> Session {
        let slot = self
            .pkcs11
            .get_slots_with_token()
            .unwrap()
            .into_iter()
            .find(|s| self.pkcs11.get_token_info(*s).unwrap().label() == LABEL)
            .unwrap();
        self.pkcs11.open_rw_session(slot).unwrap()
    }

    /// The token, opened as basalt does, with `sessions` pooled sessions.
    pub(crate) fn open(&self, sessions: usize) -> Arc<Pkcs11Token> {
        Pkcs11Token::open(
            Path::new(MODULE),
            &TokenSelector::Label(LABEL.into()),
            PIN.into(),
            sessions,
        )
        .unwrap()
    }

    /// C_Finalize through the setup handle: every session of the process is gone, as when
    /// a token daemon restarts or the device goes away.
    pub(crate) fn finalize(&self) {
        self.pkcs11.clone().finalize().unwrap();
    }

    /// SoftHSM2's token directory.
    pub(crate) fn tokens(&self) -> PathBuf {
        self.dir.join("tokens")
    }
}
