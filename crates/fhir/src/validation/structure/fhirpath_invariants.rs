//! The FHIRPath engine as the validator's invariant engine.

use super::invariants::{CompiledInvariant, InvariantEngine};
use crate::fhirpath::{CompiledPath, FhirPathEngine};
use serde_json::Value;

#[derive(Default)]
pub struct FhirPathInvariants {
    engine: FhirPathEngine,
}

impl FhirPathInvariants {
    pub fn new() -> Self {
        Self {
            engine: FhirPathEngine::new(),
        }
    }
}

struct Compiled {
    path: CompiledPath,
    /// The members the expression reads from its focus, when that is its only access to it.
    reads: Option<Vec<String>>,
}

/// R4 core invariants whose published expression is defective, with the corrected text.
/// que-7 tests the System type `Boolean`, which a FHIR `boolean` is not (FHIRPath suite
/// testType12), so it would reject every valid `enableWhen` with `exists`; later FHIR
/// versions spell it `boolean`.
const CORRECTED: &[(&str, &str)] = &[(
    "operator = 'exists' implies (answer is Boolean)",
    "operator = 'exists' implies (answer is boolean)",
)];

impl InvariantEngine for FhirPathInvariants {
    fn compile(&self, expression: &str) -> Result<Box<dyn CompiledInvariant>, String> {
        let expression = CORRECTED
            .iter()
            .find(|(published, _)| *published == expression)
            .map_or(expression, |(_, corrected)| corrected);
        self.engine
            .compile(expression)
            .map(|path| {
                Box::new(Compiled {
                    reads: path.focus_members(),
                    path,
                }) as Box<dyn CompiledInvariant>
            })
            .map_err(|e| e.to_string())
    }
}

impl CompiledInvariant for Compiled {
    fn holds(&self, root: &Value, focus: &Value, focus_type: Option<&str>) -> Result<bool, String> {
        match focus_type {
            Some(t) => self.path.holds_typed(root, focus, t),
            None => self.path.holds(root, focus),
        }
        .map_err(|e| e.to_string())
    }

    fn focus_reads(&self) -> Option<&[String]> {
        self.reads.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_the_members_taken_from_the_focus() {
        let engine = FhirPathInvariants::new();
        let reads = |expr: &str| {
            engine
                .compile(expr)
                .expect("compiles")
                .focus_reads()
                .map(<[String]>::to_vec)
        };
        assert_eq!(
            reads("dataAbsentReason.empty() or value.empty()"),
            Some(vec!["dataAbsentReason".to_string(), "value".to_string()])
        );
        assert_eq!(reads("%resource.contained.exists()"), None);
    }
}
