//! SQLite errors as store errors: data the database refuses for good is told apart from a
//! database that cannot answer now.

use crate::store::StoreError;
use rusqlite::ErrorCode;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        let refused = match &e {
            rusqlite::Error::SqliteFailure(failure, _) => matches!(
                failure.code,
                ErrorCode::ConstraintViolation | ErrorCode::TooBig | ErrorCode::TypeMismatch
            ),
            rusqlite::Error::InvalidColumnType(..) | rusqlite::Error::ToSqlConversionFailure(_) => {
                true
            }
            _ => false,
        };
        if refused {
            StoreError::Rejected(e.to_string())
        } else {
            StoreError::Backend(e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn a_constraint_violation_is_refused_data_and_a_missing_table_is_not() {
        let conn = Connection::open_in_memory().expect("memory db");
        conn.execute_batch("CREATE TABLE t (id TEXT PRIMARY KEY)")
            .expect("schema");
        conn.execute("INSERT INTO t VALUES ('a')", [])
            .expect("first");
        let duplicate = conn.execute("INSERT INTO t VALUES ('a')", []).unwrap_err();
        assert!(matches!(
            StoreError::from(duplicate),
            StoreError::Rejected(_)
        ));
        let missing = conn.execute("INSERT INTO nope VALUES (1)", []).unwrap_err();
        assert!(matches!(StoreError::from(missing), StoreError::Backend(_)));
    }
}
