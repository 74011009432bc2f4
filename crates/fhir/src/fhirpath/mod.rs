//! FHIRPath (N1, as FHIR R4 uses it) over `serde_json::Value`: compile an expression once,
//! evaluate it many times. Types come from the embedded R4 model, so `Observation.value`
//! finds `valueQuantity` and `birthDate` compares as a date.
//!
//! Limits: `memberOf()` needs terminology and errors; `resolve()` finds only contained
//! resources and Bundle entries of the root; `conformsTo()` knows only core type profiles;
//! no static type analysis (see docs/conformance.md for the suite result).

mod ast;
mod boundary;
mod conversion;
mod decimal;
mod error;
mod eval;
mod focus_reads;
mod functions;
mod hoist;
mod lexer;
mod locate;
mod member_chain;
mod model;
mod navigation;
mod operators;
mod parser;
mod quantity;
mod text;
mod value;

pub use decimal::Decimal;
pub use error::FhirPathError;
pub use locate::{Location, Step};
pub use member_chain::MemberChain;
pub use quantity::Quantity;
pub use value::FhirPathValue;

use ast::Expr;
use eval::{resource_node, to_bool, Env, Evaluator};
use model::Model;
use std::cell::RefCell;
use value::Item;

/// Compiles expressions. Cheap to create; the R4 type model is loaded once per process.
#[derive(Debug, Clone, Copy)]
pub struct FhirPathEngine {
    model: &'static Model,
}

impl Default for FhirPathEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl FhirPathEngine {
    pub fn new() -> Self {
        Self {
            model: Model::get(),
        }
    }

    /// The FHIR type of element `name` of type `ty` (as a [`Location`] names it) and whether
    /// it is a list; `None` when the model does not know the element.
    pub fn element_info(&self, ty: &str, name: &str) -> Option<(&'static str, bool)> {
        locate::element_info(self.model, ty, name)
    }

    pub fn compile(&self, expression: &str) -> Result<CompiledPath, FhirPathError> {
        Ok(CompiledPath {
            expr: hoist::hoist(parser::parse(expression)?),
            model: self.model,
        })
    }
}

/// A parsed expression, ready to evaluate against any resource. `Send + Sync`.
#[derive(Debug, Clone)]
pub struct CompiledPath {
    expr: Expr,
    model: &'static Model,
}

impl CompiledPath {
    fn run<'a>(
        &self,
        root: &'a serde_json::Value,
        focus: &'a serde_json::Value,
        focus_type: Option<&'a str>,
    ) -> Result<Vec<Item<'a>>, FhirPathError> {
        let ev = Evaluator {
            model: self.model,
            root,
            focus,
            fixed: RefCell::default(),
        };
        let ty = match focus_type {
            // An element path names backbone types the model knows by another name.
            Some(t) if t.contains('.') => self.model.type_at_path(t).unwrap_or(t),
            Some(t) => t,
            None if std::ptr::eq(root, focus) || focus.get("resourceType").is_some() => {
                resource_node(focus).ty
            }
            None => navigation::locate_type(self.model, root, focus)
                .unwrap_or_else(|| resource_node(focus).ty),
        };
        let this = [Item::Node(value::Node {
            value: Some(focus),
            ext: None,
            ty,
        })];
        ev.eval(
            &self.expr,
            Env {
                this: &this,
                index: None,
                total: None,
            },
        )
    }

    /// Evaluates with `%resource`/`%rootResource` = `root` and the context item = `focus`.
    /// When `focus` is an element inside `root`, its FHIR type is found by locating it there
    /// (a walk of `root`); `evaluate_typed` skips that walk.
    pub fn evaluate(
        &self,
        root: &serde_json::Value,
        focus: &serde_json::Value,
    ) -> Result<Vec<FhirPathValue>, FhirPathError> {
        Ok(self
            .run(root, focus, None)?
            .iter()
            .map(Item::to_public)
            .collect())
    }

    /// The member names through which the expression reads its focus, when that is the only
    /// way it does: with none of them present, the result is the same for every focus of a
    /// type (see `focus_reads`).
    pub fn focus_members(&self) -> Option<Vec<String>> {
        focus_reads::focus_members(&self.expr)
    }

    /// The expression as a [`MemberChain`], when it is a plain `Type.a.b` path the model types
    /// at every step: the same results, found without the evaluator.
    pub fn member_chain(&self) -> Option<MemberChain> {
        MemberChain::compile(self.model, &self.expr)
    }

    /// Where the results are in `root` (evaluated with `root` as focus), for changing them;
    /// `None` when a result is not a node of `root` (a computed value, a primitive that has
    /// only extensions).
    pub fn locate(&self, root: &serde_json::Value) -> Result<Option<Vec<Location>>, FhirPathError> {
        let items = self.run(root, root, None)?;
        Ok(locate::locate_items(root, &items))
    }

    /// Invariant semantics: true when the result is `true`, or empty; Err on evaluation errors.
    pub fn holds(
        &self,
        root: &serde_json::Value,
        focus: &serde_json::Value,
    ) -> Result<bool, FhirPathError> {
        Ok(to_bool(&self.run(root, focus, None)?)? != Some(false))
    }

    /// `evaluate` with the focus's type given, as a validator knows it: a type name
    /// (`HumanName`, `Quantity`, `string`) or, for backbone elements, the element path
    /// (`Observation.component`), so that their choices such as `value[x]` resolve.
    pub fn evaluate_typed<'a>(
        &self,
        root: &'a serde_json::Value,
        focus: &'a serde_json::Value,
        focus_type: &'a str,
    ) -> Result<Vec<FhirPathValue>, FhirPathError> {
        Ok(self
            .run(root, focus, Some(focus_type))?
            .iter()
            .map(Item::to_public)
            .collect())
    }

    /// `holds` with the focus's FHIR type given; see `evaluate_typed`.
    pub fn holds_typed<'a>(
        &self,
        root: &'a serde_json::Value,
        focus: &'a serde_json::Value,
        focus_type: &'a str,
    ) -> Result<bool, FhirPathError> {
        Ok(to_bool(&self.run(root, focus, Some(focus_type))?)? != Some(false))
    }
}

#[cfg(test)]
mod tests;
