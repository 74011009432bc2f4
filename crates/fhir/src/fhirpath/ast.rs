//! The syntax tree of a compiled expression.

use super::decimal::Decimal;
use super::functions::Func;
use super::quantity::Quantity;
use crate::temporal::{DateTime, Time};

#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Empty,
    Bool(bool),
    Str(String),
    Int(i64),
    Dec(Decimal),
    Date(DateTime),
    DateTime(DateTime),
    Time(Time),
    Quantity(Quantity),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Mul,
    Div,
    IntDiv,
    Mod,
    Add,
    Sub,
    Concat,
    Union,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    Equiv,
    NotEquiv,
    In,
    Contains,
    And,
    Or,
    Xor,
    Implies,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeSpec {
    pub namespace: Option<String>,
    pub name: String,
}

impl Expr {
    /// A path of plain names from the context: `name.given`, `Observation.value[0]`.
    pub fn is_plain_path(&self) -> bool {
        match self {
            Expr::Ident(_) => true,
            Expr::Member(_, _, strict) => *strict,
            Expr::Indexer(target, _) => target.is_plain_path(),
            _ => false,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Literal(Literal),
    /// A member name at the start of a path, resolved against `$this`.
    Ident(String),
    This,
    Index,
    Total,
    Variable(String),
    /// `target.name`; `strict` when the target is a plain path from the context (`name.given`),
    /// whose type is known, so that an unknown name is an error rather than empty.
    Member(Box<Expr>, String, bool),
    /// `target.f(args)`; target None means the function applies to `$this`.
    Call(Option<Box<Expr>>, Func, Vec<Expr>),
    Indexer(Box<Expr>, Box<Expr>),
    Negate(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// The type argument of `is()`, `as()`, `ofType()`.
    Type(TypeSpec),
    Is(Box<Expr>, TypeSpec),
    As(Box<Expr>, TypeSpec),
    /// A part of a per-item argument that does not depend on the item (`%resource.type =
    /// 'batch'` inside `entry.all(…)`): evaluated once per evaluation (see `hoist`).
    Fixed(Box<Expr>),
}
