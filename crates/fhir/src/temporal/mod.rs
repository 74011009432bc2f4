//! FHIR dates, dateTimes, instants and times: the one parser, calendar and arithmetic that the
//! validator, search, FHIRPath and the program's look-backs share, so that a value one of them
//! accepts is never rejected by another.
//!
//! - [`parse`]: partial-precision values ([`DateTime`], [`Time`]), calendar-checked;
//! - [`lexical`]: the exact R4 forms of `date`, `dateTime`, `instant` and `time`;
//! - [`compare`] and [`arithmetic`]: FHIRPath comparison and calendar durations;
//! - [`days`] and [`span`]: day numbers for look-backs and epoch-millisecond spans for search.

pub mod arithmetic;
mod calendar;
pub mod compare;
pub mod days;
mod display;
pub mod lexical;
pub mod parse;
pub mod span;

pub use days::{date_text, day_number, today, Edge};
pub use lexical::{is_valid, Kind};
pub use parse::{DateTime, Time};
