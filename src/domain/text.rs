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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_in_order_at_size() {
        let text = concat(["Patient", "/", "1"]);
        assert_eq!(text, "Patient/1");
        assert_eq!(text.capacity(), text.len());
        assert_eq!(concat([]), "");
    }
}
