//! Embeds every `controls/*.json` file (the control catalogue); a file that
//! is not JSON fails the build.

fn main() {
    gensec_data::embed_json_dir("controls", "control_files.rs");
}
