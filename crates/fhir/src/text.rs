//! Short texts joined at their final size. `format!` goes through the formatting machinery (a
//! few hundred instructions for a two-part text, and growth as it writes); the workflow builds a
//! few dozen reasons and references per referral.

/// `parts` joined, allocated once.
pub fn concat<const N: usize>(parts: [&str; N]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for part in parts {
        text.push_str(part);
    }
    text
}

/// Appends each of `items`, written by `write`, with `separator` between them.
pub fn push_separated<T>(
    out: &mut String,
    items: impl IntoIterator<Item = T>,
    separator: &str,
    mut write: impl FnMut(&mut String, T),
) {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        write(out, item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separates_items_only_between() {
        let mut text = String::from("list: ");
        push_separated(&mut text, ["a", "b", "c"], "; ", |t, s| t.push_str(s));
        assert_eq!(text, "list: a; b; c");
        let mut empty = String::new();
        push_separated(&mut empty, Vec::<&str>::new(), "; ", |t, s| t.push_str(s));
        assert_eq!(empty, "");
    }

    #[test]
    fn joins_in_order_at_size() {
        let text = concat(["Patient", "/", "1"]);
        assert_eq!(text, "Patient/1");
        assert_eq!(text.capacity(), text.len());
        assert_eq!(concat([]), "");
    }
}
