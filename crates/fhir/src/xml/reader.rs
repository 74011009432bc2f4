//! FHIR XML to the JSON form, driven by the R4 element tables: which elements repeat, which
//! are primitives (their `value` attribute, with `id` and `extension` going to `_name`), which
//! hold a resource, and where a Narrative's XHTML is. Bounded like the JSON reader: no DTD
//! (so no entities, internal or external), a node limit, a depth limit, FHIR's string limits.

use super::element_types::{self, Child, ElementTypes, JsonKind, Shape};
use super::{XmlError, FHIR_NS, XHTML_NS};
use crate::json::{forbidden_control, position, JsonLimits};
use roxmltree::{Document, Node, NodeType, ParsingOptions};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Line and column (1-based) of each element, by the FHIRPath the validator names it with
/// (`Bundle.entry[0].resource.name[1].given[0]`).
pub type Positions = HashMap<String, (usize, usize)>;

/// Parses a FHIR XML resource into its JSON form.
pub fn parse_resource(bytes: &[u8], limits: JsonLimits) -> Result<Value, XmlError> {
    read(bytes, limits, None)
}

/// [`parse_resource`], also recording where each element starts.
pub fn parse_with_positions(
    bytes: &[u8],
    limits: JsonLimits,
) -> Result<(Value, Positions), XmlError> {
    let mut positions = Positions::new();
    let value = read(bytes, limits, Some(&mut positions))?;
    Ok((value, positions))
}

fn read(
    bytes: &[u8],
    limits: JsonLimits,
    positions: Option<&mut Positions>,
) -> Result<Value, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = position(bytes, e.valid_up_to());
        XmlError::Syntax {
            line,
            column,
            message: "the body is not valid UTF-8".into(),
        }
    })?;
    let options = ParsingOptions {
        // no DTD: no entity can be declared, so none can expand or reach outside
        allow_dtd: false,
        // elements, and the whitespace text between them
        nodes_limit: u32::try_from(limits.max_elements.saturating_mul(3)).unwrap_or(u32::MAX),
        entity_resolver: None,
    };
    let doc = Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::NodesLimitReached => XmlError::TooManyElements {
            limit: limits.max_elements,
        },
        roxmltree::Error::DtdDetected => {
            let (line, column) = position(bytes, text.find("<!DOCTYPE").unwrap_or(0));
            XmlError::Syntax {
                line,
                column,
                message: "a DTD (<!DOCTYPE>) is not allowed in FHIR XML".into(),
            }
        }
        e => {
            let pos = e.pos();
            XmlError::Syntax {
                line: pos.row as usize,
                column: pos.col as usize,
                message: syntax_message(&e),
            }
        }
    })?;
    let root = doc.root_element();
    let mut reader = Reader {
        text,
        types: element_types::r4(),
        limits,
        values: 0,
        positions,
        path: String::new(),
        lines: LineCursor::default(),
    };
    reader.resource(root, 0)
}

