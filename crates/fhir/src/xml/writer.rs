//! The JSON form of a resource written as FHIR XML: elements in the order their
//! StructureDefinition lists them, primitives as `value` attributes with their `_name`
//! (`id`, `extension`) beside them, `id` and Extension `url` as attributes, a Narrative's
//! XHTML as it is, resources nested in a wrapping element. Members the definitions do not
//! know are written last, so nothing a client sent is dropped.

use super::element_types::{self, upper_first, Child, ElementTypes, Shape};
use super::{FHIR_NS, XHTML_NS};
use serde_json::{Map, Value};
use std::fmt::Write;

/// The resource as an indented FHIR XML document.
pub fn write_resource(resource: &Value) -> String {
    let mut writer = Writer {
        types: element_types::r4(),
        out: String::with_capacity(1024),
    };
    writer
        .out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    match resource.as_object() {
        Some(object) => writer.resource(object, 0, true),
        None => writer.out.push_str("<!-- not a resource -->\n"),
    }
    writer.out
}

struct Writer {
    types: &'static ElementTypes,
    out: String,
}

impl Writer {
    fn indent(&mut self, level: usize) {
        for _ in 0..level {
            self.out.push_str("  ");
        }
    }

    fn resource(&mut self, object: &Map<String, Value>, level: usize, root: bool) {
        let name = object
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("Resource");
        self.indent(level);
        let _ = write!(self.out, "<{name}");
        if root {
            let _ = write!(self.out, " xmlns=\"{FHIR_NS}\"");
        }
        self.out.push_str(">\n");
        self.members(object, name, level + 1);
        self.indent(level);
        let _ = writeln!(self.out, "</{name}>");
    }

    /// Opens an element with its attributes (`id`, `url`); says whether anything follows.
    fn open_complex(
        &mut self,
        name: &str,
        object: &Map<String, Value>,
        def_path: &str,
        level: usize,
    ) -> bool {
        self.indent(level);
        let _ = write!(self.out, "<{name}");
        let mut attributes = 0;
        for child in self.types.children(def_path).iter().filter(|c| c.attribute) {
            if let Some(value) = object.get(&child.name) {
                let _ = write!(self.out, " {}=\"", child.name);
                scalar(value, &mut self.out);
                self.out.push('"');
                attributes += 1;
            }
        }
        let has_children = object.len() > attributes;
        self.out.push_str(if has_children { ">\n" } else { "/>\n" });
        has_children
    }

    fn members(&mut self, object: &Map<String, Value>, def_path: &str, level: usize) {
        let types = self.types;
        for child in types.children(def_path).iter().filter(|c| !c.attribute) {
            if child.choice {
                for type_code in &child.types {
                    let key = format!("{}{}", child.name, upper_first(type_code));
                    self.member(object, &key, child, type_code, level);
                }
            } else {
                let type_code = child.types.first().map_or("", String::as_str);
                self.member(object, &child.name, child, type_code, level);
            }
        }
        for (key, value) in object {
            let name = key.strip_prefix('_').unwrap_or(key);
            if key != "resourceType" && types.child(def_path, name).is_none() {
                self.unknown(key, value, level);
            }
        }
    }

