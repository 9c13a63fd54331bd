//! Embeds every `catalogue/*.json` file, so adding a file is all it takes.

use std::fmt::Write as _;

fn main() {
    let dir = std::path::Path::new("catalogue");
    println!("cargo::rerun-if-changed=catalogue");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("catalogue directory exists")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    let mut code = String::from("pub const FILES: &[(&str, &str)] = &[\n");
    for name in &names {
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/catalogue/{name}\"))),"
        );
    }
    code.push_str("];\n");
    let out = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("catalogue_files.rs");
    std::fs::write(out, code).expect("write catalogue_files.rs");
}
