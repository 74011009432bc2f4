//! The tree-walking evaluator: collections in, collections out, borrowing the input JSON.

use super::ast::{BinOp, Expr, Literal, TypeSpec};
use super::conversion;
use super::error::{eval_err, FhirPathError};
use super::functions;
use super::model::{is_primitive_name, Model};
use super::navigation;
use super::operators;
use super::value::{Item, Node};
use serde_json::Value;
use std::cell::RefCell;

/// The iteration variables of the innermost `where`/`select`/… (`$this`, `$index`, `$total`).
#[derive(Clone, Copy)]
pub(crate) struct Env<'a, 'e> {
    pub this: &'e [Item<'a>],
    pub index: Option<usize>,
    pub total: Option<&'e [Item<'a>]>,
}

pub(crate) struct Evaluator<'a> {
    pub model: &'static Model,
    pub root: &'a Value,
    pub focus: &'a Value,
    /// Results of `Expr::Fixed` parts in this evaluation, by the part's address.
    pub fixed: RefCell<Vec<(*const Expr, Collection<'a>)>>,
}

pub(crate) type Collection<'a> = Vec<Item<'a>>;

pub(crate) fn resource_node(v: &Value) -> Node<'_> {
    Node {
        value: Some(v),
        ext: None,
        ty: navigation::infer_type(v, None),
    }
}

/// Singleton evaluation as a boolean: empty → None; one boolean → it; one other item → true.
pub(crate) fn to_bool(c: &[Item]) -> Result<Option<bool>, FhirPathError> {
    match c {
        [] => Ok(None),
        [item] => match item.to_system() {
            Some(Item::Bool(b)) => Ok(Some(b)),
            _ => Ok(Some(true)),
        },
        _ => eval_err(format!(
            "expected a single boolean, found {} items",
            c.len()
        )),
    }
}

pub(crate) fn singleton<'c, 'a>(c: &'c [Item<'a>]) -> Result<Option<&'c Item<'a>>, FhirPathError> {
    match c {
        [] => Ok(None),
        [item] => Ok(Some(item)),
        _ => eval_err(format!("expected a single item, found {}", c.len())),
    }
}

fn bool_result<'a>(b: Option<bool>) -> Collection<'a> {
    b.map(Item::Bool).into_iter().collect()
}

/// Whether `item` is of the type named by `spec` (FHIR types by hierarchy, System types exactly).
const SYSTEM_TYPES: &[&str] = &[
    "Boolean", "Integer", "Decimal", "String", "Date", "DateTime", "Time", "Quantity",
];

/// Errors for a type name that neither FHIR R4 nor System defines (`as(string1)`).
pub(crate) fn check_type(model: &Model, spec: &TypeSpec) -> Result<(), FhirPathError> {
    let name = spec.name.as_str();
    let known = match spec.namespace.as_deref() {
        // An unknown System type simply matches nothing.
        Some("System") => true,
        Some("FHIR") => model.is_known_type(name),
        None => SYSTEM_TYPES.contains(&name) || model.is_known_type(name),
        Some(_) => false,
    };
    if known {
        Ok(())
    } else {
        eval_err(format!("unknown type {name}"))
    }
}

/// `is` accepts subtypes (a `code` is a `string`); `as`/`ofType` want the exact primitive
/// type, though a resource or complex type still matches its base types.
pub(crate) fn is_type_exact(model: &Model, item: &Item, spec: &TypeSpec) -> bool {
    match item {
        Item::Node(n) if is_primitive_name(n.ty) && spec.namespace.as_deref() != Some("System") => {
            n.ty == spec.name
        }
        _ => is_type(model, item, spec),
    }
}

pub(crate) fn is_type(model: &Model, item: &Item, spec: &TypeSpec) -> bool {
    let ns = spec.namespace.as_deref();
    let name = spec.name.as_str();
    let system = match item {
        Item::Bool(_) => Some("Boolean"),
        Item::Int(_) => Some("Integer"),
        Item::Dec(_) => Some("Decimal"),
        Item::Str(_) => Some("String"),
        Item::Date(_) => Some("Date"),
        Item::DateTime(_) => Some("DateTime"),
        Item::Time(_) => Some("Time"),
        Item::Quantity(_) => Some("Quantity"),
        Item::TypeInfo(..) => Some("TypeInfo"),
        Item::Node(_) => None,
    };
    match (item, system) {
        (_, Some(sys)) => ns != Some("FHIR") && sys == name,
        (Item::Node(n), None) => {
            ns != Some("System") && (model.is_subtype(n.ty, name) || name == "Base")
        }
        _ => false,
    }
}

