//! Reading the profile and request files, with errors that name the file.
//! A file larger than the input limit is refused before it is read.

use gensec_core::input::text::FILE_MAX;
use gensec_core::input::{SourcedProfile, parse_profile, parse_request, select_sourced_profile};
use gensec_core::{InputError, SecurityProfile, ServiceRequest};
use std::io::Read as _;
use std::path::Path;

fn read(path: &Path) -> Result<String, InputError> {
    let name = path.display().to_string();
    let fail = |message: String| InputError::new(&name, "$", message);
    let file = std::fs::File::open(path).map_err(|err| fail(format!("cannot read file: {err}")))?;
    let limit = u64::try_from(FILE_MAX).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    // One byte more than the limit tells a file at the limit from a larger one.
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| fail(format!("cannot read file: {err}")))?;
    if bytes.len() > FILE_MAX {
        return Err(fail(format!(
            "the file is larger than {FILE_MAX} bytes (1 MiB), the limit for an input document"
        )));
    }
    String::from_utf8(bytes).map_err(|err| {
        fail(format!(
            "the file is not UTF-8 text (invalid byte at offset {})",
            err.utf8_error().valid_up_to()
        ))
    })
}

/// A profile file, or a directory of profiles from which `wanted` (or the only
/// one) is taken; two files with one profile id are an error naming both.
pub fn load_profile(path: &Path, wanted: Option<&str>) -> Result<SecurityProfile, InputError> {
    if !path.is_dir() {
        let profile = parse_profile(&path.display().to_string(), &read(path)?)?;
        if let Some(wanted) = wanted.filter(|wanted| *wanted != profile.profile_id) {
            return Err(InputError::new(
                path.display().to_string(),
                "$.profile_id",
                format!(
                    "the request names profile {wanted:?} but this profile is {:?}",
                    profile.profile_id
                ),
            ));
        }
        return Ok(profile);
    }
    let mut files: Vec<_> = std::fs::read_dir(path)
        .map_err(|err| {
            InputError::new(
                path.display().to_string(),
                "$",
                format!("cannot read directory: {err}"),
            )
        })?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|file| file.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut profiles = Vec::new();
    for file in &files {
        let source = file.display().to_string();
        let profile = parse_profile(&source, &read(file)?)?;
        profiles.push(SourcedProfile { source, profile });
    }
    select_sourced_profile(&path.display().to_string(), profiles, wanted)
}

/// The example profile compiled into the binary: used when `gensec run` is
/// given no `--profile`, and written by `gensec init` for users to edit.
pub const EMBEDDED_PROFILE: &str =
    include_str!("../../../config-example/security-profile/example-corp.json");
/// The example request `gensec init` writes.
pub const EXAMPLE_REQUEST: &str = include_str!("../../../config-example/service-request/s3.json");
/// How the embedded profile is named in messages and summaries.
pub const EMBEDDED_PROFILE_SOURCE: &str = "embedded example profile (example-corp.json)";

/// Where the run's profile came from, for the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileSource {
    /// No `--profile`: the profile compiled into the binary.
    Embedded,
    /// A file or a directory of profiles.
    Path(std::path::PathBuf),
}

impl ProfileSource {
    pub fn describe(&self) -> String {
        match self {
            ProfileSource::Embedded => format!(
                "{EMBEDDED_PROFILE_SOURCE}; `gensec init DIR` writes it for editing, `--profile FILE` uses yours"
            ),
            ProfileSource::Path(path) => path.display().to_string(),
        }
    }
}

/// The profile at `path`, or the embedded one when no path is given; an
/// embedded profile that is not the one a request names is an error.
pub fn load_profile_or_embedded(
    path: Option<&Path>,
    wanted: Option<&str>,
) -> Result<(SecurityProfile, ProfileSource), InputError> {
    if let Some(path) = path {
        return Ok((
            load_profile(path, wanted)?,
            ProfileSource::Path(path.to_path_buf()),
        ));
    }
    let profile = parse_profile(EMBEDDED_PROFILE_SOURCE, EMBEDDED_PROFILE)?;
    if let Some(wanted) = wanted.filter(|wanted| *wanted != profile.profile_id) {
        return Err(InputError::new(
            EMBEDDED_PROFILE_SOURCE,
            "$.profile_id",
            format!(
                "the request names profile {wanted:?} but no --profile was given and the embedded profile is {:?}; pass --profile FILE|DIR",
                profile.profile_id
            ),
        ));
    }
    Ok((profile, ProfileSource::Embedded))
}

pub fn load_request(path: &Path) -> Result<ServiceRequest, InputError> {
    parse_request(&path.display().to_string(), &read(path)?)
}

/// An error about the request's service, located in the request file it came
/// from (`r.json: at $.service_name: unknown service ...`); unchanged for a
/// request made with `--service`.
pub fn in_request_file(err: gensec_core::Error, request_file: Option<&Path>) -> gensec_core::Error {
    match request_file {
        Some(path) => err.located(path.display().to_string(), "$.service_name"),
        None => err,
    }
}
