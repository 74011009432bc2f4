//! Turning JSON locations into FHIRPath expressions (`Bundle.entry[3].resource.status`).

/// One step of a JSON location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    Field(&'a str),
    Index(usize),
}

pub fn fhirpath<'a>(root: &str, steps: impl IntoIterator<Item = Step<'a>>) -> String {
    let mut out = String::from(root);
    for step in steps {
        match step {
            Step::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_steps() {
        let p = fhirpath(
            "Bundle",
            [
                Step::Field("entry"),
                Step::Index(3),
                Step::Field("resource"),
            ],
        );
        assert_eq!(p, "Bundle.entry[3].resource");
    }
}
