//! Reading the profile and request files, with errors that name the file.

use gensec_core::input::{parse_profile, parse_request, select_profile};
use gensec_core::{InputError, SecurityProfile, ServiceRequest};
use std::path::Path;

fn read(path: &Path) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|err| {
        InputError::new(
            path.display().to_string(),
            "$",
            format!("cannot read file: {err}"),
        )
    })
}

/// A profile file, or a directory of profiles from which `wanted` (or the only
/// one) is taken.
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
        profiles.push(parse_profile(&file.display().to_string(), &read(file)?)?);
    }
    select_profile(&path.display().to_string(), profiles, wanted)
}

pub fn load_request(path: &Path) -> Result<ServiceRequest, InputError> {
    parse_request(&path.display().to_string(), &read(path)?)
}
