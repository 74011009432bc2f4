//! Precedence-climbing parser from tokens to `Expr`. The tree depth is bounded so that
//! evaluating (and dropping) a hostile expression cannot overflow the stack.

use super::ast::{BinOp, Expr, Literal, TypeSpec};
use super::decimal::Decimal;
use super::error::FhirPathError;
use super::functions::Func;
use super::lexer::{tokenize, Tok, Token};
use super::quantity::{is_calendar_unit, Quantity};
use crate::temporal::{DateTime, Time};

/// Deepest tree we accept; real invariants stay far below.
pub(crate) const MAX_DEPTH: usize = 100;

pub(crate) fn parse(src: &str) -> Result<Expr, FhirPathError> {
    let tokens = tokenize(src)?;
    let mut p = Parser { tokens, pos: 0 };
    let (expr, _) = p.expression(0, 0)?;
    match p.peek() {
        Tok::Eof => Ok(expr),
        other => Err(p.error(format!("unexpected {other:?}"))),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

type Parsed = (Expr, usize);

fn binop(tok: &Tok) -> Option<(BinOp, u8)> {
    Some(match tok {
        Tok::Ident(s) => match s.as_str() {
            "implies" => (BinOp::Implies, 1),
            "or" => (BinOp::Or, 2),
            "xor" => (BinOp::Xor, 2),
            "and" => (BinOp::And, 3),
            "in" => (BinOp::In, 4),
            "contains" => (BinOp::Contains, 4),
            "div" => (BinOp::IntDiv, 10),
            "mod" => (BinOp::Mod, 10),
            _ => return None,
        },
        Tok::Op(op) => match *op {
            "=" => (BinOp::Eq, 5),
            "!=" => (BinOp::Ne, 5),
            "~" => (BinOp::Equiv, 5),
            "!~" => (BinOp::NotEquiv, 5),
            "<" => (BinOp::Lt, 6),
            ">" => (BinOp::Gt, 6),
            "<=" => (BinOp::Le, 6),
            ">=" => (BinOp::Ge, 6),
            "|" => (BinOp::Union, 7),
            "+" => (BinOp::Add, 9),
            "-" => (BinOp::Sub, 9),
            "&" => (BinOp::Concat, 9),
            "*" => (BinOp::Mul, 10),
            "/" => (BinOp::Div, 10),
            _ => return None,
        },
        _ => return None,
    })
}

/// Precedence of `is` / `as` (between `|` and `+`).
const TYPE_OP_PREC: u8 = 8;

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos += 1;
        t
    }

    fn error(&self, message: impl Into<String>) -> FhirPathError {
        FhirPathError::Syntax {
            offset: self.tokens.get(self.pos).map_or(0, |t| t.offset),
            message: message.into(),
        }
    }

    fn expect_op(&mut self, op: &str) -> Result<(), FhirPathError> {
        match self.next() {
            Tok::Op(o) if o == op => Ok(()),
            other => Err(self.error(format!("expected {op}, found {other:?}"))),
        }
    }

    fn check_depth(&self, depth: usize) -> Result<usize, FhirPathError> {
        if depth > MAX_DEPTH {
            Err(FhirPathError::TooDeep(MAX_DEPTH))
        } else {
            Ok(depth)
        }
    }

    fn expression(&mut self, min_prec: u8, nesting: usize) -> Result<Parsed, FhirPathError> {
        self.check_depth(nesting)?;
        let (mut lhs, mut depth) = self.unary(nesting)?;
        loop {
            let tok = self.peek().clone();
            if let Tok::Ident(kw) = &tok {
                if (kw == "is" || kw == "as") && TYPE_OP_PREC > min_prec {
                    self.pos += 1;
                    let spec = self.type_spec()?;
                    depth = self.check_depth(depth + 1)?;
                    lhs = if kw == "is" {
                        Expr::Is(Box::new(lhs), spec)
                    } else {
                        Expr::As(Box::new(lhs), spec)
                    };
                    continue;
                }
            }
            let Some((op, prec)) = binop(&tok) else { break };
            if prec <= min_prec {
                break;
            }
            self.pos += 1;
            let (rhs, rdepth) = self.expression(prec, nesting + 1)?;
            depth = self.check_depth(depth.max(rdepth) + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, depth))
    }

    fn type_spec(&mut self) -> Result<TypeSpec, FhirPathError> {
        let first = match self.next() {
            Tok::Ident(s) | Tok::Delimited(s) => s,
            other => return Err(self.error(format!("expected a type name, found {other:?}"))),
        };
        if self.peek() == &Tok::Op(".") {
            if let Some(Token {
                tok: Tok::Ident(second) | Tok::Delimited(second),
                ..
            }) = self.tokens.get(self.pos + 1).cloned()
            {
                self.pos += 2;
                return Ok(TypeSpec {
                    namespace: Some(first),
                    name: second,
                });
            }
        }
        Ok(TypeSpec {
            namespace: None,
            name: first,
        })
    }

    fn unary(&mut self, nesting: usize) -> Result<Parsed, FhirPathError> {
        // `- - - …` recurses here before any tree is built: bound it as nesting
        self.check_depth(nesting)?;
        match self.peek() {
            Tok::Op("-") => {
                self.pos += 1;
                let (e, d) = self.unary(nesting + 1)?;
                Ok((Expr::Negate(Box::new(e)), self.check_depth(d + 1)?))
            }
            Tok::Op("+") => {
                self.pos += 1;
                self.unary(nesting + 1)
            }
            _ => self.postfix(nesting),
        }
    }

    fn postfix(&mut self, nesting: usize) -> Result<Parsed, FhirPathError> {
        let (mut e, mut depth) = self.primary(nesting)?;
        loop {
            match self.peek() {
                Tok::Op(".") => {
                    self.pos += 1;
                    let name = match self.next() {
                        Tok::Ident(s) | Tok::Delimited(s) => s,
                        other => {
                            return Err(self.error(format!("expected a name, found {other:?}")))
                        }
                    };
                    if self.peek() == &Tok::Op("(") {
                        let (func, args, d) = self.call(&name, nesting)?;
                        depth = self.check_depth(depth.max(d) + 1)?;
                        e = Expr::Call(Some(Box::new(e)), func, args);
                    } else {
                        depth = self.check_depth(depth + 1)?;
                        let strict = e.is_plain_path();
                        e = Expr::Member(Box::new(e), name, strict);
                    }
                }
                Tok::Op("[") => {
                    self.pos += 1;
                    let (idx, d) = self.expression(0, nesting + 1)?;
                    self.expect_op("]")?;
                    depth = self.check_depth(depth.max(d) + 1)?;
                    e = Expr::Indexer(Box::new(e), Box::new(idx));
                }
                _ => return Ok((e, depth)),
            }
        }
    }

    fn call(
        &mut self,
        name: &str,
        nesting: usize,
    ) -> Result<(Func, Vec<Expr>, usize), FhirPathError> {
        self.expect_op("(")?;
        let func = Func::lookup(name)
            .ok_or_else(|| FhirPathError::Semantic(format!("unknown function {name}()")))?;
        let mut args = Vec::new();
        let mut depth = 0;
        if self.peek() != &Tok::Op(")") {
            loop {
                if func.takes_type() {
                    args.push(Expr::Type(self.type_spec()?));
                } else {
                    let (a, d) = self.expression(0, nesting + 1)?;
                    depth = depth.max(d);
                    args.push(a);
                }
                if self.peek() == &Tok::Op(",") {
                    self.pos += 1;
                    continue;
                }
                break;
            }
        }
        self.expect_op(")")?;
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            return Err(FhirPathError::Semantic(format!(
                "{name}() takes {min} to {max} arguments, got {}",
                args.len()
            )));
        }
        Ok((func, args, depth + 1))
    }

    fn primary(&mut self, nesting: usize) -> Result<Parsed, FhirPathError> {
        let tok = self.next();
        let lit = |l| Ok((Expr::Literal(l), 1));
        match tok {
            Tok::Op("(") => {
                let (e, d) = self.expression(0, nesting + 1)?;
                self.expect_op(")")?;
                Ok((e, d))
            }
            Tok::Op("{") => {
                self.expect_op("}")?;
                lit(Literal::Empty)
            }
            Tok::Str(s) => lit(Literal::Str(s)),
            Tok::Number(n) => {
                let unit = match self.peek().clone() {
                    Tok::Str(u) => Some(u),
                    Tok::Ident(u) if is_calendar_unit(&u) => Some(u),
                    _ => None,
                };
                let dec = Decimal::parse(&n).ok_or_else(|| self.error("bad number"))?;
                if let Some(unit) = unit {
                    self.pos += 1;
                    return lit(Literal::Quantity(Quantity::new(dec, unit)));
                }
                if n.contains('.') {
                    lit(Literal::Dec(dec))
                } else {
                    match n.parse::<i64>() {
                        Ok(i) => lit(Literal::Int(i)),
                        Err(_) => lit(Literal::Dec(dec)),
                    }
                }
            }
            Tok::Temporal(t) => {
                if let Some(time) = t.strip_prefix('T') {
                    let time = Time::parse(time).ok_or_else(|| self.error("bad time literal"))?;
                    return lit(Literal::Time(time));
                }
                let dt = DateTime::parse(&t).ok_or_else(|| self.error("bad date literal"))?;
                if t.contains('T') {
                    lit(Literal::DateTime(dt))
                } else {
                    lit(Literal::Date(dt))
                }
            }
            Tok::Var(v) => Ok((Expr::Variable(v), 1)),
            Tok::Special(s) => match s.as_str() {
                "this" => Ok((Expr::This, 1)),
                "index" => Ok((Expr::Index, 1)),
                "total" => Ok((Expr::Total, 1)),
                _ => Err(self.error(format!("unknown ${s}"))),
            },
            Tok::Ident(s) if s == "true" => lit(Literal::Bool(true)),
            Tok::Ident(s) if s == "false" => lit(Literal::Bool(false)),
            Tok::Ident(s) | Tok::Delimited(s) => {
                if self.peek() == &Tok::Op("(") {
                    let (func, args, d) = self.call(&s, nesting)?;
                    Ok((Expr::Call(None, func, args), d + 1))
                } else {
                    Ok((Expr::Ident(s), 1))
                }
            }
            other => Err(self.error(format!("unexpected {other:?}"))),
        }
    }
}
