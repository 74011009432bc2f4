//! The function library: names, arities, and their evaluation over a collection.

use super::ast::Expr;
use super::boundary::{decimal_boundary, temporal_boundary, time_boundary};
use super::conversion::{
    to_boolean, to_date, to_date_time, to_decimal, to_integer, to_quantity, to_string, to_time,
};
use super::decimal::Decimal;
use super::error::{eval_err, FhirPathError};
use super::eval::{is_type, is_type_exact, singleton, to_bool, union, Collection, Env, Evaluator};
use super::navigation;
use super::operators;
use super::quantity::Quantity;
use super::text::{decode, encode, escape, html_checks, regex, unescape};
use super::value::Item;
use crate::temporal::{DateTime, Time};
use serde_json::Value;
use std::cmp::Ordering;

macro_rules! funcs {
    ($($variant:ident = $name:literal ($min:literal, $max:literal)),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Func { $($variant),* }

        impl Func {
            pub fn lookup(name: &str) -> Option<Func> {
                match name { $($name => Some(Func::$variant),)* _ => None }
            }
            /// (min, max) argument count.
            pub fn arity(self) -> (usize, usize) {
                match self { $(Func::$variant => ($min, $max)),* }
            }
        }
    };
}

funcs! {
    Empty = "empty"(0, 0), Exists = "exists"(0, 1), All = "all"(1, 1),
    AllTrue = "allTrue"(0, 0), AnyTrue = "anyTrue"(0, 0), AllFalse = "allFalse"(0, 0),
    AnyFalse = "anyFalse"(0, 0), SubsetOf = "subsetOf"(1, 1), SupersetOf = "supersetOf"(1, 1),
    Count = "count"(0, 0), Distinct = "distinct"(0, 0), IsDistinct = "isDistinct"(0, 0),
    Where = "where"(1, 1), Select = "select"(1, 1), Repeat = "repeat"(1, 1),
    OfType = "ofType"(1, 1), Is = "is"(1, 1), As = "as"(1, 1),
    Single = "single"(0, 0), First = "first"(0, 0), Last = "last"(0, 0), Tail = "tail"(0, 0),
    Skip = "skip"(1, 1), Take = "take"(1, 1), Intersect = "intersect"(1, 1),
    Exclude = "exclude"(1, 1), Union = "union"(1, 1), Combine = "combine"(1, 1),
    Iif = "iif"(2, 3), ToBoolean = "toBoolean"(0, 0), ConvertsToBoolean = "convertsToBoolean"(0, 0),
    ToInteger = "toInteger"(0, 0), ConvertsToInteger = "convertsToInteger"(0, 0),
    ToDecimal = "toDecimal"(0, 0), ConvertsToDecimal = "convertsToDecimal"(0, 0),
    ToStringF = "toString"(0, 0), ConvertsToString = "convertsToString"(0, 0),
    ToDate = "toDate"(0, 0), ConvertsToDate = "convertsToDate"(0, 0),
    ToDateTime = "toDateTime"(0, 0), ConvertsToDateTime = "convertsToDateTime"(0, 0),
    ToTime = "toTime"(0, 0), ConvertsToTime = "convertsToTime"(0, 0),
    ToQuantity = "toQuantity"(0, 1), ConvertsToQuantity = "convertsToQuantity"(0, 1),
    IndexOf = "indexOf"(1, 1), Substring = "substring"(1, 2), StartsWith = "startsWith"(1, 1),
    EndsWith = "endsWith"(1, 1), ContainsStr = "contains"(1, 1), Upper = "upper"(0, 0),
    Lower = "lower"(0, 0), Replace = "replace"(2, 2), Matches = "matches"(1, 1),
    MatchesFull = "matchesFull"(1, 1), ReplaceMatches = "replaceMatches"(2, 2),
    Length = "length"(0, 0), ToChars = "toChars"(0, 0), Trim = "trim"(0, 0),
    Split = "split"(1, 1), Join = "join"(0, 1), Encode = "encode"(1, 1), Decode = "decode"(1, 1),
    Escape = "escape"(1, 1), Unescape = "unescape"(1, 1),
    Children = "children"(0, 0), Descendants = "descendants"(0, 0), Trace = "trace"(1, 2),
    Now = "now"(0, 0), Today = "today"(0, 0), TimeOfDay = "timeOfDay"(0, 0), Not = "not"(0, 0),
    Abs = "abs"(0, 0), Ceiling = "ceiling"(0, 0), Exp = "exp"(0, 0), Floor = "floor"(0, 0),
    Ln = "ln"(0, 0), Log = "log"(1, 1), Power = "power"(1, 1), Round = "round"(0, 1),
    Sqrt = "sqrt"(0, 0), Truncate = "truncate"(0, 0), Aggregate = "aggregate"(1, 2),
    Sort = "sort"(0, 8), Extension = "extension"(1, 1), HasValue = "hasValue"(0, 0),
    GetValue = "getValue"(0, 0), Resolve = "resolve"(0, 0), HtmlChecks = "htmlChecks"(0, 0),
    ConformsTo = "conformsTo"(1, 1), MemberOf = "memberOf"(1, 1), Type = "type"(0, 0),
    Precision = "precision"(0, 0), LowBoundary = "lowBoundary"(0, 1),
    HighBoundary = "highBoundary"(0, 1), Comparable = "comparable"(1, 1),
    Sum = "sum"(0, 0), Min = "min"(0, 0), Max = "max"(0, 0), Avg = "avg"(0, 0),
}

