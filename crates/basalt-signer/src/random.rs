//! Randomness for serials, passphrases, salts and name suffixes, all from the OS CSPRNG.
//!
//! ring's `SystemRandom` reads the kernel's generator directly; it has no state to seed or
//! share, so creating one per call costs nothing.

use ring::rand::{SecureRandom, SystemRandom};

use crate::Error;

/// `N` bytes from the operating system's CSPRNG.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::Signing("the system random number generator failed".into()))?;
    Ok(bytes)
}
