//! Embeds every `data/*.json` file (curated IAM facts); a file that is not
//! JSON fails the build.

fn main() {
    gensec_data::embed_json_dir("data", "data_files.rs");
}
