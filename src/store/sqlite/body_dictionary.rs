//! LZ4 dictionaries for stored bodies, one per resource type a referral stores: the bodies of
//! one referral of `fixtures/referral-transaction.json` as this gateway stored them
//! (`body_dictionaries/*.ndjson`). A body of about 1 KB on its own shares little with itself;
//! against a body of the same type, its element names, systems, profiles, codes and (for what
//! the workflow generates) whole criteria, are matches. A referral's bodies shrink from about
//! 17 KB to 4 KB (docs/performance.md).
//!
//! The audit file's AuditEvents have one too: the records of a search and of a read. A
//! transaction's record repeats its own entity entries, so an example of them gains little,
//! and every audited request pays for hashing the dictionary (about 3 instructions a byte).
//!
//! A stored body names its dictionary by id, so a dictionary never changes once released: a
//! better one is a new id, and the old id stays readable.

/// `(id, resource type, dictionary)`. Ids are 1..=127 (`body_codec` keeps them in 7 bits).
const DICTIONARIES: [(u8, &str, &[u8]); 17] = [
    (1, "Task", include_bytes!("body_dictionaries/Task.ndjson")),
    (
        2,
        "CarePlan",
        include_bytes!("body_dictionaries/CarePlan.ndjson"),
    ),
    (
        3,
        "CareTeam",
        include_bytes!("body_dictionaries/CareTeam.ndjson"),
    ),
    (4, "Goal", include_bytes!("body_dictionaries/Goal.ndjson")),
    (
        5,
        "Provenance",
        include_bytes!("body_dictionaries/Provenance.ndjson"),
    ),
    (
        6,
        "ServiceRequest",
        include_bytes!("body_dictionaries/ServiceRequest.ndjson"),
    ),
    (
        7,
        "Patient",
        include_bytes!("body_dictionaries/Patient.ndjson"),
    ),
    (
        8,
        "Coverage",
        include_bytes!("body_dictionaries/Coverage.ndjson"),
    ),
    (
        9,
        "Condition",
        include_bytes!("body_dictionaries/Condition.ndjson"),
    ),
    (
        10,
        "Observation",
        include_bytes!("body_dictionaries/Observation.ndjson"),
    ),
    (
        11,
        "Consent",
        include_bytes!("body_dictionaries/Consent.ndjson"),
    ),
    (
        12,
        "Practitioner",
        include_bytes!("body_dictionaries/Practitioner.ndjson"),
    ),
    (
        13,
        "PractitionerRole",
        include_bytes!("body_dictionaries/PractitionerRole.ndjson"),
    ),
    (
        14,
        "Organization",
        include_bytes!("body_dictionaries/Organization.ndjson"),
    ),
    (
        15,
        "RelatedPerson",
        include_bytes!("body_dictionaries/RelatedPerson.ndjson"),
    ),
    (
        16,
        "Device",
        include_bytes!("body_dictionaries/Device.ndjson"),
    ),
    (
        17,
        "AuditEvent",
        include_bytes!("body_dictionaries/AuditEvent.ndjson"),
    ),
];

/// The dictionary for bodies of `resource_type`, with its id.
pub fn for_type(resource_type: &str) -> Option<(u8, &'static [u8])> {
    DICTIONARIES
        .iter()
        .find(|(_, rt, _)| *rt == resource_type)
        .map(|(id, _, dict)| (*id, *dict))
}

/// The dictionary a stored body names.
pub fn by_id(id: u8) -> Option<&'static [u8]> {
    DICTIONARIES
        .iter()
        .find(|(i, _, _)| *i == id)
        .map(|(_, _, dict)| *dict)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a, 64 bits: enough to notice an edited dictionary.
    fn fingerprint(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }

    /// Stored bodies name these dictionaries by id: an edited one would make them unreadable.
    /// A new dictionary takes a new id; this list only grows.
    #[test]
    fn released_dictionaries_never_change() {
        let released: Vec<(u8, usize, u64)> = DICTIONARIES
            .iter()
            .map(|(id, _, d)| (*id, d.len(), fingerprint(d)))
            .collect();
        assert_eq!(released, RELEASED.to_vec());
    }

    #[test]
    fn ids_are_distinct_seven_bit_and_types_distinct() {
        for (i, (id, rt, dict)) in DICTIONARIES.iter().enumerate() {
            assert!((1..=127).contains(id), "{id}");
            assert!(!dict.is_empty());
            for (other, ort, _) in &DICTIONARIES[i + 1..] {
                assert_ne!(id, other);
                assert_ne!(rt, ort);
            }
            assert_eq!(for_type(rt).map(|(i, _)| i), Some(*id));
            assert_eq!(by_id(*id), Some(*dict));
        }
        assert!(for_type("Basic").is_none());
        assert!(by_id(0).is_none() && by_id(127).is_none());
    }

    const RELEASED: [(u8, usize, u64); 17] = [
        (1, 14178, 0x9021a60f13704925),
        (2, 4632, 0x441f97e40998077d),
        (3, 2087, 0x69df6742572ddede),
        (4, 1490, 0x08f78017d5b70966),
        (5, 1039, 0xd37b10db8df77c11),
        (6, 1723, 0xa3db59e302e84836),
        (7, 1124, 0x531a3905b410c259),
        (8, 996, 0x0e4ad3d037582f56),
        (9, 1728, 0x1b65472a7b3da958),
        (10, 2367, 0xd4471880e0323d09),
        (11, 1081, 0x1816d561bdd55362),
        (12, 568, 0xaf6569fd7131ad1a),
        (13, 3850, 0xad26ab478eac9716),
        (14, 915, 0x114d5bf988f21497),
        (15, 561, 0xb8fe3b82c3d5757a),
        (16, 368, 0xa1ee586eca63912f),
        (17, 3104, 0x64196a6d67a3f1b7),
    ];
}
