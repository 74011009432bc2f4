//! Errors of compiling or evaluating a FHIRPath expression.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhirPathError {
    /// The expression is not valid FHIRPath syntax.
    #[error("FHIRPath syntax error at offset {offset}: {message}")]
    Syntax { offset: usize, message: String },
    /// Parsed, but meaningless: unknown function, wrong argument count, unknown type.
    #[error("FHIRPath semantic error: {0}")]
    Semantic(String),
    /// Evaluation failed, e.g. a singleton was expected but a collection was found.
    #[error("FHIRPath evaluation error: {0}")]
    Evaluation(String),
    /// Nesting deeper than we evaluate without risking the stack.
    #[error("FHIRPath expression nests deeper than {0} levels")]
    TooDeep(usize),
}

pub(crate) fn eval_err<T>(msg: impl Into<String>) -> Result<T, FhirPathError> {
    Err(FhirPathError::Evaluation(msg.into()))
}
