//! Which profile applies to a request: the one it names, or the only one.
//! Two profiles with the same id in one place are an error naming both files,
//! never a silent pick.

use super::SecurityProfile;
use crate::InputError;

/// A parsed profile and where it came from (a file or an object key).
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedProfile {
    pub source: String,
    pub profile: SecurityProfile,
}

/// Pick the profile a request applies to from every profile found at
/// `location` (a directory or a bucket prefix), each with its source: the one
/// named by `wanted`, or the only one when the request names none. Two
/// profiles with one `profile_id` are refused, naming both sources.
pub fn select_sourced_profile(
    location: &str,
    mut profiles: Vec<SourcedProfile>,
    wanted: Option<&str>,
) -> Result<SecurityProfile, InputError> {
    for (index, first) in profiles.iter().enumerate() {
        if let Some(second) = profiles[index + 1..]
            .iter()
            .find(|other| other.profile.profile_id == first.profile.profile_id)
        {
            return Err(InputError::new(
                location,
                "$.profile_id",
                format!(
                    "profile id {:?} is defined twice, in {} and in {}; give each profile its own id",
                    first.profile.profile_id, first.source, second.source
                ),
            ));
        }
    }
    let ids = |profiles: &[SourcedProfile]| {
        profiles
            .iter()
            .map(|p| p.profile.profile_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(wanted) => match profiles.iter().position(|p| p.profile.profile_id == wanted) {
            Some(index) => Ok(profiles.swap_remove(index).profile),
            None => Err(InputError::new(
                location,
                "$.profile_id",
                if profiles.is_empty() {
                    format!("no profile {wanted:?} here; there are no profiles")
                } else {
                    format!("no profile {wanted:?} here; found {}", ids(&profiles))
                },
            )),
        },
        None if profiles.len() == 1 => Ok(profiles.remove(0).profile),
        None if profiles.is_empty() => Err(InputError::new(
            location,
            "$",
            "no security profile found; upload one before the request",
        )),
        None => Err(InputError::new(
            location,
            "$.profile_id",
            format!(
                "{} profiles found ({}); name one with the request's profile_id",
                profiles.len(),
                ids(&profiles)
            ),
        )),
    }
}

/// [`select_sourced_profile`] for profiles whose sources are unknown: they are
/// named by position (`<location> #1`, ...). Prefer the sourced form.
pub fn select_profile(
    location: &str,
    profiles: Vec<SecurityProfile>,
    wanted: Option<&str>,
) -> Result<SecurityProfile, InputError> {
    let sourced = profiles
        .into_iter()
        .enumerate()
        .map(|(index, profile)| SourcedProfile {
            source: format!("{location} #{}", index + 1),
            profile,
        })
        .collect();
    select_sourced_profile(location, sourced, wanted)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn profile(id: &str) -> SecurityProfile {
        let text = include_str!("../../../../config-example/security-profile/example-corp.json");
        let mut profile = crate::input::parse_profile("example", text).unwrap();
        profile.profile_id = id.to_string();
        profile
    }

    #[test]
    fn picks_named_or_only_profile() {
        let both = vec![profile("a"), profile("b")];
        assert_eq!(
            select_profile("dir", both.clone(), Some("b"))
                .unwrap()
                .profile_id,
            "b"
        );
        assert_eq!(
            select_profile("dir", vec![profile("a")], None)
                .unwrap()
                .profile_id,
            "a"
        );
        let ambiguous = select_profile("dir", both.clone(), None).unwrap_err();
        assert!(ambiguous.message.contains("2 profiles found (a, b)"));
        let missing = select_profile("dir", both, Some("c")).unwrap_err();
        assert!(missing.message.contains("no profile \"c\""));
        assert!(select_profile("dir", Vec::new(), None).is_err());
    }

    #[test]
    fn duplicate_profile_ids_name_both_files() {
        let sourced = |source: &str, id: &str| SourcedProfile {
            source: source.into(),
            profile: profile(id),
        };
        let profiles = vec![
            sourced("dir/a.json", "corp"),
            sourced("dir/b.json", "other"),
            sourced("dir/c.json", "corp"),
        ];
        for wanted in [None, Some("corp"), Some("other")] {
            let err = select_sourced_profile("dir", profiles.clone(), wanted).unwrap_err();
            assert_eq!(err.path, "$.profile_id");
            assert!(
                err.message.contains("dir/a.json") && err.message.contains("dir/c.json"),
                "{err}"
            );
        }
    }
}
