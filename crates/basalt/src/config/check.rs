//! `basalt config check`: every problem of a config file at once, each with its key path and
//! (when the key is in the file) its line.
//!
//! serde stops at the first error, so the check runs the parse again and again: each error's
//! span names a key (found in the text's parse tree), the problem is recorded with the key's
//! line in the original file, the key is taken out, and the parse repeats. Once the file
//! parses, `Config::problems` adds every check serde cannot make. Environment overrides
//! (`env.rs`) apply first, as `serve` applies them; a problem with an overridden key says so.

use std::ops::Range;

use toml::Table;
use toml::de::{DeTable, DeValue};

use super::Config;
use super::env::{self, Override};

/// More distinct mistakes than anyone makes at once; bounds the re-parsing.
const MAX_PROBLEMS: usize = 100;

/// One problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Problem {
    /// The dotted key path (`server.max_connections`), empty when the file cannot be read as
    /// TOML at all.
    pub(crate) key: String,
    /// 1-based line of the key in the file; `None` for a key the file lacks (a default, an
    /// environment override).
    pub(crate) line: Option<usize>,
    pub(crate) message: String,
}

/// The file parsed, or every problem that stops it from parsing.
pub(crate) fn parse(text: &str, overrides: &[Override]) -> Result<Config, Vec<Problem>> {
    match examine(text, overrides) {
        (problems, Some(config)) if problems.is_empty() => Ok(config),
        (problems, _) => Err(problems),
    }
}

/// Every problem of config `text` with `overrides` applied.
pub(crate) fn check(text: &str, overrides: &[Override]) -> Vec<Problem> {
    examine(text, overrides).0
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.key.is_empty(), self.line) {
            (false, Some(line)) => write!(f, "{} (line {line}): {}", self.key, self.message),
            (false, None) => write!(f, "{}: {}", self.key, self.message),
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => f.write_str(&self.message),
        }
    }
}

/// Every problem of config `text` with `overrides` applied, and the config the last parse
/// produced (the file as given when there is no problem; `None` when it never parsed).
fn examine(text: &str, overrides: &[Override]) -> (Vec<Problem>, Option<Config>) {
    let original = match DeTable::parse(text) {
        Ok(table) => table.into_inner(),
        Err(e) => return (vec![syntax(text, &e)], None),
    };
    let mut table: Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(e) => return (vec![syntax(text, &e)], None),
    };
    env::apply(&mut table, overrides);
    let overridden: Vec<String> = overrides.iter().map(Override::key).collect();
    let locate = |key: &str| -> (Option<usize>, String) {
        let path: Vec<&str> = key.split('.').collect();
        let line = key_span(&original, &path).map(|span| line_of(text, span.start));
        let note = if overridden.iter().any(|o| o == key) {
            " (set by the environment)".to_owned()
        } else {
            String::new()
        };
        (line, note)
    };
    let mut problems = Vec::new();
    let mut parsed = None;
    while problems.len() < MAX_PROBLEMS {
        let current = match toml::to_string(&table) {
            Ok(current) => current,
            Err(e) => {
                problems.push(Problem {
                    key: String::new(),
                    line: None,
                    message: e.to_string(),
                });
                break;
            }
        };
        match toml::from_str::<Config>(&current) {
            Ok(config) => {
                for problem in config.problems() {
                    let (key, message) = problem
                        .split_once(": ")
                        .map_or((String::new(), problem.clone()), |(k, m)| {
                            (k.to_owned(), m.to_owned())
                        });
                    let (line, note) = locate(&key);
                    problems.push(Problem {
                        key,
                        line,
                        message: format!("{message}{note}"),
                    });
                }
                parsed = Some(config);
                break;
            }
            Err(e) => {
                let path = e.span().and_then(|span| path_at(&current, &span));
                let Some(path) = path.filter(|p| !p.is_empty()) else {
                    problems.push(Problem {
                        key: String::new(),
                        line: None,
                        message: e.message().to_owned(),
                    });
                    break;
                };
                let key = path.join(".");
                let (line, note) = locate(&key);
                problems.push(Problem {
                    key,
                    line,
                    message: format!("{}{note}", e.message().trim_end()),
                });
                if !remove(&mut table, &path) {
                    break;
                }
            }
        }
    }
    (problems, parsed)
}

/// A TOML syntax error: no key, the parser's line.
fn syntax(text: &str, e: &toml::de::Error) -> Problem {
    Problem {
        key: String::new(),
        line: e.span().map(|span| line_of(text, span.start)),
        message: e.message().trim_end().to_owned(),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The deepest key path whose key or value holds `span` in `text`. Tables are searched
/// whatever their own span: a `[table]` header's span does not cover the keys under it.
fn path_at(text: &str, span: &Range<usize>) -> Option<Vec<String>> {
    let table = DeTable::parse(text).ok()?.into_inner();
    deepest(&table, span.start)
}

fn deepest(table: &DeTable<'_>, offset: usize) -> Option<Vec<String>> {
    for (key, value) in table.iter() {
        let name = key.get_ref().to_string();
        if let DeValue::Table(inner) = value.get_ref()
            && let Some(mut below) = deepest(inner, offset)
        {
            below.insert(0, name);
            return Some(below);
        }
        if contains(&key.span(), offset) || contains(&value.span(), offset) {
            return Some(vec![name]);
        }
    }
    None
}

fn contains(range: &Range<usize>, offset: usize) -> bool {
    range.start <= offset && offset < range.end.max(range.start + 1)
}

/// The span of the key at `path` in `table`, if the file has it.
fn key_span(table: &DeTable<'_>, path: &[&str]) -> Option<Range<usize>> {
    let (first, rest) = path.split_first()?;
    let (key, value) = table.iter().find(|(key, _)| key.get_ref() == first)?;
    if rest.is_empty() {
        return Some(key.span());
    }
    match value.get_ref() {
        DeValue::Table(inner) => key_span(inner, rest).or(Some(key.span())),
        _ => Some(key.span()),
    }
}

/// Takes the key at `path` out of `table`; false if there was none.
fn remove(table: &mut Table, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = table;
    for part in parents {
        match current.get_mut(part).and_then(toml::Value::as_table_mut) {
            Some(inner) => current = inner,
            None => return false,
        }
    }
    current.remove(last).is_some()
}

#[cfg(test)]
mod tests;
