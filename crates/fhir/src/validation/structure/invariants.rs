//! The pluggable invariant (FHIRPath) engine. This crate ships no evaluator: with none
//! configured, constraints are compiled into the plan but skipped at validation time.

use serde_json::Value;

pub trait InvariantEngine: Send + Sync {
    /// Compile once at load time.
    fn compile(&self, expression: &str) -> Result<Box<dyn CompiledInvariant>, String>;
}

pub trait CompiledInvariant: Send + Sync {
    /// `root` is the resource being validated, `focus` the element the constraint is on, and
    /// `focus_type` its FHIR type (a type name or, for backbone elements, the element path)
    /// when the definition makes it unambiguous.
    fn holds(&self, root: &Value, focus: &Value, focus_type: Option<&str>) -> Result<bool, String>;

    /// The member names through which the invariant reads its focus, when that is the only
    /// way it does. With none of them present (`_name` and choice variants such as
    /// `valueQuantity` count), the answer is the one for an empty object of the focus type.
    fn focus_reads(&self) -> Option<&[String]> {
        None
    }
}

#[cfg(test)]
pub mod fake {
    //! A tiny engine for plumbing tests: `has(name)` holds when the focus has that member,
    //! `false` never holds, anything else does not compile.
    use super::*;

    pub struct FakeEngine;

    struct Has(String);
    struct Never;

    impl CompiledInvariant for Has {
        fn holds(
            &self,
            _root: &Value,
            focus: &Value,
            _focus_type: Option<&str>,
        ) -> Result<bool, String> {
            Ok(focus.get(&self.0).is_some())
        }
    }

    impl CompiledInvariant for Never {
        fn holds(
            &self,
            _root: &Value,
            _focus: &Value,
            _focus_type: Option<&str>,
        ) -> Result<bool, String> {
            Ok(false)
        }
    }

    impl InvariantEngine for FakeEngine {
        fn compile(&self, expression: &str) -> Result<Box<dyn CompiledInvariant>, String> {
            if let Some(name) = expression
                .strip_prefix("has(")
                .and_then(|r| r.strip_suffix(')'))
            {
                Ok(Box::new(Has(name.to_string())))
            } else if expression == "false" {
                Ok(Box::new(Never))
            } else {
                Err(format!("unsupported: {expression}"))
            }
        }
    }
}
