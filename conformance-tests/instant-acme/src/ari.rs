//! ARI scenarios (RFC 9773): filled in by the renewal suite's author.

use crate::common::{Options, Report};

/// Runs the ARI checks against `options.directory`.
pub(crate) async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    crate::common::smoke(options, report, "instant-acme ari").await;
    Ok(())
}
