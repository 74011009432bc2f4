//! FHIR search, the domain half: the parameter registry built from the official R4
//! SearchParameter definitions, the index rows their FHIRPath expressions extract when a
//! resource is written, and the parsed, backend-neutral query. No SQL here: the store turns
//! index rows into table rows and queries into SQL.

pub mod compartment;
pub mod date_range;
pub mod elements;
pub mod index;
pub mod normalize;
pub mod parse;
pub mod query;
pub mod registry;

pub use compartment::Compartment;
pub use index::{IndexRow, IndexValue, SearchIndexer};
pub use query::{
    Clause, Criterion, Cursor, DatePrefix, HistoryQuery, Include, Match, SearchQuery, SortKey,
    StringMode,
};
pub use registry::{ParamDef, ParamType, Registry};
