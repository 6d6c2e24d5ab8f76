//! One file per subcommand.

pub(crate) mod admin;
pub(crate) mod area;
pub(crate) mod config;
pub(crate) mod eab;
pub(crate) mod init;
pub(crate) mod root;
pub(crate) mod serve;
