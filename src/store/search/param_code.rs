//! The integer that stands for a (resource type, parameter) pair in SQLite's index rows.
//!
//! A row held both names as text, repeated in every row and in each of its index entries;
//! a code is one or two bytes. The codes are positions in the indexed set
//! (`search::indexed_set`), which the store records with the rows it built
//! (`search_indexed_set`): a store whose rows were built for another set rebuilds them at
//! start, so the rows always carry this process's codes. `search_param_code` lists them for
//! anyone reading the file.

use fhir_engine::fast_hash::FastMap;
use std::sync::OnceLock;

struct Codes {
    /// type → parameter → code (keys of our own set: the Fx hasher, see `fast_hash`)
    by_type: FastMap<String, FastMap<String, i64>>,
    pairs: Vec<(String, String)>,
}

fn codes() -> &'static Codes {
    static CODES: OnceLock<Codes> = OnceLock::new();
    CODES.get_or_init(|| of_set(&super::indexed_set()))
}

/// Codes for a set written as `Type.param,Type.param,…`: 1 for the first.
fn of_set(set: &str) -> Codes {
    let pairs: Vec<(String, String)> = set
        .split(',')
        .filter_map(|p| p.split_once('.'))
        .map(|(t, p)| (t.to_string(), p.to_string()))
        .collect();
    let mut by_type: FastMap<String, FastMap<String, i64>> = FastMap::default();
    for ((t, p), code) in pairs.iter().zip(1..) {
        by_type
            .entry(t.clone())
            .or_default()
            .insert(p.clone(), code);
    }
    Codes { by_type, pairs }
}

/// The code of an indexed parameter of the type; `None` for one that has no rows.
pub fn code(resource_type: &str, param: &str) -> Option<i64> {
    codes().by_type.get(resource_type)?.get(param).copied()
}

/// Every (code, type, parameter), for the `search_param_code` table.
pub fn all() -> impl Iterator<Item = (i64, &'static str, &'static str)> {
    codes()
        .pairs
        .iter()
        .zip(1..)
        .map(|((t, p), code)| (code, t.as_str(), p.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_set_and_name_each_pair_once() {
        let c = of_set("CarePlan.patient,Patient.name,ServiceRequest.patient");
        assert_eq!(c.by_type["CarePlan"]["patient"], 1);
        assert_eq!(c.by_type["Patient"]["name"], 2);
        assert_eq!(c.by_type["ServiceRequest"]["patient"], 3);
        assert_eq!(c.pairs.len(), 3);
    }

    #[test]
    fn every_indexed_parameter_has_a_code_and_no_two_share_one() {
        let all: Vec<_> = all().collect();
        assert!(all.len() > 50, "the default set has about a hundred");
        for (n, t, p) in &all {
            assert_eq!(code(t, p), Some(*n), "{t}.{p}");
        }
        assert_eq!(code("Patient", "no-such-parameter"), None);
    }
}
