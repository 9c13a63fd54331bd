//! Builds the knowledge-base baseline from unpacked registry packages.
//! Run by `scripts/refresh-kb`; see `gensec_kb::build` for the input layout.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut sources = None;
    let mut curated = None;
    let mut out = None;
    let mut built_at = None;
    while let Some(flag) = args.next() {
        let value = args.next();
        match (flag.as_str(), value) {
            ("--sources", Some(v)) => sources = Some(PathBuf::from(v)),
            ("--curated", Some(v)) => curated = Some(PathBuf::from(v)),
            ("--out", Some(v)) => out = Some(PathBuf::from(v)),
            ("--built-at", Some(v)) => built_at = Some(v),
            _ => {
                eprintln!(
                    "usage: gensec-kb-build --sources DIR --curated DIR --out FILE --built-at YYYY-MM-DD"
                );
                return ExitCode::from(2);
            }
        }
    }
    let (Some(sources), Some(curated), Some(out), Some(built_at)) =
        (sources, curated, out, built_at)
    else {
        eprintln!("gensec-kb-build: --sources, --curated, --out and --built-at are required");
        return ExitCode::from(2);
    };
    match gensec_kb::build::build(&sources, &curated, &built_at) {
        Ok(bytes) => {
            if let Err(err) = std::fs::write(&out, &bytes) {
                eprintln!("gensec-kb-build: writing {}: {err}", out.display());
                return ExitCode::FAILURE;
            }
            eprintln!(
                "gensec-kb-build: wrote {} ({} bytes)",
                out.display(),
                bytes.len()
            );
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("gensec-kb-build: {err}");
            ExitCode::FAILURE
        }
    }
}
