//! `basalt config check`: every problem of a config file at once, as a table (key, line,
//! problem) or `--json`; exit status 1 when there is any.

use anyhow::{Context, bail};
use serde::Serialize;

use crate::cli::{ConfigCheckArgs, ConfigCommand};
use crate::commands::admin::print_json;
use crate::commands::admin::table::Table;
use crate::config::check::{Problem, check};
use crate::config::env;

pub(crate) fn run(command: &ConfigCommand) -> anyhow::Result<()> {
    match command {
        ConfigCommand::Check(args) => check_file(args),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    file: String,
    /// The environment overrides applied (key paths only: values may be secrets).
    overrides: Vec<String>,
    problems: &'a [Problem],
}

fn check_file(args: &ConfigCheckArgs) -> anyhow::Result<()> {
    let path = args
        .config
        .clone()
        .unwrap_or_else(|| args.data.data.join("basalt.toml"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let overrides = env::overrides(std::env::vars());
    let problems = check(&text, &overrides);
    if args.json {
        print_json(&Report {
            file: path.display().to_string(),
            overrides: overrides.iter().map(env::Override::key).collect(),
            problems: &problems,
        })?;
    } else if problems.is_empty() {
        println!("{}: no problems", path.display());
    } else {
        let mut table = Table::new(&["KEY", "LINE", "PROBLEM"]);
        for problem in &problems {
            table.row(vec![
                if problem.key.is_empty() {
                    "-".to_owned()
                } else {
                    problem.key.clone()
                },
                problem.line.map_or("-".to_owned(), |line| line.to_string()),
                problem.message.clone(),
            ]);
        }
        table.print()?;
    }
    if !problems.is_empty() {
        bail!("{}: {} problem(s)", path.display(), problems.len());
    }
    Ok(())
}
