pub mod bundle;
pub mod instance;
pub mod system;
pub mod type_level;