impl Func {
    /// Functions whose argument is a type name rather than an expression.
    pub fn takes_type(self) -> bool {
        matches!(self, Func::OfType | Func::Is | Func::As)
    }
}

fn b<'a>(v: bool) -> Result<Collection<'a>, FhirPathError> {
    Ok(vec![Item::Bool(v)])
}

fn one<'a>(item: Option<Item<'a>>) -> Result<Collection<'a>, FhirPathError> {
    Ok(item.into_iter().collect())
}

/// The single input as a System value (FHIR primitives converted).
fn input_value<'a>(input: &[Item<'a>]) -> Result<Option<Item<'a>>, FhirPathError> {
    Ok(singleton(input)?.and_then(Item::to_system))
}

fn input_str(input: &[Item]) -> Result<Option<String>, FhirPathError> {
    match input_value(input)? {
        None => Ok(None),
        Some(Item::Str(s)) => Ok(Some(s)),
        Some(other) => eval_err(format!("expected a string, found {other:?}")),
    }
}

fn now_utc() -> DateTime {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let base = DateTime {
        year: 1970,
        month: Some(1),
        day: Some(1),
        time: Some(Time {
            hour: 0,
            minute: Some(0),
            second: Some(0),
            millis: Some((0, 3)),
        }),
        tz: Some(0),
    };
    base.add(secs, "ms").unwrap_or(base)
}

fn math<'a>(input: &[Item<'a>], f: impl Fn(f64) -> f64) -> Result<Collection<'a>, FhirPathError> {
    let Some(v) = input_value(input)? else {
        return Ok(vec![]);
    };
    let Some(d) = to_decimal(&v).filter(|_| matches!(v, Item::Int(_) | Item::Dec(_))) else {
        return eval_err(format!("expected a number, found {v:?}"));
    };
    one(Decimal::from_f64(f(d.to_f64())).map(Item::Dec))
}

impl Func {
    /// Whether every argument is evaluated once per input item, so never for an empty input.
    pub fn runs_only_on_items(self) -> bool {
        matches!(
            self,
            Func::Exists | Func::All | Func::Where | Func::Select | Func::Repeat | Func::Sort
        )
    }

    /// Whether argument `i` is evaluated with `$this` = each input item (or, for `iif`, the
    /// input, even when it is empty), rather than against the caller's `$this`; `aggregate`
    /// evaluates its initial value first, against the caller's.
    pub fn arg_per_item(self, i: usize) -> bool {
        self.runs_only_on_items() || self == Func::Iif || (self == Func::Aggregate && i == 0)
    }
}

