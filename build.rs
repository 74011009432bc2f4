//! Embeds the repository's `fixtures/` in the binary for the workbench (issue #23): writes
//! `$OUT_DIR/workbench_fixtures.rs`, a sorted list of `(path under fixtures/, bytes)` of every
//! `*.json` input file (not the `*.expected.json` / `expected-outcomes.json` test expectations).

use std::path::{Path, PathBuf};

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=fixtures");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut entries: Vec<(String, PathBuf)> = files
        .into_iter()
        .filter_map(|p| {
            let name = p.strip_prefix(&root).ok()?.to_str()?.replace('\\', "/");
            let expectation = name.ends_with(".expected.json") || name == "expected-outcomes.json";
            (!expectation).then_some((name, p))
        })
        .collect();
    entries.sort();
    let mut code = String::from("pub static FIXTURES: &[(&str, &[u8])] = &[\n");
    for (name, path) in entries {
        code.push_str(&format!(
            "    ({name:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("workbench_fixtures.rs");
    std::fs::write(out, code).expect("write workbench_fixtures.rs");
}
