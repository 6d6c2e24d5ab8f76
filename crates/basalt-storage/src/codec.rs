//! Encoding of the non-scalar columns: JSON as TEXT, and enums as their wire strings.
//!
//! JSON is stored as TEXT (not JSONB) because basalt never queries inside it, and TEXT is
//! the one type every engine stores the same way. Statuses are the lower-case RFC 8555
//! strings of `as_str()`; anything else read back is corrupt data, never silently mapped.

use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, corrupt};

/// Serialises a value for a TEXT column.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))
}

/// Parses a TEXT column holding JSON.
pub(crate) fn from_json<T: DeserializeOwned>(
    text: &str,
    table: &str,
    column: &str,
    id: impl std::fmt::Display,
) -> Result<T, Error> {
    serde_json::from_str(text).map_err(|e| corrupt(table, column, id, e))
}

/// Parses an optional TEXT column holding JSON.
pub(crate) fn from_json_opt<T: DeserializeOwned>(
    text: Option<&str>,
    table: &str,
    column: &str,
    id: impl std::fmt::Display,
) -> Result<Option<T>, Error> {
    text.map(|t| from_json(t, table, column, id)).transpose()
}

/// Parses a stored enum string with the type's own `parse`.
pub(crate) fn parse_enum<T>(
    text: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    table: &str,
    column: &str,
    id: impl std::fmt::Display,
) -> Result<T, Error> {
    parse(text).ok_or_else(|| corrupt(table, column, id, format!("unknown value {text:?}")))
}

/// A LIKE pattern matching any text that contains `text`: `%<text>%`, with `%`, `_` and the
/// escape character `!` escaped.
pub(crate) fn like_containing(text: &str) -> sea_orm::sea_query::LikeExpr {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            pattern.push('!');
        }
        pattern.push(c);
    }
    pattern.push('%');
    sea_orm::sea_query::LikeExpr::new(pattern).escape('!')
}