pub(crate) fn call<'a, 'e>(
    ev: &Evaluator<'a>,
    func: Func,
    input: Collection<'a>,
    args: &[Expr],
    env: Env<'a, 'e>,
) -> Result<Collection<'a>, FhirPathError> {
    // A non-lambda argument is evaluated against the same focus as the call.
    let arg = |i: usize| -> Result<Collection<'a>, FhirPathError> {
        match args.get(i) {
            Some(e) => ev.eval(e, env),
            None => Ok(vec![]),
        }
    };
    let arg_int = |i: usize| -> Result<Option<i64>, FhirPathError> {
        match input_value(&arg(i)?)? {
            None => Ok(None),
            Some(Item::Int(n)) => Ok(Some(n)),
            Some(other) => eval_err(format!("expected an integer argument, found {other:?}")),
        }
    };
    let arg_str = |i: usize| -> Result<Option<String>, FhirPathError> { input_str(&arg(i)?) };
    // A lambda argument is evaluated once per input item with `$this` = that item.
    let per_item =
        |i: usize, item: &Item<'a>, idx: usize| -> Result<Collection<'a>, FhirPathError> {
            let this = std::slice::from_ref(item);
            match args.get(i) {
                Some(e) => ev.eval(
                    e,
                    Env {
                        this,
                        index: Some(idx),
                        total: env.total,
                    },
                ),
                None => Ok(vec![]),
            }
        };
    let type_arg = || match args.first() {
        Some(Expr::Type(t)) => super::eval::check_type(ev.model, t).map(|_| t.clone()),
        _ => eval_err("expected a type name"),
    };
    use Func as F;
    match func {
        F::Empty => b(input.is_empty()),
        F::Exists => {
            if args.is_empty() {
                return b(!input.is_empty());
            }
            for (i, item) in input.iter().enumerate() {
                if to_bool(&per_item(0, item, i)?)? == Some(true) {
                    return b(true);
                }
            }
            b(false)
        }
        F::All => {
            for (i, item) in input.iter().enumerate() {
                if to_bool(&per_item(0, item, i)?)? != Some(true) {
                    return b(false);
                }
            }
            b(true)
        }
        F::AllTrue | F::AnyTrue | F::AllFalse | F::AnyFalse => {
            let bools = input
                .iter()
                .map(|i| match i.to_system() {
                    Some(Item::Bool(v)) => Ok(v),
                    _ => eval_err("expected booleans"),
                })
                .collect::<Result<Vec<bool>, _>>()?;
            b(match func {
                F::AllTrue => bools.iter().all(|v| *v),
                F::AnyTrue => bools.iter().any(|v| *v),
                F::AllFalse => bools.iter().all(|v| !*v),
                _ => bools.iter().any(|v| !*v),
            })
        }
        F::SubsetOf | F::SupersetOf => {
            let other = arg(0)?;
            let (small, big) = if func == F::SubsetOf {
                (&input, &other)
            } else {
                (&other, &input)
            };
            b(small
                .iter()
                .all(|x| big.iter().any(|y| operators::equals(x, y) == Some(true))))
        }
        F::Count => Ok(vec![Item::Int(input.len() as i64)]),
        F::Distinct => Ok(union(input, vec![])),
        F::IsDistinct => {
            let n = input.len();
            b(union(input, vec![]).len() == n)
        }
        F::Where => {
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                if to_bool(&per_item(0, item, i)?)? == Some(true) {
                    out.push(item.clone());
                }
            }
            Ok(out)
        }
        F::Select => {
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                out.extend(per_item(0, item, i)?);
            }
            Ok(out)
        }
        F::Repeat => {
            let mut out: Collection<'a> = Vec::new();
            let mut frontier = input;
            // Bounded: items already seen are not expanded again.
            while !frontier.is_empty() && out.len() < 100_000 {
                let mut next = Vec::new();
                for (i, item) in frontier.iter().enumerate() {
                    for r in per_item(0, item, i)? {
                        if !out.iter().any(|o| operators::equals(o, &r) == Some(true)) {
                            out.push(r.clone());
                            next.push(r);
                        }
                    }
                }
                frontier = next;
            }
            Ok(out)
        }
        F::OfType => {
            let t = type_arg()?;
            Ok(input
                .into_iter()
                .filter(|i| is_type_exact(ev.model, i, &t))
                .collect())
        }
        F::Is => {
            let t = type_arg()?;
            match singleton(&input)? {
                Some(item) => b(is_type(ev.model, item, &t)),
                None => Ok(vec![]),
            }
        }
        // Filters like ofType() rather than demanding one item: R4's own dom-3 applies
        // `as(canonical)` to all descendants.
        F::As => {
            let t = type_arg()?;
            Ok(input
                .into_iter()
                .filter(|i| is_type_exact(ev.model, i, &t))
                .collect())
        }
        F::Single => match input.len() {
            0 | 1 => Ok(input),
            n => eval_err(format!("single() on {n} items")),
        },
        F::First => Ok(input.into_iter().take(1).collect()),
        F::Last => Ok(input.into_iter().last().into_iter().collect()),
        F::Tail => Ok(input.into_iter().skip(1).collect()),
        F::Skip => {
            let n = arg_int(0)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().skip(n).collect())
        }
        F::Take => {
            let n = arg_int(0)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().take(n).collect())
        }
        F::Intersect => {
            let other = arg(0)?;
            let kept = input
                .into_iter()
                .filter(|x| other.iter().any(|y| operators::equals(x, y) == Some(true)))
                .collect();
            Ok(union(kept, vec![]))
        }
        F::Exclude => {
            let other = arg(0)?;
            Ok(input
                .into_iter()
                .filter(|x| !other.iter().any(|y| operators::equals(x, y) == Some(true)))
                .collect())
        }
        F::Union => Ok(union(input, arg(0)?)),
        F::Combine => {
            let mut out = input;
            out.extend(arg(0)?);
            Ok(out)
        }
        F::Iif => {
            if input.len() > 1 {
                return eval_err("iif() on more than one item");
            }
            // The criterion sees the input as its focus, even when it is empty
            // (`member.resolve().iif(empty(), …)` in ctm-1).
            let inner = Env {
                this: &input,
                ..env
            };
            let cond = args
                .first()
                .map(|e| ev.eval(e, inner))
                .transpose()?
                .unwrap_or_default();
            let branch = match singleton(&cond)?.and_then(Item::to_system) {
                Some(Item::Bool(true)) => args.get(1),
                None | Some(Item::Bool(false)) => args.get(2),
                Some(other) => {
                    return eval_err(format!("iif() criterion is not boolean: {other:?}"))
                }
            };
            match branch {
                Some(e) => ev.eval(e, inner),
                None => Ok(vec![]),
            }
        }
        F::ToBoolean => one(singleton(&input)?.and_then(to_boolean).map(Item::Bool)),
        F::ConvertsToBoolean => conv(&input, |i| to_boolean(i).is_some()),
        F::ToInteger => one(singleton(&input)?.and_then(to_integer).map(Item::Int)),
        F::ConvertsToInteger => conv(&input, |i| to_integer(i).is_some()),
        F::ToDecimal => one(singleton(&input)?.and_then(to_decimal).map(Item::Dec)),
        F::ConvertsToDecimal => conv(&input, |i| to_decimal(i).is_some()),
        F::ToStringF => one(singleton(&input)?.and_then(to_string).map(Item::Str)),
        F::ConvertsToString => conv(&input, |i| to_string(i).is_some()),
        F::ToDate => one(singleton(&input)?.and_then(to_date).map(Item::Date)),
        F::ConvertsToDate => conv(&input, |i| to_date(i).is_some()),
        F::ToDateTime => one(singleton(&input)?
            .and_then(to_date_time)
            .map(Item::DateTime)),
        F::ConvertsToDateTime => conv(&input, |i| to_date_time(i).is_some()),
        F::ToTime => one(singleton(&input)?.and_then(to_time).map(Item::Time)),
        F::ConvertsToTime => conv(&input, |i| to_time(i).is_some()),
        F::ToQuantity | F::ConvertsToQuantity => {
            let unit = arg_str(0)?;
            let q = singleton(&input)?.and_then(to_quantity);
            let q = match (q, unit) {
                (Some(q), Some(u)) if q.unit != u => {
                    let target = Quantity::new(Decimal::from_i64(1), u.clone());
                    q.aligned(&target)
                        .and_then(|(v, one)| v.div(&one))
                        .map(|v| Quantity::new(v, u))
                }
                (q, _) => q,
            };
            if func == F::ToQuantity {
                one(q.map(Item::Quantity))
            } else if input.is_empty() {
                Ok(vec![])
            } else {
                b(q.is_some())
            }
        }
        F::IndexOf => {
            let (Some(s), Some(sub)) = (input_str(&input)?, arg_str(0)?) else {
                return Ok(vec![]);
            };
            let idx = s.find(&sub).map_or(-1, |i| s[..i].chars().count() as i64);
            one(Some(Item::Int(idx)))
        }
        F::Substring => {
            let Some(s) = input_str(&input)? else {
                return Ok(vec![]);
            };
            let Some(start) = arg_int(0)? else {
                return Ok(vec![]);
            };
            let chars: Vec<char> = s.chars().collect();
            if start < 0 || start as usize >= chars.len() {
                return Ok(vec![]);
            }
            let len = match args.get(1) {
                Some(_) => match arg_int(1)? {
                    Some(l) => l.max(0) as usize,
                    None => chars.len(),
                },
                None => chars.len(),
            };
            one(Some(Item::Str(
                chars.iter().skip(start as usize).take(len).collect(),
            )))
        }
        F::StartsWith | F::EndsWith | F::ContainsStr => {
            let (Some(s), Some(x)) = (input_str(&input)?, arg_str(0)?) else {
                return Ok(vec![]);
            };
            b(match func {
                F::StartsWith => s.starts_with(&x),
                F::EndsWith => s.ends_with(&x),
                _ => s.contains(&x),
            })
        }
        F::Upper => one(input_str(&input)?.map(|s| Item::Str(s.to_uppercase()))),
        F::Lower => one(input_str(&input)?.map(|s| Item::Str(s.to_lowercase()))),
        F::Replace => {
            let (Some(s), Some(p), Some(r)) = (input_str(&input)?, arg_str(0)?, arg_str(1)?) else {
                return Ok(vec![]);
            };
            let out = if p.is_empty() {
                let mut o = r.clone();
                for c in s.chars() {
                    o.push(c);
                    o.push_str(&r);
                }
                o
            } else {
                s.replace(&p, &r)
            };
            one(Some(Item::Str(out)))
        }
        F::Matches | F::MatchesFull => {
            let (Some(s), Some(p)) = (input_str(&input)?, arg_str(0)?) else {
                return Ok(vec![]);
            };
            b(regex(&p, func == F::MatchesFull)?.is_match(&s))
        }
        F::ReplaceMatches => {
            let (Some(s), Some(p), Some(r)) = (input_str(&input)?, arg_str(0)?, arg_str(1)?) else {
                return Ok(vec![]);
            };
            if p.is_empty() {
                return one(Some(Item::Str(s)));
            }
            one(Some(Item::Str(
                regex(&p, false)?.replace_all(&s, r.as_str()).into_owned(),
            )))
        }
        F::Length => one(input_str(&input)?.map(|s| Item::Int(s.chars().count() as i64))),
        F::ToChars => Ok(input_str(&input)?
            .map(|s| s.chars().map(|c| Item::Str(c.to_string())).collect())
            .unwrap_or_default()),
        F::Trim => one(input_str(&input)?.map(|s| Item::Str(s.trim().to_string()))),
        F::Split => {
            let (Some(s), Some(sep)) = (input_str(&input)?, arg_str(0)?) else {
                return Ok(vec![]);
            };
            Ok(s.split(sep.as_str())
                .map(|p| Item::Str(p.to_string()))
                .collect())
        }
        F::Join => {
            let sep = arg_str(0)?.unwrap_or_default();
            let parts = input
                .iter()
                .map(|i| to_string(i).map_or_else(|| eval_err("join() needs strings"), Ok))
                .collect::<Result<Vec<_>, _>>()?;
            one(Some(Item::Str(parts.join(&sep))))
        }
        F::Encode | F::Decode | F::Escape | F::Unescape => {
            let (Some(s), Some(how)) = (input_str(&input)?, arg_str(0)?) else {
                return Ok(vec![]);
            };
            let r = match func {
                F::Encode => encode(&s, &how),
                F::Decode => decode(&s, &how),
                F::Escape => escape(&s, &how),
                _ => unescape(&s, &how),
            };
            one(r.map(Item::Str))
        }
        F::Children => {
            let mut out = Vec::new();
            for item in &input {
                if let Item::Node(n) = item {
                    navigation::children(ev.model, n, &mut out);
                }
            }
            Ok(out)
        }
        F::Descendants => {
            let mut out = Vec::new();
            let mut stack: Vec<Item<'a>> = input.into_iter().rev().collect();
            while let Some(item) = stack.pop() {
                if let Item::Node(n) = &item {
                    let mut kids = Vec::new();
                    navigation::children(ev.model, n, &mut kids);
                    out.extend(kids.iter().cloned());
                    stack.extend(kids.into_iter().rev());
                }
            }
            Ok(out)
        }
        F::Trace => Ok(input),
        F::Now => one(Some(Item::DateTime(now_utc()))),
        F::Today => one(Some(Item::Date(now_utc().date_part()))),
        F::TimeOfDay => one(now_utc().time.map(Item::Time)),
        F::Not => match to_bool(&input)? {
            Some(v) => b(!v),
            None => Ok(vec![]),
        },
        F::Abs => match input_value(&input)? {
            None => Ok(vec![]),
            Some(Item::Int(i)) => one(i.checked_abs().map(Item::Int)),
            Some(Item::Dec(d)) => one(Some(Item::Dec(d.abs()))),
            Some(Item::Quantity(q)) => one(Some(Item::Quantity(q.with_value(q.value.abs())))),
            Some(other) => eval_err(format!("abs() of {other:?}")),
        },
        F::Ceiling | F::Floor | F::Truncate => match input_value(&input)? {
            None => Ok(vec![]),
            Some(Item::Int(i)) => one(Some(Item::Int(i))),
            Some(Item::Dec(d)) => {
                let r = match func {
                    F::Ceiling => d.ceil(),
                    F::Floor => d.floor(),
                    _ => d.trunc(),
                };
                one(r.to_i64().map(Item::Int))
            }
            Some(other) => eval_err(format!("{func:?} of {other:?}")),
        },
        F::Exp => math(&input, f64::exp),
        F::Ln => math(&input, f64::ln),
        F::Sqrt => math(&input, f64::sqrt),
        F::Log => {
            let Some(base) = singleton(&arg(0)?)?.and_then(to_decimal) else {
                return Ok(vec![]);
            };
            math(&input, |x| x.ln() / base.to_f64().ln())
        }
        F::Power => {
            let (Some(x), Some(e)) = (input_value(&input)?, input_value(&arg(0)?)?) else {
                return Ok(vec![]);
            };
            if let (Item::Int(x), Item::Int(e)) = (&x, &e) {
                if let Ok(e) = u32::try_from(*e) {
                    return one(x.checked_pow(e).map(Item::Int));
                }
            }
            let (Some(x), Some(e)) = (to_decimal(&x), to_decimal(&e)) else {
                return eval_err("power() needs numbers");
            };
            let r = x.to_f64().powf(e.to_f64());
            one(Decimal::from_f64(r).map(Item::Dec))
        }
        F::Round => {
            let p = arg_int(0)?.unwrap_or(0);
            if p < 0 {
                return eval_err("round() precision must be >= 0");
            }
            match input_value(&input)? {
                None => Ok(vec![]),
                Some(v) => match to_decimal(&v) {
                    Some(d) => one(Some(Item::Dec(d.round_to(p as u32)))),
                    None => eval_err("round() needs a number"),
                },
            }
        }
        F::Aggregate => {
            let mut total = arg(1)?;
            for (i, item) in input.iter().enumerate() {
                let this = std::slice::from_ref(item);
                let e = args.first().map_or(Ok(vec![]), |e| {
                    ev.eval(
                        e,
                        Env {
                            this,
                            index: Some(i),
                            total: Some(&total),
                        },
                    )
                })?;
                total = e;
            }
            Ok(total)
        }
        F::Sort => {
            let mut keyed = Vec::with_capacity(input.len());
            for (i, item) in input.iter().enumerate() {
                let mut keys = Vec::new();
                for (k, e) in args.iter().enumerate() {
                    let (e, desc) = match e {
                        Expr::Negate(inner) => (inner.as_ref(), true),
                        other => (other, false),
                    };
                    let this = std::slice::from_ref(item);
                    let v = ev.eval(
                        e,
                        Env {
                            this,
                            index: Some(i),
                            total: env.total,
                        },
                    )?;
                    keys.push((singleton(&v)?.cloned(), desc));
                    let _ = k;
                }
                if args.is_empty() {
                    keys.push((Some(item.clone()), false));
                }
                keyed.push((keys, item.clone()));
            }
            let mut err = None;
            keyed.sort_by(|(ka, _), (kb, _)| {
                for ((a, desc), (b2, _)) in ka.iter().zip(kb) {
                    // Empty keys sort first in either direction.
                    let o = match (a, b2) {
                        (None, None) => Ordering::Equal,
                        (None, Some(_)) => Ordering::Less,
                        (Some(_), None) => Ordering::Greater,
                        (Some(x), Some(y)) => match operators::compare(x, y) {
                            Ok(o) => {
                                let o = o.unwrap_or(Ordering::Equal);
                                if *desc {
                                    o.reverse()
                                } else {
                                    o
                                }
                            }
                            Err(e) => {
                                err = Some(e);
                                Ordering::Equal
                            }
                        },
                    };
                    if o != Ordering::Equal {
                        return o;
                    }
                }
                Ordering::Equal
            });
            if let Some(e) = err {
                return Err(e);
            }
            Ok(keyed.into_iter().map(|(_, i)| i).collect())
        }
        F::Extension => {
            let Some(url) = arg_str(0)? else {
                return Ok(vec![]);
            };
            let mut out = Vec::new();
            for item in &input {
                if let Item::Node(n) = item {
                    let mut exts = Vec::new();
                    navigation::member(ev.model, n, "extension", false, &mut exts)?;
                    for e in exts {
                        if let Item::Node(en) = &e {
                            if en.value.and_then(|v| v.get("url")).and_then(Value::as_str)
                                == Some(url.as_str())
                            {
                                out.push(e);
                            }
                        }
                    }
                }
            }
            Ok(out)
        }
        F::HasValue => b(
            matches!(singleton(&input), Ok(Some(Item::Node(n))) if n.is_primitive() && n.value.is_some()),
        ),
        F::GetValue => match singleton(&input)? {
            Some(item @ Item::Node(n)) if n.is_primitive() && n.value.is_some() => {
                one(item.to_system())
            }
            _ => Ok(vec![]),
        },
        // Only references inside the root resource resolve (contained `#id`, Bundle entries);
        // anything else is empty, which invariants treat as "cannot tell".
        F::Resolve => {
            let mut out = Vec::new();
            for item in &input {
                let reference = match item {
                    Item::Node(n) if !n.is_primitive() => n
                        .value
                        .and_then(|v| v.get("reference"))
                        .and_then(Value::as_str),
                    other => other.as_str(),
                };
                if let Some(target) = reference.and_then(|r| resolve_in(ev.root, r)) {
                    out.push(Item::Node(super::eval::resource_node(target)));
                }
            }
            Ok(out)
        }
        F::HtmlChecks => match singleton(&input)? {
            Some(item) => b(item.as_str().is_some_and(html_checks)),
            None => Ok(vec![]),
        },
        F::ConformsTo => {
            let Some(url) = arg_str(0)? else {
                return Ok(vec![]);
            };
            let Some(Item::Node(n)) = singleton(&input)? else {
                return Ok(vec![]);
            };
            match url.strip_prefix("http://hl7.org/fhir/StructureDefinition/") {
                Some(t) if ev.model.is_known_type(t) => b(ev.model.is_subtype(n.ty, t)),
                _ => eval_err(format!("unknown profile {url}")),
            }
        }
        F::MemberOf => eval_err("memberOf() needs a terminology service"),
        F::Type => Ok(input
            .iter()
            .map(|i| match i {
                Item::Node(n) => Item::TypeInfo("FHIR", n.ty.to_string()),
                other => {
                    let name = match other {
                        Item::Bool(_) => "Boolean",
                        Item::Int(_) => "Integer",
                        Item::Dec(_) => "Decimal",
                        Item::Str(_) => "String",
                        Item::Date(_) => "Date",
                        Item::DateTime(_) => "DateTime",
                        Item::Time(_) => "Time",
                        Item::Quantity(_) => "Quantity",
                        _ => "TypeInfo",
                    };
                    Item::TypeInfo("System", name.to_string())
                }
            })
            .collect()),
        F::Precision => match input_value(&input)? {
            None => Ok(vec![]),
            Some(Item::Dec(d)) => one(Some(Item::Int(d.scale() as i64))),
            Some(Item::Int(_)) => one(Some(Item::Int(0))),
            Some(Item::Date(d) | Item::DateTime(d)) => {
                let digits = [4, 6, 8, 10, 12, 14, 17];
                one(digits
                    .get(d.precision() as usize - 1)
                    .map(|n| Item::Int(*n)))
            }
            Some(Item::Time(t)) => {
                let digits = [2, 4, 6, 9];
                one(digits
                    .get(t.precision() as usize - 1)
                    .map(|n| Item::Int(*n)))
            }
            Some(other) => eval_err(format!("precision() of {other:?}")),
        },
        F::LowBoundary | F::HighBoundary => {
            let high = func == F::HighBoundary;
            let p = arg_int(0)?;
            match input_value(&input)? {
                None => Ok(vec![]),
                Some(Item::Int(i)) => {
                    one(decimal_boundary(Decimal::from_i64(i), p, high).map(Item::Dec))
                }
                Some(Item::Dec(d)) => one(decimal_boundary(d, p, high).map(Item::Dec)),
                Some(Item::Quantity(q)) => {
                    one(decimal_boundary(q.value, p, high).map(|v| Item::Quantity(q.with_value(v))))
                }
                Some(Item::Date(d)) => one(temporal_boundary(d, p, high, true).map(Item::Date)),
                Some(Item::DateTime(d)) => {
                    one(temporal_boundary(d, p, high, false).map(Item::DateTime))
                }
                Some(Item::Time(t)) => one(Some(Item::Time(time_boundary(t, p, high)))),
                Some(other) => eval_err(format!("boundary of {other:?}")),
            }
        }
        F::Comparable => {
            let (Some(Item::Quantity(a)), Some(Item::Quantity(c))) =
                (input_value(&input)?, input_value(&arg(0)?)?)
            else {
                return Ok(vec![]);
            };
            b(a.aligned(&c).is_some())
        }
        F::Sum | F::Min | F::Max | F::Avg => {
            let mut acc: Option<Item<'a>> = None;
            for item in &input {
                acc = Some(match acc {
                    None => item.clone(),
                    Some(a) => match func {
                        F::Min | F::Max => {
                            let o = operators::compare(&a, item)?;
                            let take_new = matches!(
                                (func, o),
                                (F::Min, Some(Ordering::Greater)) | (F::Max, Some(Ordering::Less))
                            );
                            if take_new {
                                item.clone()
                            } else {
                                a
                            }
                        }
                        _ => match operators::add(&a, item, 1)? {
                            Some(s) => s,
                            None => return Ok(vec![]),
                        },
                    },
                });
            }
            if func == F::Avg {
                if let Some(sum) = acc {
                    return Ok(operators::divide(&sum, &Item::Int(input.len() as i64))?
                        .into_iter()
                        .collect());
                }
            }
            if func == F::Sum && acc.is_none() {
                return one(Some(Item::Int(0)));
            }
            one(acc.and_then(|a| a.to_system()))
        }
    }
}

/// Finds `reference` among the contained resources of `root`, or the entries of a Bundle root.
fn resolve_in<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    if let Some(id) = reference.strip_prefix('#') {
        return root
            .get("contained")?
            .as_array()?
            .iter()
            .find(|r| r.get("id").and_then(Value::as_str) == Some(id));
    }
    let entries = root.get("entry")?.as_array()?;
    entries.iter().find_map(|e| {
        let resource = e.get("resource")?;
        let full_url = e.get("fullUrl").and_then(Value::as_str);
        let local = format!(
            "{}/{}",
            resource.get("resourceType")?.as_str()?,
            resource.get("id")?.as_str()?
        );
        let hit = full_url == Some(reference)
            || local == reference
            || full_url.is_some_and(|u| u.ends_with(&format!("/{reference}")));
        hit.then_some(resource)
    })
}

fn conv<'a>(
    input: &[Item<'a>],
    f: impl Fn(&Item<'a>) -> bool,
) -> Result<Collection<'a>, FhirPathError> {
    match singleton(input)? {
        None => Ok(vec![]),
        Some(item) => b(f(item)),
    }
}
