//! String search normalisation: case- and accent-insensitive, as R4 §3.1.1.4.8 asks.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Lower case, accents removed (NFD, combining marks dropped), whitespace runs collapsed.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn accents_and_case() {
        assert_eq!(normalize("Zoë  MÜLLER"), "zoe muller");
        assert_eq!(normalize("José"), normalize("JOSE"));
        assert_eq!(normalize(" a "), "a");
    }
}
