//! `basalt root`: prints the root certificate clients must trust.

use anyhow::Context;
use basalt_signer::PkiPaths;

use crate::cli::DataArgs;

pub(crate) fn run(args: &DataArgs) -> anyhow::Result<()> {
    let path = PkiPaths::new(&args.data).root_cert();
    let pem = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run `basalt init` first)", path.display()))?;
    print!("{pem}");
    Ok(())
}
