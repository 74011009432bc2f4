pub mod bundle;
pub mod conformance;
pub mod deliveries;
pub mod instance;
pub mod operations;
pub mod system;
pub mod type_level;
pub mod workflow_operations;