impl<'a> Evaluator<'a> {
    pub fn eval<'e>(&self, expr: &Expr, env: Env<'a, 'e>) -> Result<Collection<'a>, FhirPathError> {
        match expr {
            Expr::Literal(l) => Ok(match l {
                Literal::Empty => vec![],
                Literal::Bool(b) => vec![Item::Bool(*b)],
                Literal::Str(s) => vec![Item::Str(s.clone())],
                Literal::Int(i) => vec![Item::Int(*i)],
                Literal::Dec(d) => vec![Item::Dec(*d)],
                Literal::Date(d) => vec![Item::Date(*d)],
                Literal::DateTime(d) => vec![Item::DateTime(*d)],
                Literal::Time(t) => vec![Item::Time(*t)],
                Literal::Quantity(q) => vec![Item::Quantity(q.clone())],
            }),
            Expr::This => Ok(env.this.to_vec()),
            Expr::Index => Ok(env.index.map(|i| Item::Int(i as i64)).into_iter().collect()),
            Expr::Total => Ok(env.total.map(<[Item]>::to_vec).unwrap_or_default()),
            Expr::Variable(name) => self.variable(name),
            Expr::Ident(name) => {
                let mut out = Vec::new();
                for item in env.this {
                    if let Item::Node(n) = item {
                        // `Patient.name`: a leading type name selects the focus itself.
                        if name.starts_with(|c: char| c.is_ascii_uppercase())
                            && self.model.element(n.ty, name).is_none()
                            && self.model.is_subtype(n.ty, name)
                        {
                            out.push(item.clone());
                            continue;
                        }
                        if name.starts_with(|c: char| c.is_ascii_uppercase())
                            && self.model.has_elements(n.ty)
                            && self.model.element(n.ty, name).is_none()
                            && self.model.is_known_type(name)
                        {
                            return eval_err(format!("{name} does not apply to a {}", n.ty));
                        }
                        navigation::member(self.model, n, name, false, &mut out)?;
                    }
                }
                Ok(out)
            }
            Expr::Member(target, name, strict) => {
                let input = self.eval(target, env)?;
                let mut out = Vec::new();
                for item in &input {
                    match item {
                        Item::Node(n) => {
                            navigation::member(self.model, n, name, *strict, &mut out)?
                        }
                        Item::TypeInfo(ns, n) => match name.as_str() {
                            "namespace" => out.push(Item::Str(ns.to_string())),
                            "name" => out.push(Item::Str(n.clone())),
                            _ => {}
                        },
                        _ => {}
                    }
                }
                Ok(out)
            }
            Expr::Call(target, func, args) => {
                let input = match target {
                    Some(t) => self.eval(t, env)?,
                    None => env.this.to_vec(),
                };
                functions::call(self, *func, input, args, env)
            }
            Expr::Indexer(target, index) => {
                let input = self.eval(target, env)?;
                let idx = self.eval(index, env)?;
                match singleton(&idx)?.and_then(Item::to_system) {
                    Some(Item::Int(i)) => Ok(usize::try_from(i)
                        .ok()
                        .and_then(|i| input.into_iter().nth(i))
                        .into_iter()
                        .collect()),
                    None => Ok(vec![]),
                    Some(other) => eval_err(format!("index must be an integer, not {other:?}")),
                }
            }
            Expr::Negate(inner) => {
                let c = self.eval(inner, env)?;
                let Some(item) = singleton(&c)?.and_then(Item::to_system) else {
                    return Ok(vec![]);
                };
                Ok(vec![match item {
                    Item::Int(i) => match i.checked_neg() {
                        Some(n) => Item::Int(n),
                        None => return Ok(vec![]),
                    },
                    Item::Dec(d) => Item::Dec(d.neg()),
                    Item::Quantity(q) => Item::Quantity(q.with_value(q.value.neg())),
                    other => return eval_err(format!("cannot negate {other:?}")),
                }])
            }
            Expr::Type(_) => eval_err("a type name is not a value"),
            Expr::Is(inner, spec) => {
                check_type(self.model, spec)?;
                let c = self.eval(inner, env)?;
                Ok(match singleton(&c)? {
                    Some(item) => vec![Item::Bool(is_type(self.model, item, spec))],
                    None => vec![],
                })
            }
            Expr::As(inner, spec) => {
                check_type(self.model, spec)?;
                let c = self.eval(inner, env)?;
                Ok(singleton(&c)?
                    .filter(|i| is_type_exact(self.model, i, spec))
                    .cloned()
                    .into_iter()
                    .collect())
            }
            Expr::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, env),
            Expr::Fixed(inner) => {
                let key: *const Expr = inner.as_ref();
                if let Some((_, known)) = self.fixed.borrow().iter().find(|(k, _)| *k == key) {
                    return Ok(known.clone());
                }
                let result = self.eval(inner, env)?;
                self.fixed.borrow_mut().push((key, result.clone()));
                Ok(result)
            }
        }
    }

    fn variable(&self, name: &str) -> Result<Collection<'a>, FhirPathError> {
        let s = |v: &str| Ok(vec![Item::Str(v.to_string())]);
        match name {
            "resource" | "rootResource" => Ok(vec![Item::Node(resource_node(self.root))]),
            "context" => Ok(vec![Item::Node(resource_node(self.focus))]),
            "ucum" => s("http://unitsofmeasure.org"),
            "sct" => s("http://snomed.info/sct"),
            "loinc" => s("http://loinc.org"),
            _ => {
                if let Some(vs) = name.strip_prefix("vs-") {
                    return s(&format!("http://hl7.org/fhir/ValueSet/{vs}"));
                }
                if let Some(ext) = name.strip_prefix("ext-") {
                    return s(&format!("http://hl7.org/fhir/StructureDefinition/{ext}"));
                }
                eval_err(format!("unknown variable %{name}"))
            }
        }
    }

    fn binary<'e>(
        &self,
        op: BinOp,
        lhs: &Expr,
        rhs: &Expr,
        env: Env<'a, 'e>,
    ) -> Result<Collection<'a>, FhirPathError> {
        // Boolean operators short-circuit, which also spares evaluating the right side.
        match op {
            BinOp::And => {
                let l = to_bool(&self.eval(lhs, env)?)?;
                if l == Some(false) {
                    return Ok(bool_result(Some(false)));
                }
                let r = to_bool(&self.eval(rhs, env)?)?;
                return Ok(bool_result(match (l, r) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                }));
            }
            BinOp::Or => {
                let l = to_bool(&self.eval(lhs, env)?)?;
                if l == Some(true) {
                    return Ok(bool_result(Some(true)));
                }
                let r = to_bool(&self.eval(rhs, env)?)?;
                return Ok(bool_result(match (l, r) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                }));
            }
            BinOp::Implies => {
                let l = to_bool(&self.eval(lhs, env)?)?;
                if l == Some(false) {
                    return Ok(bool_result(Some(true)));
                }
                let r = to_bool(&self.eval(rhs, env)?)?;
                return Ok(bool_result(match (l, r) {
                    (_, Some(true)) => Some(true),
                    (Some(true), Some(false)) => Some(false),
                    _ => None,
                }));
            }
            BinOp::Xor => {
                let l = to_bool(&self.eval(lhs, env)?)?;
                let r = to_bool(&self.eval(rhs, env)?)?;
                return Ok(bool_result(l.zip(r).map(|(a, b)| a != b)));
            }
            _ => {}
        }
        let l = self.eval(lhs, env)?;
        let r = self.eval(rhs, env)?;
        match op {
            BinOp::Union => Ok(union(l, r)),
            BinOp::Eq | BinOp::Ne => {
                if l.is_empty() || r.is_empty() {
                    return Ok(vec![]);
                }
                let eq = if l.len() != r.len() {
                    Some(false)
                } else {
                    let mut acc = Some(true);
                    for (a, b) in l.iter().zip(&r) {
                        match operators::equals(a, b) {
                            Some(true) => {}
                            Some(false) => {
                                acc = Some(false);
                                break;
                            }
                            None => acc = None,
                        }
                    }
                    acc
                };
                Ok(bool_result(if op == BinOp::Eq {
                    eq
                } else {
                    eq.map(|b| !b)
                }))
            }
            BinOp::Equiv | BinOp::NotEquiv => {
                let eq = l.len() == r.len()
                    && l.iter()
                        .all(|a| r.iter().any(|b| operators::equivalent(a, b)));
                Ok(vec![Item::Bool(if op == BinOp::Equiv { eq } else { !eq })])
            }
            BinOp::In | BinOp::Contains => {
                let (item, coll) = if op == BinOp::In { (l, r) } else { (r, l) };
                let Some(item) = singleton(&item)? else {
                    return Ok(vec![]);
                };
                Ok(vec![Item::Bool(
                    coll.iter()
                        .any(|c| operators::equals(item, c) == Some(true)),
                )])
            }
            BinOp::Concat => {
                let text = |c: &[Item]| -> Result<String, FhirPathError> {
                    Ok(match singleton(c)?.and_then(Item::to_system) {
                        Some(Item::Str(s)) => s,
                        Some(other) => conversion::to_string(&other).unwrap_or_default(),
                        None => String::new(),
                    })
                };
                Ok(vec![Item::Str(text(&l)? + &text(&r)?)])
            }
            _ => {
                let (Some(a), Some(b)) = (singleton(&l)?, singleton(&r)?) else {
                    return Ok(vec![]);
                };
                let result = match op {
                    BinOp::Add => operators::add(a, b, 1)?,
                    BinOp::Sub => operators::add(a, b, -1)?,
                    BinOp::Mul => operators::multiply(a, b)?,
                    BinOp::Div => operators::divide(a, b)?,
                    BinOp::IntDiv => operators::int_div(a, b)?,
                    BinOp::Mod => operators::modulo(a, b)?,
                    _ => {
                        let ord = operators::compare(a, b)?;
                        return Ok(bool_result(ord.map(|o| match op {
                            BinOp::Lt => o.is_lt(),
                            BinOp::Gt => o.is_gt(),
                            BinOp::Le => o.is_le(),
                            _ => o.is_ge(),
                        })));
                    }
                };
                Ok(result.into_iter().collect())
            }
        }
    }
}

/// `|` and `union()`: both collections, without duplicates.
pub(crate) fn union<'a>(l: Collection<'a>, r: Collection<'a>) -> Collection<'a> {
    let mut out: Collection<'a> = Vec::with_capacity(l.len() + r.len());
    for item in l.into_iter().chain(r) {
        if !out
            .iter()
            .any(|o| operators::equals(o, &item) == Some(true))
        {
            out.push(item);
        }
    }
    out
}
