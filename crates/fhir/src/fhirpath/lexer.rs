//! Tokens of FHIRPath: identifiers (also `backticked`), literals, `%vars`, operators.
//! Comments (`//`, `/* */`) are skipped here.

use super::error::FhirPathError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Ident(String),
    /// A backticked identifier, never a keyword.
    Delimited(String),
    Str(String),
    Number(String),
    /// `@…` date, dateTime or time literal body (without `@`).
    Temporal(String),
    Var(String),
    Special(String),
    Op(&'static str),
    Eof,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

fn syntax(offset: usize, message: impl Into<String>) -> FhirPathError {
    FhirPathError::Syntax {
        offset,
        message: message.into(),
    }
}

const OPS: &[&str] = &[
    "<=", ">=", "!=", "!~", "(", ")", "[", "]", "{", "}", ".", ",", "+", "-", "*", "/", "&", "|",
    "<", ">", "=", "~",
];

fn unescape(s: &str, offset: usize) -> Result<String, FhirPathError> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| syntax(offset, "bad \\u escape"))?;
                out.push(code);
            }
            Some(other) => out.push(other),
            None => return Err(syntax(offset, "dangling escape")),
        }
    }
    Ok(out)
}

pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, FhirPathError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if src[i..].starts_with("//") {
            i = src[i..].find('\n').map_or(bytes.len(), |n| i + n);
            continue;
        }
        if src[i..].starts_with("/*") {
            let end = src[i + 2..]
                .find("*/")
                .ok_or_else(|| syntax(i, "unterminated comment"))?;
            i += end + 4;
            continue;
        }
        let tok = if c == b'\'' || c == b'`' {
            let quote = c;
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != quote {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            if j >= bytes.len() {
                return Err(syntax(i, "unterminated string"));
            }
            let text = unescape(&src[i + 1..j], i)?;
            i = j + 1;
            if quote == b'\'' {
                Tok::Str(text)
            } else {
                Tok::Delimited(text)
            }
        } else if c.is_ascii_digit() {
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if j + 1 < bytes.len() && bytes[j] == b'.' && bytes[j + 1].is_ascii_digit() {
                j += 1;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
            } else if j < bytes.len() && bytes[j] == b'L' {
                // Long literals (2.1) are read as integers.
                let text = src[i..j].to_string();
                i = j + 1;
                out.push(Token {
                    tok: Tok::Number(text),
                    offset: start,
                });
                continue;
            }
            let text = src[i..j].to_string();
            i = j;
            Tok::Number(text)
        } else if c == b'@' {
            let mut j = i + 1;
            while j < bytes.len()
                && (bytes[j].is_ascii_alphanumeric()
                    || matches!(bytes[j], b'-' | b':' | b'.' | b'+'))
            {
                // A `.` is only part of the literal when a digit follows (fractional seconds).
                if bytes[j] == b'.' && !bytes.get(j + 1).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                j += 1;
            }
            let text = src[i + 1..j].to_string();
            i = j;
            Tok::Temporal(text)
        } else if c == b'%' {
            let rest = &src[i + 1..];
            if rest.starts_with('`') || rest.starts_with('\'') {
                let quote = rest.as_bytes()[0] as char;
                let end = rest[1..]
                    .find(quote)
                    .ok_or_else(|| syntax(i, "unterminated variable name"))?;
                let name = rest[1..end + 1].to_string();
                i += end + 3;
                Tok::Var(name)
            } else {
                let n = rest
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
                    .count();
                if n == 0 {
                    return Err(syntax(i, "empty variable name"));
                }
                i += n + 1;
                Tok::Var(rest[..n].to_string())
            }
        } else if c == b'$' {
            let n = src[i + 1..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            let name = src[i + 1..i + 1 + n].to_string();
            i += n + 1;
            Tok::Special(name)
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let n = src[i..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            let text = src[i..i + n].to_string();
            i += n;
            Tok::Ident(text)
        } else if let Some(op) = OPS.iter().find(|op| src[i..].starts_with(**op)) {
            i += op.len();
            Tok::Op(op)
        } else {
            return Err(syntax(
                i,
                format!("unexpected character {:?}", &src[i..].chars().next()),
            ));
        };
        out.push(Token { tok, offset: start });
    }
    out.push(Token {
        tok: Tok::Eof,
        offset: src.len(),
    });
    Ok(out)
}