    fn member(
        &mut self,
        object: &Map<String, Value>,
        key: &str,
        child: &Child,
        type_code: &str,
        level: usize,
    ) {
        let value = object.get(key);
        let shape = self.types.shape(type_code);
        if let Shape::Primitive(_) = shape {
            let extra = object.get(&format!("_{key}"));
            if value.is_none() && extra.is_none() {
                return;
            }
            match (value, extra) {
                (Some(Value::Array(_)), _) | (_, Some(Value::Array(_))) => {
                    let values = value.and_then(Value::as_array);
                    let extras = extra.and_then(Value::as_array);
                    let count = values.map_or(0, Vec::len).max(extras.map_or(0, Vec::len));
                    for i in 0..count {
                        let v = values.and_then(|a| a.get(i));
                        let e = extras.and_then(|a| a.get(i));
                        self.primitive(key, v, e, level);
                    }
                }
                _ => self.primitive(key, value, extra, level),
            }
            return;
        }
        let Some(value) = value else {
            return;
        };
        let items = match value {
            Value::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        for item in items {
            match (shape, item) {
                (Shape::Xhtml, Value::String(xhtml)) => {
                    self.indent(level);
                    xhtml_text(xhtml, &mut self.out);
                    self.out.push('\n');
                }
                (Shape::Resource, Value::Object(resource)) => {
                    self.indent(level);
                    let _ = writeln!(self.out, "<{key}>");
                    self.resource(resource, level + 1, false);
                    self.indent(level);
                    let _ = writeln!(self.out, "</{key}>");
                }
                (Shape::Complex, Value::Object(inner)) => {
                    let path = self.types.children_path(child, type_code);
                    if self.open_complex(key, inner, path, level) {
                        self.members(inner, path, level + 1);
                        self.indent(level);
                        let _ = writeln!(self.out, "</{key}>");
                    }
                }
                (_, other) => self.unknown(key, other, level),
            }
        }
    }

    /// `<name value="..." id="...">` with the extensions of its `_name` object.
    fn primitive(
        &mut self,
        name: &str,
        value: Option<&Value>,
        extra: Option<&Value>,
        level: usize,
    ) {
        let value = value.filter(|v| !v.is_null());
        let extra = extra.and_then(Value::as_object);
        if value.is_none() && extra.is_none() {
            return;
        }
        self.indent(level);
        let _ = write!(self.out, "<{name}");
        if let Some(id) = extra.and_then(|e| e.get("id")) {
            self.out.push_str(" id=\"");
            scalar(id, &mut self.out);
            self.out.push('"');
        }
        if let Some(value) = value {
            self.out.push_str(" value=\"");
            scalar(value, &mut self.out);
            self.out.push('"');
        }
        let rest = extra.filter(|e| e.keys().any(|k| k != "id"));
        match rest {
            None => self.out.push_str("/>\n"),
            Some(rest) => {
                self.out.push_str(">\n");
                let types = self.types;
                let ext = types.child("Element", "extension");
                for (key, item) in rest.iter().filter(|(k, _)| *k != "id") {
                    match ext {
                        Some((child, type_code)) if key == "extension" => {
                            self.member(rest, key, child, type_code, level + 1)
                        }
                        _ => self.unknown(key, item, level + 1),
                    }
                }
                self.indent(level);
                let _ = writeln!(self.out, "</{name}>");
            }
        }
    }

    /// A member no definition names: objects as elements, scalars as `value` attributes.
    fn unknown(&mut self, name: &str, value: &Value, level: usize) {
        match value {
            Value::Array(items) => {
                for item in items {
                    self.unknown(name, item, level);
                }
            }
            Value::Object(inner) => {
                self.indent(level);
                let _ = writeln!(self.out, "<{name}>");
                for (key, item) in inner {
                    self.unknown(key, item, level + 1);
                }
                self.indent(level);
                let _ = writeln!(self.out, "</{name}>");
            }
            Value::Null => {}
            scalar_value => {
                self.indent(level);
                let _ = write!(self.out, "<{name} value=\"");
                scalar(scalar_value, &mut self.out);
                self.out.push_str("\"/>\n");
            }
        }
    }
}

/// A JSON scalar as attribute text: numbers exactly as held (decimals keep their digits).
fn scalar(value: &Value, out: &mut String) {
    match value {
        Value::String(text) => escape_attribute(text, out),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => {}
        other => escape_attribute(&other.to_string(), out),
    }
}

/// Attribute text; tab, CR and LF as character references, which survive the attribute
/// value normalization a reader applies.
fn escape_attribute(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// A narrative as it was sent when it is a well-formed XHTML `div`; otherwise its text,
/// escaped, in an empty `div`, so that it can never break the document around it.
fn xhtml_text(xhtml: &str, out: &mut String) {
    let well_formed = roxmltree::Document::parse(xhtml).is_ok_and(|doc| {
        let root = doc.root_element();
        root.tag_name().name() == "div" && root.tag_name().namespace() == Some(XHTML_NS)
    });
    if well_formed {
        out.push_str(xhtml);
    } else {
        let _ = write!(out, "<div xmlns=\"{XHTML_NS}\">");
        escape_text(xhtml, out);
        out.push_str("</div>");
    }
}

/// An XHTML element written afresh, unprefixed, with the namespace declared on the top one.
/// Iterative: the subtree's depth is not bounded by the FHIR element limits.
pub(super) fn xhtml_subtree(top: roxmltree::Node, out: &mut String) {
    let close = |node: roxmltree::Node, out: &mut String| {
        let _ = write!(out, "</{}>", node.tag_name().name());
    };
    // the elements opened and not yet closed, innermost last
    let mut open: Vec<roxmltree::Node> = Vec::new();
    for node in top.descendants() {
        while let Some(&last) = open.last() {
            if node.parent() == Some(last) {
                break;
            }
            close(last, out);
            open.pop();
        }
        if node.is_element() {
            let _ = write!(out, "<{}", node.tag_name().name());
            if node == top {
                let _ = write!(out, " xmlns=\"{XHTML_NS}\"");
            }
            for attribute in node.attributes() {
                let _ = write!(out, " {}=\"", attribute.name());
                escape_attribute(attribute.value(), out);
                out.push('"');
            }
            if node.has_children() {
                out.push('>');
                open.push(node);
            } else {
                out.push_str("/>");
            }
        } else if node.is_text() {
            escape_text(node.text().unwrap_or_default(), out);
        }
    }
    while let Some(last) = open.pop() {
        close(last, out);
    }
}
