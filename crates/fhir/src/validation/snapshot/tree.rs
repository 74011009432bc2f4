//! A snapshot as a tree: each element with its children (in base order) and its slices (in
//! base order, then as the differential adds them). Ids and paths are derived on output, so
//! elements taken from a data type's definition need no renaming.

use super::path::{self, Segment};
use serde_json::{Map, Value};

#[derive(Debug, Clone)]
pub struct Element {
    /// The last path segment (`component`, `value[x]`).
    pub name: String,
    /// For a slice, its name (re-slices include their parents': `a/b`).
    pub slice_name: Option<String>,
    /// The element definition, without `id`, `path` and `sliceName`.
    pub def: Map<String, Value>,
    /// The definition as the base had it, kept when the differential first changes it: new
    /// slices start from the base, not from the constrained slicing element.
    pub original: Option<Map<String, Value>>,
    pub children: Vec<Element>,
    pub slices: Vec<Element>,
    /// The children were taken from the element's type (a step into a data type or a type
    /// profile) during this generation.
    pub dived: bool,
    /// Added by this differential (a new slice).
    pub added: bool,
    /// The type slicing this generation added for a type-renamed path (`valueQuantity`).
    pub implicit_type_slicing: bool,
}

/// The snapshot elements do not form a tree in order (a child before its parent).
#[derive(Debug)]
pub struct Misplaced(pub String);

impl Element {
    fn new(name: String, slice_name: Option<String>, source: &Value) -> Self {
        let mut def = source.as_object().cloned().unwrap_or_default();
        def.remove("id");
        def.remove("path");
        def.remove("sliceName");
        Self {
            name,
            slice_name,
            def,
            original: None,
            children: Vec::new(),
            slices: Vec::new(),
            dived: false,
            added: false,
            implicit_type_slicing: false,
        }
    }

    /// The tree of a snapshot's elements; the root is the first element.
    pub fn from_snapshot(elements: &[Value]) -> Result<Self, Misplaced> {
        let Some(first) = elements.first() else {
            return Err(Misplaced("an empty snapshot".into()));
        };
        let root_name = path::segments(first)
            .and_then(|s| s.into_iter().next())
            .map(|s| s.name)
            .unwrap_or_default();
        let mut root = Element::new(root_name, None, first);
        for element in &elements[1..] {
            let id = path::element_id(element).unwrap_or_default();
            let segs = path::split(&id);
            if segs.len() < 2 {
                return Err(Misplaced(id));
            }
            root.insert(&segs[1..], element)
                .ok_or_else(|| Misplaced(id.clone()))?;
        }
        Ok(root)
    }

    fn insert(&mut self, segs: &[Segment], source: &Value) -> Option<()> {
        let (seg, rest) = segs.split_first()?;
        if rest.is_empty() {
            match &seg.slice {
                None => {
                    self.children
                        .push(Element::new(seg.name.clone(), None, source));
                }
                Some(slice) => {
                    let slicer = self.child_mut(&seg.name)?;
                    let owner = slicer.slice_owner(slice)?;
                    owner
                        .slices
                        .push(Element::new(seg.name.clone(), Some(slice.clone()), source));
                }
            }
            return Some(());
        }
        let child = self.child_mut(&seg.name)?;
        let target = match &seg.slice {
            None => child,
            Some(slice) => child.slice_mut(slice)?,
        };
        target.insert(rest, source)
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut Element> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// The element a slice named `slice` belongs to: the slicing element itself, or for a
    /// re-slice `a/b`, slice `a`.
    pub fn slice_owner(&mut self, slice: &str) -> Option<&mut Element> {
        match slice.rsplit_once('/') {
            None => Some(self),
            Some((parent, _)) => self.slice_mut(parent),
        }
    }

    /// Slice `slice` of this slicing element (`a/b` is looked up under slice `a`).
    pub fn slice_mut(&mut self, slice: &str) -> Option<&mut Element> {
        let owner = self.slice_owner(slice)?;
        owner
            .slices
            .iter_mut()
            .find(|s| s.slice_name.as_deref() == Some(slice))
    }

    /// Keeps the base definition before the first change.
    pub fn touch(&mut self) {
        if self.original.is_none() {
            self.original = Some(self.def.clone());
        }
    }

    /// A new slice of this element: the element as the base defines it, with its base
    /// children, without slicing.
    pub fn slice_template(&self, slice_name: &str) -> Element {
        let mut template = self.clone();
        template.restore();
        template.slices.clear();
        template.def.remove("slicing");
        template.slice_name = Some(slice_name.to_string());
        template.added = true;
        template
    }

    /// Undoes this generation's changes (in a copy taken as a slice template).
    fn restore(&mut self) {
        if let Some(original) = self.original.take() {
            self.def = original;
        }
        if self.dived {
            self.children.clear();
            self.dived = false;
        }
        self.implicit_type_slicing = false;
        self.slices.retain(|s| !s.added);
        for c in self.children.iter_mut().chain(self.slices.iter_mut()) {
            c.restore();
        }
    }

    /// The snapshot elements, in order: each element, its children, then its slices.
    pub fn emit(&self, root_path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        self.emit_into(root_path, root_path, root_path, &mut out);
        out
    }

    fn emit_into(&self, path: &str, id: &str, unsliced_id: &str, out: &mut Vec<Value>) {
        let mut element = Map::with_capacity(self.def.len() + 3);
        element.insert("id".into(), Value::String(id.to_string()));
        element.insert("path".into(), Value::String(path.to_string()));
        if let Some(slice) = &self.slice_name {
            element.insert("sliceName".into(), Value::String(slice.clone()));
        }
        for (k, v) in &self.def {
            element.insert(k.clone(), v.clone());
        }
        out.push(Value::Object(element));
        for child in &self.children {
            let child_path = format!("{path}.{}", child.name);
            // a lone slice constrained in place keeps its name in the id
            let child_id = match &child.slice_name {
                Some(slice) => format!("{id}.{}:{slice}", child.name),
                None => format!("{id}.{}", child.name),
            };
            child.emit_into(&child_path, &child_id, &child_id, out);
        }
        for slice in &self.slices {
            let name = slice.slice_name.as_deref().unwrap_or_default();
            let slice_id = format!("{unsliced_id}:{name}");
            slice.emit_into(path, &slice_id, unsliced_id, out);
        }
    }
}
