//! String helpers of the function library: regexes, encodings, escapes, `htmlChecks()`.

use super::error::{eval_err, FhirPathError};

pub(crate) fn regex(pattern: &str, full: bool) -> Result<regex::Regex, FhirPathError> {
    let p = if full {
        format!("^(?:{pattern})$")
    } else {
        pattern.to_string()
    };
    regex::RegexBuilder::new(&p)
        .dot_matches_new_line(true)
        .size_limit(1 << 20)
        .build()
        .or_else(|e| eval_err(format!("bad regex: {e}")))
}

pub(crate) fn encode(s: &str, how: &str) -> Option<String> {
    use base64::Engine;
    Some(match how {
        "base64" => base64::engine::general_purpose::STANDARD.encode(s),
        "urlbase64" => base64::engine::general_purpose::URL_SAFE.encode(s),
        "hex" => s.bytes().map(|b| format!("{b:02x}")).collect(),
        _ => return None,
    })
}

pub(crate) fn decode(s: &str, how: &str) -> Option<String> {
    use base64::Engine;
    let bytes = match how {
        "base64" => base64::engine::general_purpose::STANDARD.decode(s).ok()?,
        "urlbase64" => base64::engine::general_purpose::URL_SAFE.decode(s).ok()?,
        "hex" => (0..s.len())
            .step_by(2)
            .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
            .collect::<Option<Vec<u8>>>()?,
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

pub(crate) fn escape(s: &str, how: &str) -> Option<String> {
    Some(match how {
        "html" => s
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;"),
        "json" => s.replace('\\', "\\\\").replace('"', "\\\""),
        _ => return None,
    })
}

pub(crate) fn unescape(s: &str, how: &str) -> Option<String> {
    Some(match how {
        "html" => s
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
        "json" => s.replace("\\\"", "\"").replace("\\\\", "\\"),
        _ => return None,
    })
}

/// `htmlChecks()` for txt-1/txt-2: the narrative is a `<div>` and carries no active content
/// (scripts, frames, forms, `on*` event attributes, `javascript:` links).
pub(crate) fn html_checks(xhtml: &str) -> bool {
    static ACTIVE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let active = ACTIVE.get_or_init(|| {
        regex::Regex::new(
            r"(?i)<\s*(script|iframe|object|embed|form|applet|base|link|meta|style)\b|\son[a-z]+\s*=|javascript:",
        )
        .ok()
    });
    xhtml.trim_start().starts_with("<div") && active.as_ref().is_some_and(|re| !re.is_match(xhtml))
}
