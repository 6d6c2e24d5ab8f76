//! SQLite's query planner stability guarantee (QPSG), which keeps sqlx's cached statements
//! cached.
//!
//! The SQLite that libsqlite3-sys bundles (3.51) plans `LIMIT ?` with the value bound to it,
//! and marks the statement to be re-prepared whenever that parameter is bound again
//! (`sqlite3ExprIsInteger` with a `Parse`, `sqlite3VdbeSetVarmask`). sqlx re-binds every parameter on every execution, and
//! sea-orm's `.one()` always ends in `LIMIT ?`, so every point lookup (an account's status on
//! each signed request, a certificate by serial, an authorization to reuse) was parsed,
//! planned and compiled again on every call: about 3 % of the server's CPU under load
//! (BENCHMARKS.md, "Stable query plans"). With the guarantee on, a statement keeps the plan it
//! was prepared with, whatever is bound later.
//!
//! SQL cannot switch it on (there is no pragma), and sqlx opens its connections itself, so it
//! is compiled in as the default of the bundled SQLite: `SQLITE_ENABLE_QPSG`, set through
//! `LIBSQLITE3_FLAGS` in the workspace's `.cargo/config.toml`. That file is outside the code,
//! so [`check_stable_plans`] reports at start-up a build that missed it, and a test here fails
//! on such a build.
//!
//! What the guarantee costs basalt: nothing. The other plans that use bound values are LIKE
//! prefixes (basalt's LIKE patterns, in admin listings, start with `%`) and `sqlite_stat4`
//! statistics (basalt never runs `ANALYZE`).

use rusqlite::config::DbConfig;

/// `Ok` when connections to this build's SQLite start with the planner stability guarantee
/// on; otherwise, or when that cannot be told, the reason (the caller logs it: a build
/// without the guarantee is slower, not wrong).
pub(crate) fn check_stable_plans() -> Result<(), String> {
    let probe = rusqlite::Connection::open_in_memory()
        .map_err(|e| format!("cannot open an in-memory SQLite database to check: {e}"))?;
    match probe.db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG) {
        Ok(true) => Ok(()),
        Ok(false) => Err(
            "this build's SQLite lacks SQLITE_ENABLE_QPSG (set by the workspace's \
             .cargo/config.toml): lookups are re-planned on every call, which costs CPU"
                .to_owned(),
        ),
        Err(e) => Err(format!("cannot read SQLITE_DBCONFIG_ENABLE_QPSG: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;
    use rusqlite::config::DbConfig;

    use super::check_stable_plans;

    /// How often a `LIMIT ?` lookup was re-prepared over 5 executions, with the guarantee as
    /// given.
    fn reprepares_of_limited_lookup(stable_plans: bool) -> i32 {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        connection
            .set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, stable_plans)
            .unwrap();
        connection
            .execute_batch(
                "CREATE TABLE accounts (id INTEGER PRIMARY KEY, status TEXT NOT NULL);
                 INSERT INTO accounts (status) VALUES ('valid'), ('deactivated');",
            )
            .unwrap();
        // The shape of sea-orm's `.one()`.
        let mut lookup = connection
            .prepare(r#"SELECT "status" FROM "accounts" WHERE "id" = ? LIMIT ?"#)
            .unwrap();
        for id in [1, 2, 1, 2, 1] {
            let status: String = lookup.query_row((id, 1), |row| row.get(0)).unwrap();
            assert!(!status.is_empty());
        }
        lookup.get_status(StatementStatus::RePrepare)
    }

    #[test]
    fn this_build_of_sqlite_keeps_plans_stable() {
        assert_eq!(check_stable_plans(), Ok(()));
    }

    #[test]
    fn a_limit_parameter_no_longer_forces_a_reprepare() {
        // Why the guarantee is on: without it every execution after the first re-prepares.
        assert!(reprepares_of_limited_lookup(false) >= 4);
        assert_eq!(reprepares_of_limited_lookup(true), 0);
    }
}
