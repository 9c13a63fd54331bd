//! Embeds every `controls/*.json` file (the control catalogue), the reduced
//! AWS API model (`api-models/*.json`), the reduced AWS Terraform provider
//! schema (`terraform-schema/*.json`) and the small curated tables the code
//! reads (`data/*.json`); a file that is not JSON fails the build.

fn main() {
    gensec_data::embed_json_dir("controls", "control_files.rs");
    gensec_data::embed_json_dir("api-models", "api_model_files.rs");
    gensec_data::embed_json_dir("terraform-schema", "terraform_schema_files.rs");
    gensec_data::embed_json_dir("data", "data_files.rs");
}