/// roxmltree's message without its trailing position, which is reported separately.
fn syntax_message(e: &roxmltree::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// How far [`Reader::record`] has counted lines.
struct LineCursor {
    offset: usize,
    line: usize,
    line_start: usize,
}

impl Default for LineCursor {
    fn default() -> Self {
        LineCursor {
            offset: 0,
            line: 1,
            line_start: 0,
        }
    }
}

struct Reader<'a, 'input> {
    text: &'input str,
    types: &'static ElementTypes,
    limits: JsonLimits,
    values: usize,
    positions: Option<&'a mut Positions>,
    /// The FHIRPath of the element being read.
    path: String,
    lines: LineCursor,
}

impl<'input> Reader<'_, 'input> {
    /// Line and column (1-based, the column in bytes as the JSON reader counts it) where
    /// `node` starts.
    fn at(&self, node: Node) -> (usize, usize) {
        position(self.text.as_bytes(), node.range().start)
    }

    fn structure(&self, node: Node, message: String) -> XmlError {
        let (line, column) = self.at(node);
        XmlError::Structure {
            line,
            column,
            expression: self.path.clone(),
            message,
        }
    }

    fn count(&mut self, node: Node, depth: usize) -> Result<(), XmlError> {
        self.values += 1;
        if self.values > self.limits.max_elements {
            return Err(XmlError::TooManyElements {
                limit: self.limits.max_elements,
            });
        }
        if depth > self.limits.max_depth {
            let (line, column) = self.at(node);
            return Err(XmlError::TooDeep {
                limit: self.limits.max_depth,
                line,
                column,
            });
        }
        Ok(())
    }

    fn string(&self, node: Node, text: &str) -> Result<(), XmlError> {
        if let Some(c) = forbidden_control(text) {
            return Err(self.structure(
                node,
                format!(
                    "a value holds the control character U+{:04X}, which FHIR strings must not contain",
                    c as u32
                ),
            ));
        }
        Ok(())
    }

    /// A resource element (`<Patient xmlns="http://hl7.org/fhir">`), at the current path.
    fn resource(&mut self, node: Node<'_, 'input>, depth: usize) -> Result<Value, XmlError> {
        let name = node.tag_name().name();
        if self.path.is_empty() {
            self.path.push_str(name);
            self.record(node);
        }
        self.count(node, depth)?;
        if node.tag_name().namespace() != Some(FHIR_NS) {
            return Err(self.structure(
                node,
                format!("the element '{name}' is not in the FHIR namespace ({FHIR_NS})"),
            ));
        }
        if !self.types.is_resource(name) {
            return Err(self.structure(node, format!("'{name}' is not a FHIR resource type")));
        }
        let mut object = Map::new();
        object.insert("resourceType".into(), Value::String(name.to_string()));
        self.members(node, name, &mut object, depth)?;
        Ok(Value::Object(object))
    }

    /// The attributes and child elements of `node`, whose type's children are at `def_path`.
    fn members(
        &mut self,
        node: Node<'_, 'input>,
        def_path: &str,
        object: &mut Map<String, Value>,
        depth: usize,
    ) -> Result<(), XmlError> {
        self.attributes(node, def_path, object)?;
        self.child_elements(node, def_path, object, depth)
    }

    /// `id` and `url` (on an Extension): the attributes a complex element may carry.
    fn attributes(
        &self,
        node: Node<'_, 'input>,
        def_path: &str,
        object: &mut Map<String, Value>,
    ) -> Result<(), XmlError> {
        for attribute in node.attributes() {
            // xmlns declarations are not attributes here; others' (xsi:schemaLocation) are not ours
            if attribute.namespace().is_some() {
                continue;
            }
            let name = attribute.name();
            match self.types.child(def_path, name) {
                Some((child, _)) if child.attribute => {
                    self.string(node, attribute.value())?;
                    object.insert(name.to_string(), Value::String(attribute.value().into()));
                }
                _ => {
                    return Err(self.structure(
                        node,
                        format!(
                            "the attribute '{name}' is not allowed on '{}'",
                            node.tag_name().name()
                        ),
                    ))
                }
            }
        }
        Ok(())
    }

    fn child_elements(
        &mut self,
        node: Node<'_, 'input>,
        def_path: &str,
        object: &mut Map<String, Value>,
        depth: usize,
    ) -> Result<(), XmlError> {
        // repeating primitives: their values and `_name` entries, aligned, built at the end
        let mut primitive_lists: Vec<String> = Vec::new();
        for child in node.children() {
            match child.node_type() {
                NodeType::Element => {}
                NodeType::Text if child.text().is_some_and(|t| !t.trim().is_empty()) => {
                    return Err(self.structure(
                        child,
                        format!(
                            "text is not allowed inside '{}'; FHIR XML puts values in `value` attributes",
                            node.tag_name().name()
                        ),
                    ));
                }
                _ => continue,
            }
            let name = child.tag_name().name();
            let base = self.path.len();
            let types = self.types;
            match types.child(def_path, name) {
                Some((def, type_code)) if !def.attribute => {
                    self.element(
                        child,
                        def,
                        type_code,
                        object,
                        depth + 1,
                        &mut primitive_lists,
                    )?;
                }
                Some(_) => {
                    self.path.push('.');
                    self.path.push_str(name);
                    return Err(self.structure(
                        child,
                        format!("'{name}' is an attribute in FHIR XML, not an element"),
                    ));
                }
                None => self.unknown(child, object, depth + 1)?,
            }
            self.path.truncate(base);
        }
        for name in primitive_lists {
            tidy_primitive_list(object, &name);
        }
        Ok(())
    }

    /// Appends `.name` (and `[i]` when it repeats) to the path, and records the position.
    fn enter(&mut self, node: Node, name: &str, index: Option<usize>) {
        self.path.push('.');
        self.path.push_str(name);
        if let Some(i) = index {
            use std::fmt::Write;
            let _ = write!(self.path, "[{i}]");
        }
        self.record(node);
    }

    /// Records where `node` starts under the current path, when positions are asked for.
    /// Elements come in document order, so lines are counted on from the previous one.
    fn record(&mut self, node: Node) {
        let Some(positions) = self.positions.as_deref_mut() else {
            return;
        };
        let offset = node.range().start;
        let lines = &mut self.lines;
        if offset < lines.offset {
            *lines = LineCursor::default();
        }
        let bytes = &self.text.as_bytes()[lines.offset..offset];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                lines.line += 1;
                lines.line_start = lines.offset + i + 1;
            }
        }
        lines.offset = offset;
        positions.insert(
            self.path.clone(),
            (lines.line, offset - lines.line_start + 1),
        );
    }

    fn element(
        &mut self,
        node: Node<'_, 'input>,
        def: &Child,
        type_code: &str,
        object: &mut Map<String, Value>,
        depth: usize,
        primitive_lists: &mut Vec<String>,
    ) -> Result<(), XmlError> {
        let name = node.tag_name().name();
        if node.tag_name().namespace() != Some(FHIR_NS)
            && self.types.shape(type_code) != Shape::Xhtml
        {
            self.path.push('.');
            self.path.push_str(name);
            return Err(self.structure(
                node,
                format!("the element '{name}' is not in the FHIR namespace ({FHIR_NS})"),
            ));
        }
        let index = if def.repeats {
            Some(
                object
                    .get(name)
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len),
            )
        } else {
            None
        };
        let taken = object.contains_key(name) || object.contains_key(&format!("_{name}"));
        self.enter(node, name, index);
        self.count(node, depth)?;
        if !def.repeats && taken {
            return Err(self.structure(
                node,
                format!("'{name}' appears more than once, but it may occur at most once"),
            ));
        }
        match self.types.shape(type_code) {
            Shape::Primitive(kind) => {
                let (value, extra) = self.primitive(node, kind, depth)?;
                if def.repeats {
                    push(object, name, value.unwrap_or(Value::Null));
                    push(object, &format!("_{name}"), extra.unwrap_or(Value::Null));
                    if !primitive_lists.iter().any(|n| n == name) {
                        primitive_lists.push(name.to_string());
                    }
                } else {
                    if let Some(value) = value {
                        object.insert(name.to_string(), value);
                    }
                    if let Some(extra) = extra {
                        object.insert(format!("_{name}"), extra);
                    }
                }
                return Ok(());
            }
            Shape::Xhtml => {
                let xhtml = self.xhtml(node)?;
                insert(object, name, Value::String(xhtml), def.repeats);
            }
            Shape::Resource => {
                let mut inner = node
                    .children()
                    .filter(|c| c.is_element() || c.text().is_some_and(|t| !t.trim().is_empty()));
                let (Some(resource), None) = (inner.next(), inner.next()) else {
                    return Err(self.structure(
                        node,
                        format!("'{name}' must hold exactly one resource element"),
                    ));
                };
                if !resource.is_element() {
                    return Err(self.structure(
                        resource,
                        format!("'{name}' must hold a resource element, not text"),
                    ));
                }
                let value = self.resource(resource, depth + 1)?;
                insert(object, name, value, def.repeats);
            }
            Shape::Complex => {
                let path = self.types.children_path(def, type_code).to_string();
                let mut inner = Map::new();
                self.members(node, &path, &mut inner, depth)?;
                insert(object, name, Value::Object(inner), def.repeats);
            }
        }
        Ok(())
    }

    /// A primitive's value (from its `value` attribute) and its `_name` object (`id`,
    /// `extension`), either possibly absent.
    fn primitive(
        &mut self,
        node: Node<'_, 'input>,
        kind: JsonKind,
        depth: usize,
    ) -> Result<(Option<Value>, Option<Value>), XmlError> {
        let mut value = None;
        let mut extra = Map::new();
        for attribute in node.attributes() {
            if attribute.namespace().is_some() {
                continue;
            }
            let text = attribute.value();
            self.string(node, text)?;
            match attribute.name() {
                "value" => value = Some(typed(text, kind)),
                "id" => {
                    extra.insert("id".into(), Value::String(text.to_string()));
                }
                other => {
                    return Err(self.structure(
                        node,
                        format!(
                            "the attribute '{other}' is not allowed on the primitive '{}'",
                            node.tag_name().name()
                        ),
                    ))
                }
            }
        }
        self.child_elements(node, "Element", &mut extra, depth)?;
        if let Some(id) = extra.shift_remove("id") {
            // `id` first, as the JSON form writes it
            let mut ordered = Map::new();
            ordered.insert("id".into(), id);
            ordered.extend(extra);
            extra = ordered;
        }
        Ok((value, (!extra.is_empty()).then_some(Value::Object(extra))))
    }

    /// A Narrative `div`, as the XHTML text it was written in.
    fn xhtml(&self, node: Node<'_, 'input>) -> Result<String, XmlError> {
        if node.tag_name().namespace() != Some(XHTML_NS) || node.tag_name().name() != "div" {
            return Err(self.structure(
                node,
                format!("the narrative must be an XHTML div (namespace {XHTML_NS})"),
            ));
        }
        let raw = &self.text[node.range()];
        let start_tag = raw.split('>').next().unwrap_or_default();
        let text = if raw.starts_with("<div") && start_tag.contains("xmlns=") {
            raw.to_string()
        } else {
            // the namespace is declared further up, or with a prefix: written out afresh
            let mut out = String::new();
            super::writer::xhtml_subtree(node, &mut out);
            out
        };
        self.string(node, &text)?;
        Ok(text)
    }

    /// An element the definitions do not know: kept (a `value` attribute as a string,
    /// children as an object) so that the validator reports it by name and place.
    fn unknown(
        &mut self,
        node: Node<'_, 'input>,
        object: &mut Map<String, Value>,
        depth: usize,
    ) -> Result<(), XmlError> {
        let name = node.tag_name().name();
        let base = self.path.len();
        self.enter(node, name, None);
        self.count(node, depth)?;
        let value = match node.attribute("value") {
            Some(text) if !node.children().any(|c| c.is_element()) => {
                self.string(node, text)?;
                Value::String(text.to_string())
            }
            _ => {
                let mut inner = Map::new();
                for child in node.children().filter(|c| c.is_element()) {
                    self.unknown(child, &mut inner, depth + 1)?;
                }
                Value::Object(inner)
            }
        };
        self.path.truncate(base);
        match object.get_mut(name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            None => {
                object.insert(name.to_string(), value);
            }
        }
        Ok(())
    }
}

