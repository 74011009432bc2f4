//! Delivery to the upstream EHR (issue #5), driven in-process: referral resources and their
//! outbox record are written with `ResourceStore::apply` on a real SQLite (and PostgreSQL, when
//! `HBPC_TEST_DATABASE_URL` is set) store, and the real worker sends them to a recording fake
//! EHR on 127.0.0.1 that can be told to fail.

mod fake_ehr;
mod harness;
#[path = "../common/test_stores.rs"]
mod test_stores;

mod faults;
mod outbox;
mod smart;
mod task_state;
mod transaction;
