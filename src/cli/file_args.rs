//! File arguments of the offline commands: a file, a folder (its `*.json` and `*.xml` files,
//! recursively) or a glob in the last path component (`fixtures/referrals/*.json`), for shells
//! that do not expand it or lists too long for the command line.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FileArgError {
    #[error("cannot list {path}: {source}")]
    List {
        path: String,
        source: std::io::Error,
    },
    #[error("no file matches {0}")]
    NoMatch(String),
}

/// Every file the arguments name, in order (each folder's and glob's files sorted).
pub fn expand(args: &[PathBuf]) -> Result<Vec<PathBuf>, FileArgError> {
    let mut files = vec![];
    for arg in args {
        let name = arg
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if arg.is_dir() {
            let before = files.len();
            resource_files_in(arg, &mut files)?;
            files[before..].sort();
        } else if name.contains(['*', '?']) {
            let dir = match arg.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let mut matched: Vec<PathBuf> = list(&dir)?
                .into_iter()
                .filter(|p| {
                    p.is_file()
                        && p.file_name()
                            .is_some_and(|n| glob_match(&name, &n.to_string_lossy()))
                })
                .collect();
            if matched.is_empty() {
                return Err(FileArgError::NoMatch(arg.display().to_string()));
            }
            matched.sort();
            files.extend(matched);
        } else {
            files.push(arg.clone());
        }
    }
    Ok(files)
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, FileArgError> {
    let entries = std::fs::read_dir(dir).map_err(|source| FileArgError::List {
        path: dir.display().to_string(),
        source,
    })?;
    Ok(entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
}

fn resource_files_in(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), FileArgError> {
    for path in list(dir)? {
        if path.is_dir() {
            resource_files_in(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json" || e == "xml") {
            out.push(path);
        }
    }
    Ok(())
}

/// `*` any run of characters, `?` one character, everything else itself.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_names() {
        assert!(glob_match("*.json", "a.json"));
        assert!(glob_match("eligible-*.json", "eligible-copd.json"));
        assert!(!glob_match("eligible-*.json", "fails-copd.json"));
        assert!(glob_match("?.json", "a.json"));
        assert!(!glob_match("?.json", "ab.json"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("*.json", "a.jsonx"));
    }

    #[test]
    fn folders_and_globs_expand_to_sorted_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        for f in ["b.json", "a.json", "notes.txt", "sub/c.json"] {
            std::fs::write(dir.path().join(f), "{}").unwrap();
        }
        let files = expand(&[dir.path().to_path_buf()]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.json", "b.json", "sub/c.json"]);
        let files = expand(&[dir.path().join("?.json")]).unwrap();
        assert_eq!(
            files,
            [dir.path().join("a.json"), dir.path().join("b.json")]
        );
        assert!(matches!(
            expand(&[dir.path().join("*.xml")]),
            Err(FileArgError::NoMatch(_))
        ));
        // a plain file is kept as given, existing or not (validate reports it)
        assert_eq!(
            expand(&[PathBuf::from("missing.json")]).unwrap(),
            [PathBuf::from("missing.json")]
        );
    }
}
