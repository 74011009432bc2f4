use crate::store::{OpFailure, StoreError};
use fhir_engine::json::JsonError;
use fhir_engine::outcome::{Issue, IssueType};
use thiserror::Error;

/// What went wrong, with the OperationOutcome issues a client should see.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("invalid request")]
    Invalid(Vec<Issue>),
    /// Well-formed R4, but it breaks a profile rule (HBPC): 422.
    #[error("profile rules not met")]
    Unprocessable(Vec<Issue>),
    #[error("resource type not supported")]
    UnsupportedType(Issue),
    #[error("not found")]
    NotFound(Issue),
    #[error("deleted")]
    Gone(Issue),
    #[error("precondition failed")]
    PreconditionFailed(Issue),
    #[error("conflict")]
    Conflict(Issue),
    #[error("store: {0}")]
    Store(StoreError),
}

impl AppError {
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            AppError::Invalid(issues) | AppError::Unprocessable(issues) => issues.clone(),
            AppError::UnsupportedType(i)
            | AppError::NotFound(i)
            | AppError::Gone(i)
            | AppError::PreconditionFailed(i)
            | AppError::Conflict(i) => vec![i.clone()],
            // Backend details stay in the log, not in the response.
            AppError::Store(StoreError::TooCostly(text)) => {
                vec![Issue::error(IssueType::TooCostly, text.clone())]
            }
            AppError::Store(StoreError::Unavailable(_)) => vec![Issue::error(
                IssueType::Transient,
                "the data store is temporarily unavailable; retry later",
            )],
            AppError::Store(_) => vec![Issue::error(
                IssueType::Exception,
                "the request could not be stored; nothing was changed",
            )],
        }
    }

    /// The same error with each of its issues changed by `f` (e.g. relocated); store
    /// failures carry none.
    pub fn map_issues(self, f: impl Fn(Issue) -> Issue) -> Self {
        match self {
            AppError::Invalid(issues) => AppError::Invalid(issues.into_iter().map(f).collect()),
            AppError::Unprocessable(issues) => {
                AppError::Unprocessable(issues.into_iter().map(f).collect())
            }
            AppError::UnsupportedType(i) => AppError::UnsupportedType(f(i)),
            AppError::NotFound(i) => AppError::NotFound(f(i)),
            AppError::Gone(i) => AppError::Gone(f(i)),
            AppError::PreconditionFailed(i) => AppError::PreconditionFailed(f(i)),
            AppError::Conflict(i) => AppError::Conflict(f(i)),
            AppError::Store(e) => AppError::Store(e),
        }
    }

    pub fn invalid(issue: Issue) -> Self {
        AppError::Invalid(vec![issue])
    }

    /// Locates at `at` the issues that name no element yet (for example a search's, when the
    /// search came from a Bundle entry).
    pub fn located(self, at: &str) -> Self {
        let fix = |issue: Issue| {
            if issue.expression.is_empty() {
                issue.at(at)
            } else {
                issue
            }
        };
        match self {
            AppError::Invalid(issues) => AppError::Invalid(issues.into_iter().map(fix).collect()),
            AppError::Unprocessable(issues) => {
                AppError::Unprocessable(issues.into_iter().map(fix).collect())
            }
            AppError::UnsupportedType(i) => AppError::UnsupportedType(fix(i)),
            AppError::NotFound(i) => AppError::NotFound(fix(i)),
            AppError::Gone(i) => AppError::Gone(fix(i)),
            AppError::PreconditionFailed(i) => AppError::PreconditionFailed(fix(i)),
            AppError::Conflict(i) => AppError::Conflict(fix(i)),
            AppError::Store(e) => AppError::Store(e),
        }
    }

    /// Maps a store failure of operation `index` to a client error located at `at`.
    pub fn from_store(error: StoreError, at: impl Fn(usize) -> Option<String>) -> Self {
        match error {
            StoreError::Op { index, failure } => {
                let located = |issue: Issue| match at(index) {
                    Some(path) => issue.at(path),
                    None => issue,
                };
                match failure {
                    OpFailure::MultipleMatches { count } => AppError::PreconditionFailed(located(
                        Issue::error(
                            IssueType::Duplicate,
                            format!("the conditional create matched {count} or more resources; it must match at most one"),
                        ),
                    )),
                    OpFailure::VersionConflict { expected, current } => {
                        AppError::PreconditionFailed(located(Issue::error(
                            IssueType::Conflict,
                            match current {
                                Some(v) => format!("If-Match expected version {expected}, the current version is {v}"),
                                None => format!("If-Match expected version {expected}, but the resource does not exist"),
                            },
                        )))
                    }
                    OpFailure::AlreadyExists => AppError::Conflict(located(Issue::error(
                        IssueType::Duplicate,
                        "a resource with this id already exists",
                    ))),
                }
            }
            other => AppError::Store(other),
        }
    }
}

impl From<JsonError> for AppError {
    fn from(e: JsonError) -> Self {
        let code = match e {
            JsonError::MissingResourceType => IssueType::Required,
            JsonError::TooManyElements { .. } => IssueType::TooCostly,
            JsonError::ControlCharacter { .. } => IssueType::Invalid,
            _ => IssueType::Structure,
        };
        let issue = Issue::error(code, e.to_string());
        AppError::invalid(match e {
            JsonError::MissingResourceType => issue.at("resourceType"),
            _ => issue,
        })
    }
}
