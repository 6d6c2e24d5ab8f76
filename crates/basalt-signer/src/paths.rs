//! Where the PKI lives inside the data directory.
//!
//! One struct names every file, so `init`, `serve` and future rotation agree on the layout:
//!
//! ```text
//! DIR/root.pem                                  root certificate (public)
//! DIR/offline/root-key.pem                      root key, encrypted (PKCS#8 PBES2); 0700 dir, 0600 file
//! DIR/offline/root-password.txt                 generated passphrase, only if none was given; 0600
//! DIR/directories/<name>/intermediate.pem       intermediate certificate for one ACME directory
//! DIR/directories/<name>/intermediate-key.pem   its key, unencrypted PKCS#8 (serve reads it); 0600
//! ```
//!
//! `offline/` is meant to be moved off the serving machine after `init`: `serve` never reads it.

use std::path::{Path, PathBuf};

/// The PKI file layout under one data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PkiPaths {
    data_dir: PathBuf,
}

impl PkiPaths {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// The data directory everything else is relative to.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The self-signed root certificate that clients install as a trust anchor.
    pub fn root_cert(&self) -> PathBuf {
        self.data_dir.join("root.pem")
    }

    /// The directory holding the root key material, to be taken offline after `init`.
    pub fn offline_dir(&self) -> PathBuf {
        self.data_dir.join("offline")
    }

    /// The encrypted root private key.
    pub fn root_key(&self) -> PathBuf {
        self.offline_dir().join("root-key.pem")
    }

    /// The generated root passphrase, written only when the operator supplied none.
    pub fn root_password(&self) -> PathBuf {
        self.offline_dir().join("root-password.txt")
    }

    /// The directory of one ACME directory's intermediate CA.
    pub fn directory_dir(&self, directory: &str) -> PathBuf {
        self.data_dir.join("directories").join(directory)
    }

    /// The intermediate certificate that signs leaves for `directory`.
    pub fn intermediate_cert(&self, directory: &str) -> PathBuf {
        self.directory_dir(directory).join("intermediate.pem")
    }

    /// The intermediate private key for `directory`.
    pub fn intermediate_key(&self, directory: &str) -> PathBuf {
        self.directory_dir(directory).join("intermediate-key.pem")
    }

    /// True once `init` has completed: the root certificate is the last file it publishes.
    pub fn is_initialised(&self) -> bool {
        self.root_cert().exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_documented_tree() {
        let paths = PkiPaths::new(Path::new("/var/lib/basalt"));
        assert_eq!(paths.root_cert(), Path::new("/var/lib/basalt/root.pem"));
        assert_eq!(paths.offline_dir(), Path::new("/var/lib/basalt/offline"));
        assert_eq!(
            paths.root_key(),
            Path::new("/var/lib/basalt/offline/root-key.pem")
        );
        assert_eq!(
            paths.root_password(),
            Path::new("/var/lib/basalt/offline/root-password.txt")
        );
        assert_eq!(
            paths.intermediate_cert("default"),
            Path::new("/var/lib/basalt/directories/default/intermediate.pem")
        );
        assert_eq!(
            paths.intermediate_key("default"),
            Path::new("/var/lib/basalt/directories/default/intermediate-key.pem")
        );
    }

    #[test]
    fn an_empty_directory_is_not_initialised() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!PkiPaths::new(dir.path()).is_initialised());
    }
}
