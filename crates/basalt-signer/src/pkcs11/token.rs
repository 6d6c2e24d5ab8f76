//! One PKCS#11 token opened through its module, with a pool of logged-in sessions.
//!
//! `cryptoki::session::Session` is `Send` but not `Sync`, and a session runs one operation at
//! a time (PKCS#11 v2.40 §5.6), so concurrent finalizations each need their own: the pool has
//! one `Mutex` per session, picked round-robin (a free one first, so a slow signature does not
//! queue the next behind it).
//!
//! Token trouble is an outage, not a crash: an operation that fails drops its session and
//! marks every other open session stale (a new *epoch*), so the next operation reconnects
//! from scratch (C_Initialize if the module was finalized, the slot found again by label or
//! serial, a new session, C_Login) and basalt recovers by itself when the token is back.
//! When a session fresh from such a reconnect fails too, the module itself may be in a bad
//! state (a module may keep listing a token whose store went away and came back, without
//! finding its keys), so the next reconnect restarts the module (C_Finalize, C_Initialize)
//! first.
//!
//! Session handles are small integers a module hands out again after a restart. A session
//! opened before a restart is therefore never closed (C_CloseSession on its old handle
//! could close a new session that got the same number, or log the token out); it is
//! forgotten instead, a few bytes per pooled session per restart. Reconnects and restarts
//! run one at a time in the process ([`RECONNECTING`]), so that check cannot race a
//! restart.
//!
//! A PIN the token refuses is never offered again by this process. Reconnecting is
//! automatic, and tokens count wrong PINs: a Nitrokey HSM blocks its user PIN after 3, a
//! smart card after 3 to 10, and only the SO PIN unblocks it. So after `CKR_PIN_INCORRECT`
//! (or `CKR_PIN_LOCKED`, `CKR_PIN_EXPIRED`) every later login fails at once with
//! [`Error::PinRefused`] without calling C_Login, until an operator corrects the PIN and
//! restarts basalt.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, TryLockError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::ObjectHandle;
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use crate::{Error, Passphrase};

/// How many times this process has restarted a PKCS#11 module (C_Finalize, C_Initialize):
/// a session opened before the last restart has a handle that may now be someone else's.
static MODULE_RESTARTS: AtomicU64 = AtomicU64::new(0);

/// Held while reconnecting, restarting a module or closing a retired session.
static RECONNECTING: Mutex<()> = Mutex::new(());

/// Which token of the module: by its label or its serial number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSelector {
    Label(String),
    Serial(String),
}

impl fmt::Display for TokenSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Label(label) => write!(f, "token {label:?}"),
            Self::Serial(serial) => write!(f, "token with serial {serial:?}"),
        }
    }
}

/// A loaded PKCS#11 module with a logged-in session pool for one token; reconnects by itself.
/// Shared (`Arc`) by every intermediate whose key is in this token.
pub struct Pkcs11Token {
    module: PathBuf,
    pkcs11: Pkcs11,
    selector: TokenSelector,
    /// The token's label and serial as the token reported them when opened.
    label: String,
    serial: String,
    /// Wiped on drop; each login hands cryptoki a copy in its own zeroizing `AuthPin`.
    pin: Passphrase,
    sessions: Vec<Mutex<Option<Live>>>,
    next: AtomicUsize,
    /// Bumped on every token failure: sessions opened in an older epoch are reopened.
    epoch: AtomicU64,
    /// Set when a freshly reconnected session failed: the next reconnect restarts the module.
    restart_pending: AtomicBool,
    /// Why the token refused the PIN, once it has: the PIN is not offered again.
    pin_refused: Mutex<Option<String>>,
}

/// An open, logged-in session and the key handles found through it.
pub(crate) struct Live {
    epoch: u64,
    /// [`MODULE_RESTARTS`] when the session was opened.
    incarnation: u64,
    pub(crate) session: Session,
    /// Object handles by the lookup key of [`crate::pkcs11::Pkcs11Key`]; handles may change
    /// when the module is re-initialised, so they live and die with the session.
    pub(crate) handles: HashMap<String, ObjectHandle>,
}

/// Why an operation through the pool failed.
#[derive(Debug)]
pub(crate) enum SessionError {
    /// The token, the session or the module failed: the session is dropped.
    Unavailable(String),
    /// The token works but refused what was asked (no such key, wrong type…).
    Refused(String),
}

