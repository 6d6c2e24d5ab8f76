//! What only tests may do to a store (behind the `testing` feature): raw SQL, to put the
//! database in states no storage method would, such as an extra uniqueness rule that makes a
//! normal write fail the way a driver reports it.

use sea_orm::ConnectionTrait as _;

use crate::connect::Store;
use crate::error::Error;

impl Store {
    /// Runs `sql` as is on the writer connection.
    pub async fn execute_for_test(&self, sql: &str) -> Result<(), Error> {
        self.db.execute_unprepared(sql).await?;
        Ok(())
    }
}
