//! Marks the parts of per-item arguments that do not depend on the item, so that they are
//! evaluated once per evaluation instead of once per item: `bdl-3`,
//! `entry.all(request.exists() = (%resource.type = 'batch' or …))`, compares every entry with
//! the same three facts about the Bundle.

use super::ast::Expr;
use super::functions::Func;

/// `expr` with each largest item-independent part of a per-item argument that reads a
/// variable wrapped in `Expr::Fixed`.
pub(crate) fn hoist(mut expr: Expr) -> Expr {
    walk(&mut expr, false);
    expr
}

/// `per_item`: `expr` is (inside) an argument evaluated once per item.
fn walk(expr: &mut Expr, per_item: bool) {
    if per_item && worth_fixing(expr) {
        let inner = std::mem::replace(expr, Expr::This);
        *expr = Expr::Fixed(Box::new(inner));
        return;
    }
    match expr {
        Expr::Member(target, _, _)
        | Expr::Is(target, _)
        | Expr::As(target, _)
        | Expr::Negate(target)
        | Expr::Fixed(target) => walk(target, per_item),
        Expr::Indexer(target, index) => {
            walk(target, per_item);
            walk(index, per_item);
        }
        Expr::Binary(_, lhs, rhs) => {
            walk(lhs, per_item);
            walk(rhs, per_item);
        }
        Expr::Call(target, func, args) => {
            if let Some(target) = target {
                walk(target, per_item);
            }
            // sort() reads its keys' shape (a leading `-`); leave them as written
            if *func == Func::Sort {
                return;
            }
            let func = *func;
            for (i, arg) in args.iter_mut().enumerate() {
                walk(arg, per_item || func.arg_per_item(i));
            }
        }
        _ => {}
    }
}

/// Item-independent, reads a variable, and is more than the variable or a literal itself.
fn worth_fixing(expr: &Expr) -> bool {
    !matches!(expr, Expr::Variable(_) | Expr::Literal(_))
        && independent(expr)
        && reads_variable(expr)
}

/// Whether `expr` gives the same result for every item: it reads neither `$this` (names,
/// `$this`, a function applied to it) nor `$index` or `$total`.
fn independent(expr: &Expr) -> bool {
    match expr {
        Expr::Literal(_) | Expr::Variable(_) | Expr::Type(_) => true,
        Expr::Ident(_) | Expr::This | Expr::Index | Expr::Total => false,
        Expr::Member(target, _, _)
        | Expr::Is(target, _)
        | Expr::As(target, _)
        | Expr::Negate(target)
        | Expr::Fixed(target) => independent(target),
        Expr::Indexer(target, index) => independent(target) && independent(index),
        Expr::Binary(_, lhs, rhs) => independent(lhs) && independent(rhs),
        Expr::Call(None, _, _) => false,
        // a per-item argument sees the call's own items (themselves independent here), but
        // `$total` there is still the outer one
        Expr::Call(Some(target), func, args) => {
            independent(target)
                && args.iter().enumerate().all(|(i, a)| {
                    if func.arg_per_item(i) {
                        !reads_total(a)
                    } else {
                        independent(a)
                    }
                })
        }
    }
}

fn reads_variable(expr: &Expr) -> bool {
    any(expr, &|e| matches!(e, Expr::Variable(_)))
}

fn reads_total(expr: &Expr) -> bool {
    any(expr, &|e| matches!(e, Expr::Total))
}

fn any(expr: &Expr, f: &dyn Fn(&Expr) -> bool) -> bool {
    if f(expr) {
        return true;
    }
    match expr {
        Expr::Member(target, _, _)
        | Expr::Is(target, _)
        | Expr::As(target, _)
        | Expr::Negate(target)
        | Expr::Fixed(target) => any(target, f),
        Expr::Indexer(a, b) | Expr::Binary(_, a, b) => any(a, f) || any(b, f),
        Expr::Call(target, _, args) => {
            target.as_deref().is_some_and(|t| any(t, f)) || args.iter().any(|a| any(a, f))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::parser::parse;
    use super::*;

    fn fixed_parts(expr: &str) -> usize {
        let hoisted = hoist(parse(expr).expect("parses"));
        count(&hoisted)
    }

    fn count(expr: &Expr) -> usize {
        let own = usize::from(matches!(expr, Expr::Fixed(_)));
        own + match expr {
            Expr::Member(t, _, _) | Expr::Is(t, _) | Expr::As(t, _) | Expr::Negate(t) => count(t),
            Expr::Fixed(t) => count(t),
            Expr::Indexer(a, b) | Expr::Binary(_, a, b) => count(a) + count(b),
            Expr::Call(t, _, args) => {
                t.as_deref().map_or(0, count) + args.iter().map(count).sum::<usize>()
            }
            _ => 0,
        }
    }

    #[test]
    fn item_independent_parts_of_per_item_arguments() {
        assert_eq!(
            fixed_parts("entry.all(request.exists() = (%resource.type = 'batch' or %resource.type = 'transaction'))"),
            1
        );
        // outside a per-item argument it runs once anyway
        assert_eq!(fixed_parts("%resource.type = 'batch'"), 0);
        // depends on the item
        assert_eq!(fixed_parts("entry.where(fullUrl = %resource.id)"), 1);
        assert_eq!(fixed_parts("entry.where(fullUrl.exists())"), 0);
        assert_eq!(
            fixed_parts("entry.select($index = %resource.entry.count())"),
            1
        );
        assert_eq!(fixed_parts("entry.where($this.id = 'x')"), 0);
        assert_eq!(fixed_parts("entry.sort(-%resource.id)"), 0);
    }
}
