//! All-or-nothing creation of a set of files, so a failed `init` leaves no partial PKI and a
//! failed `area add` or `area rotate` no intermediate without its configuration.
//!
//! Each file is first written in full (and fsynced) under a temporary name beside its final
//! path. `commit` then publishes them in order with `hard_link`, which, unlike `rename`, fails
//! instead of replacing a file that appeared meanwhile. If anything fails before the commit
//! ends, dropping the stage removes every file and directory it created.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::Error;

/// Files and directories being created; cleaned up on drop unless committed.
#[derive(Debug, Default)]
pub struct StagedFiles {
    /// Directories this stage created, parents first.
    created_dirs: Vec<PathBuf>,
    /// (temporary, final) pairs, in publication order.
    staged: Vec<(PathBuf, PathBuf)>,
    /// Final paths already published by a commit in progress.
    published: Vec<PathBuf>,
    committed: bool,
}

impl StagedFiles {
    /// Creates `path` and any missing parents with `mode` (umask does not apply: the mode is
    /// set explicitly). An existing directory is fine unless `must_be_new`.
    pub fn create_dir(&mut self, path: &Path, mode: u32, must_be_new: bool) -> Result<(), Error> {
        if path.is_dir() {
            if must_be_new {
                return Err(Error::AlreadyInitialised(path.to_path_buf()));
            }
            return Ok(());
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.create_dir(parent, 0o755, false)?;
        }
        match DirBuilder::new().mode(mode).create(path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists && !must_be_new => return Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::AlreadyInitialised(path.to_path_buf()));
            }
            Err(e) => return Err(Error::io(path)(e)),
        }
        self.created_dirs.push(path.to_path_buf());
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(Error::io(path))
    }

    /// Writes `contents` to a temporary file beside `path` with `mode`; published by `commit`.
    /// The parent directory must exist (see [`StagedFiles::create_dir`]).
    pub fn write(&mut self, path: &Path, contents: &[u8], mode: u32) -> Result<(), Error> {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = path.with_file_name(format!(".{file_name}.init-tmp"));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temporary)
            .map_err(Error::io(&temporary))?;
        self.staged.push((temporary.clone(), path.to_path_buf()));
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(Error::io(&temporary))?;
        file.write_all(contents).map_err(Error::io(&temporary))?;
        file.sync_all().map_err(Error::io(&temporary))
    }

    /// Publishes every staged file in the order written. A final path that exists by now is
    /// [`Error::AlreadyInitialised`], and everything is rolled back.
    pub fn commit(mut self) -> Result<(), Error> {
        for (temporary, path) in &self.staged {
            match fs::hard_link(temporary, path) {
                Ok(()) => self.published.push(path.clone()),
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    return Err(Error::AlreadyInitialised(path.clone()));
                }
                Err(e) => return Err(Error::io(path)(e)),
            }
        }
        self.committed = true;
        for (temporary, _) in &self.staged {
            // The file lives on under its final name; a leftover temporary name is harmless.
            let _ = fs::remove_file(temporary);
        }
        for dir in self.created_dirs.iter().chain(self.published.iter()) {
            // Best effort durability of the new directory entries.
            if let Some(parent) = dir.parent() {
                let _ = fs::File::open(parent).and_then(|d| d.sync_all());
            }
        }
        Ok(())
    }
}

impl Drop for StagedFiles {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for path in &self.published {
            let _ = fs::remove_file(path);
        }
        for (temporary, _) in &self.staged {
            let _ = fs::remove_file(temporary);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropping_an_uncommitted_stage_removes_everything_it_made() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        let mut stage = StagedFiles::default();
        stage.create_dir(&dir, 0o700, true).unwrap();
        stage.write(&dir.join("f"), b"x", 0o600).unwrap();
        drop(stage);
        assert!(!tmp.path().join("a").exists());
    }

    #[test]
    fn commit_refuses_to_replace_a_file_and_rolls_back() {
        let tmp = tempfile::tempdir().unwrap();
        let mut stage = StagedFiles::default();
        stage.write(&tmp.path().join("first"), b"1", 0o644).unwrap();
        stage
            .write(&tmp.path().join("second"), b"2", 0o644)
            .unwrap();
        fs::write(tmp.path().join("second"), b"theirs").unwrap();
        let err = stage.commit().unwrap_err();
        assert!(matches!(err, Error::AlreadyInitialised(p) if p.ends_with("second")));
        assert!(!tmp.path().join("first").exists());
        assert_eq!(fs::read(tmp.path().join("second")).unwrap(), b"theirs");
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn committed_files_have_their_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let mut stage = StagedFiles::default();
        stage.write(&tmp.path().join("key"), b"k", 0o600).unwrap();
        stage.commit().unwrap();
        let mode = fs::metadata(tmp.path().join("key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
