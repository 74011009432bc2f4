//! Evidence a criterion weighed, each item with the reason it gives (`(evidence key, reason)`):
//! one finding names all the items of its verdict, their reasons joined.

/// The evidence keys of `items`, in order.
pub(super) fn keys(items: &[(&str, String)]) -> Vec<String> {
    items.iter().map(|(k, _)| k.to_string()).collect()
}

/// The reasons of `items`, joined with "; ".
pub(super) fn reasons(items: &[(&str, String)]) -> String {
    items
        .iter()
        .map(|(_, r)| r.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_and_reasons_keep_the_order() {
        let items = [
            ("Condition/a", "a is refuted".to_string()),
            ("Condition/b", "b is provisional".to_string()),
        ];
        assert_eq!(super::keys(&items), ["Condition/a", "Condition/b"]);
        assert_eq!(super::reasons(&items), "a is refuted; b is provisional");
    }
}
