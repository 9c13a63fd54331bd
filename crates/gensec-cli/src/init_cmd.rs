//! `gensec init [DIR]`: write the embedded example profile, an example request
//! and a short guide to DIR, for users to edit. Existing files are never
//! overwritten unless `--force` is given.

use crate::inputs::{EMBEDDED_PROFILE, EXAMPLE_REQUEST};
use crate::output::print_text;
use anyhow::Context;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Directory to write to (created if missing).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Replace files that already exist.
    #[arg(long)]
    force: bool,
}

pub const PROFILE_FILE: &str = "security-profile/example-corp.json";
pub const REQUEST_FILE: &str = "service-request/s3.json";
pub const GUIDE_FILE: &str = "GENSEC.md";

const GUIDE: &str = "# Your gensec inputs

`gensec init` wrote these files from the examples compiled into gensec.

- `security-profile/example-corp.json`: your organisation's security profile.
  Set `profile_id` and `organization_name`; the logging, monitoring, secrets,
  access and data-protection settings tailor the recommendations.
  `security_controls.scp_exemptions` names the roles the generated SCPs exempt:
  `break_glass_principal_arns` (emergency roles, exempt from every statement)
  and `deployer_principal_arns` (the role that deploys reviewed templates).
  The example's role names are placeholders: replace them with your own ARN
  patterns (`arn:aws:iam::*:role/NAME`) before using the SCPs.
- `service-request/s3.json`: a request for one service. `service_name` takes a
  name, an id or a CloudFormation namespace (`Amazon S3`, `s3`, `AWS::S3`);
  `profile_id` picks the profile when `--profile` names a directory.

Run:

    gensec run --request service-request/s3.json --profile security-profile
    gensec run --service rds --profile security-profile/example-corp.json

Each run writes `gensec-out/<service>/<request>/`: open `report.html` first (the
decision the package supports and what you still have to supply), or read
`summary.md`. Record your decision with `gensec library decide SERVICE ...`.
";

/// The files `init` writes, relative to DIR.
fn files() -> [(&'static str, &'static str); 3] {
    [
        (PROFILE_FILE, EMBEDDED_PROFILE),
        (REQUEST_FILE, EXAMPLE_REQUEST),
        (GUIDE_FILE, GUIDE),
    ]
}

fn refuse(dir: &Path, existing: &[String]) -> anyhow::Error {
    gensec_core::Error::from(gensec_core::InputError::new(
        dir.display().to_string(),
        "$",
        format!(
            "{} already exist{}; nothing was written (use --force to replace)",
            existing.join(", "),
            if existing.len() == 1 { "s" } else { "" }
        ),
    ))
    .into()
}

pub fn run(args: InitArgs) -> anyhow::Result<()> {
    let existing: Vec<String> = files()
        .iter()
        .map(|(path, _)| args.dir.join(path))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(refuse(&args.dir, &existing));
    }
    let mut text = format!("wrote to {}:\n", args.dir.display());
    for (relative, contents) in files() {
        let path = args.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        let _ = writeln!(text, "  {relative}");
    }
    let _ = write!(
        text,
        "edit the profile, then: gensec run --request {} --profile {}",
        args.dir.join(REQUEST_FILE).display(),
        args.dir.join("security-profile").display()
    );
    print_text(&text)
}