/// The JSON value of a primitive's text: numbers and booleans as JSON numbers and booleans
/// (a decimal exactly as written); text that is not one stays a string, for the validator
/// to report.
fn typed(text: &str, kind: JsonKind) -> Value {
    match kind {
        JsonKind::String => Value::String(text.to_string()),
        JsonKind::Boolean => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(text.to_string()),
        },
        JsonKind::Integer => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.to_string())),
        JsonKind::Decimal => {
            let json_number = !text.starts_with(['+', '.'])
                && !text.ends_with('.')
                && !text.contains(char::is_whitespace);
            match text.parse::<serde_json::Number>() {
                Ok(n) if json_number => Value::Number(n),
                _ => Value::String(text.to_string()),
            }
        }
    }
}

fn insert(object: &mut Map<String, Value>, name: &str, value: Value, repeats: bool) {
    if repeats {
        push(object, name, value);
    } else {
        object.insert(name.to_string(), value);
    }
}

fn push(object: &mut Map<String, Value>, name: &str, value: Value) {
    match object
        .entry(name.to_string())
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        Value::Array(items) => items.push(value),
        other => *other = Value::Array(vec![value]),
    }
}

/// A repeating primitive's `name` and `_name` lists, each dropped when it holds only nulls.
fn tidy_primitive_list(object: &mut Map<String, Value>, name: &str) {
    for key in [name.to_string(), format!("_{name}")] {
        let all_null = object
            .get(&key)
            .and_then(Value::as_array)
            .is_some_and(|items| items.iter().all(Value::is_null));
        if all_null {
            object.shift_remove(&key);
        }
    }
}
