//! Embeds the curated schema-inference categories (`data/*.json`); a file
//! that is not JSON fails the build.

fn main() {
    gensec_data::embed_json_dir("data", "data_files.rs");
}
