pub mod bundle;
pub mod conformance;
pub mod instance;
pub mod operations;
pub mod search;
pub mod system;
pub mod type_level;