impl From<CkError> for SessionError {
    fn from(e: CkError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl fmt::Debug for Pkcs11Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Token")
            .field("module", &self.module)
            .field("label", &self.label)
            .field("serial", &self.serial)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Pkcs11Token {
    /// Loads `module`, finds the token, logs in with `pin` and keeps up to `sessions` (at
    /// least one) logged-in sessions for concurrent signing. Every failure here is
    /// [`Error::Token`] naming the module, the token or the PIN.
    pub fn open(
        module: &Path,
        token: &TokenSelector,
        pin: Passphrase,
        sessions: usize,
    ) -> Result<Arc<Self>, Error> {
        let module_error = |reason: String| Error::Token {
            what: format!("PKCS#11 module {}", module.display()),
            reason,
        };
        let pkcs11 =
            Pkcs11::new(module).map_err(|e| module_error(format!("does not load: {e}")))?;
        initialize(&pkcs11).map_err(|e| module_error(format!("C_Initialize failed: {e}")))?;
        let mut opened = Self {
            module: module.to_path_buf(),
            pkcs11,
            selector: token.clone(),
            label: String::new(),
            serial: String::new(),
            pin,
            sessions: (0..sessions.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            epoch: AtomicU64::new(0),
            restart_pending: AtomicBool::new(false),
            pin_refused: Mutex::new(None),
        };
        let (slot, label, serial) = opened.find_slot()?;
        opened.label = label;
        opened.serial = serial;
        let session = opened.login(slot)?;
        *lock(&opened.sessions[0]) = Some(opened.live(session));
        tracing::info!(
            module = %module.display(),
            token.label = %opened.label,
            token.serial = %opened.serial,
            sessions = opened.sessions.len(),
            "opened PKCS#11 token"
        );
        Ok(Arc::new(opened))
    }

    /// The token's label, as the token reports it.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The token's serial number, as the token reports it.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    pub fn module(&self) -> &Path {
        &self.module
    }

    /// The token, for error messages.
    pub(crate) fn describe(&self) -> String {
        format!("token {:?} (module {})", self.label, self.module.display())
    }

    /// Runs `operation` on a pooled session, reconnecting first if the pool holds none (or a
    /// stale one). A [`SessionError::Unavailable`] drops the session and starts a new epoch.
    pub(crate) fn with_session<T>(
        &self,
        operation: impl FnOnce(&mut Live) -> Result<T, SessionError>,
    ) -> Result<T, SessionError> {
        let mut slot = self.pick();
        let epoch = self.epoch.load(Ordering::SeqCst);
        let (mut live, fresh) = match slot.take() {
            Some(live) if live.epoch == epoch => (live, false),
            // None, or opened before the last failure: (re)connect.
            stale => {
                if let Some(stale) = stale {
                    retire(stale);
                }
                let live = self
                    .reconnect()
                    .map_err(|e| SessionError::Unavailable(e.to_string()))?;
                (live, true)
            }
        };
        let result = operation(&mut live);
        match &result {
            Err(SessionError::Unavailable(reason)) => {
                tracing::warn!(
                    token = %self.label,
                    error = %reason,
                    "PKCS#11 token failed; its sessions are reopened on the next use"
                );
                if fresh {
                    // Reopening the session did not help: restart the module next time.
                    self.restart_pending.store(true, Ordering::SeqCst);
                }
                self.epoch.fetch_add(1, Ordering::SeqCst);
                retire(live);
            }
            _ => *slot = Some(live),
        }
        result
    }

    /// A new read-write session, logged in, outside the pool (key generation).
    pub(crate) fn rw_session(&self) -> Result<Session, Error> {
        let (slot, _, _) = self.find_slot()?;
        let session = self
            .pkcs11
            .open_rw_session(slot)
            .map_err(|e| self.error(e))?;
        self.log_in(&session)?;
        Ok(session)
    }

    /// A free pooled session if there is one, else the next in turn (waiting for it).
    fn pick(&self) -> MutexGuard<'_, Option<Live>> {
        let count = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % count;
        (0..count)
            .find_map(|i| match self.sessions[(start + i) % count].try_lock() {
                Ok(guard) => Some(guard),
                Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
                Err(TryLockError::WouldBlock) => None,
            })
            .unwrap_or_else(|| lock(&self.sessions[start]))
    }

    /// Opens a logged-in session after a failure: the module may have been finalized (a
    /// restarted token daemon, a removed device), the slot may have changed, or the module
    /// may need a restart to see the token again.
    fn reconnect(&self) -> Result<Live, Error> {
        let _one_at_a_time = lock(&RECONNECTING);
        if self.restart_pending.swap(false, Ordering::SeqCst) {
            self.restart_module()?;
        } else {
            initialize(&self.pkcs11).map_err(|e| self.error(e))?;
        }
        let (slot, _, _) = match self.find_slot() {
            Ok(found) => found,
            Err(_) => {
                self.restart_module()?;
                self.find_slot()?
            }
        };
        let session = self.login(slot)?;
        Ok(self.live(session))
    }

    /// `session` as a pooled session of the current epoch and module incarnation. Read once
    /// the session is open: a module restart on the way started a new epoch, and the session
    /// belongs to it.
    fn live(&self, session: Session) -> Live {
        Live {
            epoch: self.epoch.load(Ordering::SeqCst),
            incarnation: MODULE_RESTARTS.load(Ordering::SeqCst),
            session,
            handles: HashMap::new(),
        }
    }

    /// C_Finalize and C_Initialize again: a module lists its tokens as they were at
    /// C_Initialize (SoftHSM2 scans its token directory then; a re-plugged device may get a
    /// new slot), so a token that went away and came back is only found after a restart.
    /// `Pkcs11::finalize` consumes its handle, so a second handle on the same (already
    /// loaded) module finalizes it for the whole process; every other session fails once and
    /// reconnects through here too. Called with [`RECONNECTING`] held.
    fn restart_module(&self) -> Result<(), Error> {
        if let Ok(other) = Pkcs11::new(&self.module) {
            let _ = other.finalize();
        }
        MODULE_RESTARTS.fetch_add(1, Ordering::SeqCst);
        // Every session (and object handle) opened before is gone: retire them all at once
        // instead of letting each fail a signature first.
        self.epoch.fetch_add(1, Ordering::SeqCst);
        initialize(&self.pkcs11).map_err(|e| self.error(e))
    }

    fn login(&self, slot: Slot) -> Result<Session, Error> {
        let session = self
            .pkcs11
            .open_ro_session(slot)
            .map_err(|e| self.error(e))?;
        self.log_in(&session)?;
        Ok(session)
    }

    /// C_Login with the configured PIN, unless the token has refused it before: then
    /// [`Error::PinRefused`] at once, so that retries cannot lock the token.
    fn log_in(&self, session: &Session) -> Result<(), Error> {
        let mut refused = lock(&self.pin_refused);
        if let Some(reason) = refused.as_ref() {
            return Err(Error::PinRefused {
                what: self.describe(),
                reason: format!(
                    "{reason}; basalt does not offer that PIN again, so as not to lock the token: correct the PIN (keys.pkcs11_pin_*) and restart basalt"
                ),
            });
        }
        let Err(e) = log_in(session, &self.pin) else {
            return Ok(());
        };
        let error = self.login_error(&e);
        if let Error::PinRefused { reason, .. } = &error {
            tracing::error!(
                token = %self.label,
                error = %reason,
                "the token refused the PIN; basalt will not offer it again until restarted"
            );
            *refused = Some(reason.clone());
        }
        Err(error)
    }

    /// The slot holding the selected token, with its label and serial.
    fn find_slot(&self) -> Result<(Slot, String, String), Error> {
        let not_found = |reason: String| Error::Token {
            what: format!("{} (module {})", self.selector, self.module.display()),
            reason,
        };
        let slots = self
            .pkcs11
            .get_slots_with_token()
            .map_err(|e| not_found(format!("listing the slots failed: {e}")))?;
        let mut seen = Vec::new();
        for slot in slots {
            let Ok(info) = self.pkcs11.get_token_info(slot) else {
                continue;
            };
            let label = info.label().trim_end().to_owned();
            let serial = info.serial_number().trim_end().to_owned();
            let matches = match &self.selector {
                TokenSelector::Label(wanted) => &label == wanted,
                TokenSelector::Serial(wanted) => &serial == wanted,
            };
            if matches {
                return Ok((slot, label, serial));
            }
            seen.push(format!("{label:?} (serial {serial})"));
        }
        Err(not_found(if seen.is_empty() {
            "not found: the module shows no token".into()
        } else {
            format!("not found; the module shows {}", seen.join(", "))
        }))
    }

    fn error(&self, e: CkError) -> Error {
        Error::Token {
            what: self.describe(),
            reason: e.to_string(),
        }
    }

    fn login_error(&self, e: &CkError) -> Error {
        let refused = |reason: &str| Error::PinRefused {
            what: self.describe(),
            reason: reason.to_owned(),
        };
        let reason = match e {
            CkError::Pkcs11(RvError::PinIncorrect, _) => {
                return refused("the PIN is wrong (CKR_PIN_INCORRECT)");
            }
            CkError::Pkcs11(RvError::PinLocked, _) => {
                return refused(
                    "the user PIN is locked (too many wrong PINs, CKR_PIN_LOCKED); unlock it with the SO PIN",
                );
            }
            CkError::Pkcs11(RvError::PinExpired, _) => {
                return refused("the user PIN has expired (CKR_PIN_EXPIRED); set a new one");
            }
            CkError::Pkcs11(RvError::PinLenRange | RvError::PinInvalid, _) => {
                format!("the PIN is not a valid PIN for this token ({e})")
            }
            CkError::Pkcs11(RvError::UserPinNotInitialized, _) => {
                "the token's user PIN is not initialised".into()
            }
            _ => format!("logging in failed: {e}"),
        };
        Error::Token {
            what: self.describe(),
            reason,
        }
    }
}

/// Lets go of a session that failed or went stale: closed if the module has not restarted
/// since it was opened, otherwise forgotten, since its handle may now be another session's.
fn retire(live: Live) {
    let _no_restart_meanwhile = lock(&RECONNECTING);
    if live.incarnation == MODULE_RESTARTS.load(Ordering::SeqCst) {
        drop(live);
    } else {
        std::mem::forget(live);
    }
}

/// C_Initialize; a module another part of the process already initialised is fine.
fn initialize(pkcs11: &Pkcs11) -> Result<(), CkError> {
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

/// C_Login as the user. The login state is per token, not per session (PKCS#11 v2.40
/// §5.6): a session opened while another is logged in is already logged in.
fn log_in(session: &Session, pin: &Passphrase) -> Result<(), CkError> {
    let pin = AuthPin::from(pin.to_string());
    match session.login(UserType::User, Some(&pin)) {
        Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) | Ok(()) => Ok(()),
        Err(e) => Err(e),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
