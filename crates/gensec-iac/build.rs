//! Embeds every `data/*.json` file (curated IaC facts) and every
//! `terraform-mapping/*.json` file (the curated Terraform mapping); a file
//! that is not JSON fails the build.

fn main() {
    gensec_data::embed_json_dir("data", "data_files.rs");
    gensec_data::embed_json_dir("terraform-mapping", "terraform_mapping_files.rs");
}
