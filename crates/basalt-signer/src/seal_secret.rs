//! The random secret a token-held intermediate's serving-key seal is derived from.
//!
//! A file key seals the serving certificate's key under a key derived from its own private
//! bytes; a key in a PKCS#11 token has none that leave the token, so the seal is derived
//! from its public key and this secret instead (`serving_key.rs`). It lives beside the
//! intermediates in the data directory (0600), is made once, and every replica sharing the
//! data directory reads the same one, so reading the database alone still opens nothing.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use zeroize::Zeroizing;

use crate::Error;
use crate::random::random_bytes;

/// Bytes of a new secret.
const SECRET_LEN: usize = 32;

/// Reads the secret at `path`, creating it (0600, `create_new`, fsynced) when it does not
/// exist yet; of two processes creating it at once, the second reads the first's.
pub fn load_or_create_seal_secret(path: &Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= SECRET_LEN => return Ok(Zeroizing::new(bytes)),
        Ok(_) => {
            return Err(Error::KeyFile {
                path: path.to_path_buf(),
                reason: format!("shorter than {SECRET_LEN} bytes"),
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(path)(e)),
    }
    let secret = Zeroizing::new(random_bytes::<SECRET_LEN>()?.to_vec());
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut file| file.write_all(&secret).and_then(|()| file.sync_all()));
    match created {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_seal_secret(path),
        Err(e) => Err(Error::io(path)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_made_once_owner_only_and_read_back() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serving-seal.key");
        let first = load_or_create_seal_secret(&path).unwrap();
        assert_eq!(first.len(), SECRET_LEN);
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_or_create_seal_secret(&path).unwrap(), first);
        std::fs::write(&path, b"short").unwrap();
        assert!(load_or_create_seal_secret(&path).is_err());
    }
}
