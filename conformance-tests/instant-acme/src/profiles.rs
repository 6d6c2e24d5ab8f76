//! Profile scenarios (draft-ietf-acme-profiles): filled in by the profiles suite's author.

use crate::common::{Options, Report};

/// Runs the profile checks against `options.directory`.
pub(crate) async fn run(options: &Options, report: &mut Report) -> anyhow::Result<()> {
    crate::common::smoke(options, report, "instant-acme profiles").await;
    Ok(())
}
