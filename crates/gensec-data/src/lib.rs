//! Curated knowledge ships one way: the JSON files of a data directory are
//! embedded in the crate that owns them by its build script
//! ([`embed_json_dir`]), which refuses a file that is not JSON so a broken
//! file fails the build, and they are parsed into their types at load
//! ([`parse`], [`parse_files`]) with an error naming the file and the JSON
//! path — never silently defaulted. Each owner also parses every file in a
//! unit test, so a file that is JSON but not the right shape fails its tests.
//!
//! Build script:
//! ```no_run
//! gensec_data::embed_json_dir("catalogue", "catalogue_files.rs");
//! ```
//! Library: `include!(concat!(env!("OUT_DIR"), "/catalogue_files.rs"));`
//! gives `FILES: &[(&str, &str)]` (file name, text).

use serde::de::DeserializeOwned;
use std::fmt::Write as _;
use std::path::Path;

/// A data file that does not parse into its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: at {path}: {message}")]
pub struct DataError {
    /// The file, relative to its data directory.
    pub file: String,
    /// JSON path of the offending value (`$` for the document).
    pub path: String,
    pub message: String,
}

impl DataError {
    pub fn new(file: &str, path: &str, message: impl Into<String>) -> Self {
        Self {
            file: file.to_string(),
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// Parse one embedded file into `T`.
pub fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, DataError> {
    let deserializer = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|err| {
        let path = err.path().to_string();
        let path = match path.as_str() {
            "." => "$".to_string(),
            indexed if indexed.starts_with('[') => format!("${indexed}"),
            field => format!("$.{field}"),
        };
        DataError::new(file, &path, err.into_inner().to_string())
    })
}

/// Parse the embedded file `name` of a data directory's `FILES` into `T`; a
/// file missing from the directory is an error naming it.
pub fn parse_named<T: DeserializeOwned>(
    files: &[(&str, &str)],
    name: &str,
) -> Result<T, DataError> {
    let text = files
        .iter()
        .find(|(file, _)| *file == name)
        .map(|(_, text)| *text)
        .ok_or_else(|| DataError::new(name, "$", "missing from the embedded data directory"))?;
    parse(name, text)
}

/// Parse every embedded file of a directory, each a JSON array of `T`, into
/// one list of `(file, item)`, in file order.
pub fn parse_files<T: DeserializeOwned>(
    files: &[(&str, &str)],
) -> Result<Vec<(String, T)>, DataError> {
    let mut items = Vec::new();
    for (file, text) in files {
        let parsed: Vec<T> = parse(file, text)?;
        items.extend(parsed.into_iter().map(|item| ((*file).to_string(), item)));
    }
    Ok(items)
}

/// For build scripts: embed every `*.json` file of `dir` (relative to the
/// crate) as `FILES` in `$OUT_DIR/<out_file>`. Panics — failing the build —
/// when the directory is missing or a file is not JSON, naming the file,
/// line and column.
pub fn embed_json_dir(dir: &str, out_file: &str) {
    println!("cargo::rerun-if-changed={dir}");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir).join(dir);
    let mut names: Vec<String> = std::fs::read_dir(&root)
        .unwrap_or_else(|err| panic!("data directory {}: {err}", root.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    let mut code = String::from("/// The embedded data files: (file name, text).\n");
    code.push_str("pub const FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        let path = root.join(name);
        println!("cargo::rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("reading {}: {err}", path.display()));
        if let Err(err) = serde_json::from_str::<serde_json::Value>(&text) {
            panic!("{dir}/{name} is not JSON: {err}");
        }
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/{dir}/{name}\"))),"
        );
    }
    code.push_str("];\n");
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join(out_file);
    std::fs::write(&out, code).unwrap_or_else(|err| panic!("writing {}: {err}", out.display()));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[allow(dead_code)]
        name: String,
        #[allow(dead_code)]
        count: u32,
    }

    #[test]
    fn a_malformed_file_names_the_file_and_the_path() {
        let err = parse_files::<Item>(&[
            ("good.json", r#"[{"name": "a", "count": 1}]"#),
            (
                "bad.json",
                r#"[{"name": "b", "count": 1}, {"name": "c", "count": "x"}]"#,
            ),
        ])
        .unwrap_err();
        assert_eq!(err.file, "bad.json");
        assert_eq!(err.path, "$[1].count");
        assert!(err.message.contains("invalid type"), "{err}");
        let unknown =
            parse::<Vec<Item>>("f.json", r#"[{"name": "a", "count": 1, "extra": 2}]"#).unwrap_err();
        assert!(
            unknown.message.contains("unknown field `extra`"),
            "{unknown}"
        );
        let not_json = parse::<Vec<Item>>("f.json", "[{").unwrap_err();
        assert!(not_json.path.starts_with('$'), "{not_json}");
        assert!(not_json.message.contains("EOF"), "{not_json}");
    }

    #[test]
    fn good_files_keep_their_order_and_names() {
        let items = parse_files::<Item>(&[
            (
                "a.json",
                r#"[{"name": "x", "count": 1}, {"name": "y", "count": 2}]"#,
            ),
            ("b.json", r#"[]"#),
        ])
        .unwrap();
        let files: Vec<&str> = items.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(files, ["a.json", "a.json"]);
    }

    #[test]
    fn a_named_file_is_found_or_named_as_missing() {
        let files = [("a.json", r#"{"name": "x", "count": 1}"#)];
        let item: Item = parse_named(&files, "a.json").unwrap();
        assert_eq!(item.name, "x");
        let missing = parse_named::<Item>(&files, "b.json").unwrap_err();
        assert_eq!(missing.file, "b.json");
        assert!(missing.message.contains("missing"), "{missing}");
    }
}
