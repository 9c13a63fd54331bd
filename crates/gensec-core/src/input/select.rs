//! Which profile applies to a request: the one it names, or the only one.

use super::SecurityProfile;
use crate::InputError;

/// Pick the profile a request applies to from every profile found at
/// `location` (a directory or a bucket prefix): the one named by `wanted`, or
/// the only one when the request names none.
pub fn select_profile(
    location: &str,
    mut profiles: Vec<SecurityProfile>,
    wanted: Option<&str>,
) -> Result<SecurityProfile, InputError> {
    let ids = || {
        profiles
            .iter()
            .map(|p| p.profile_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match wanted {
        Some(wanted) => match profiles.iter().position(|p| p.profile_id == wanted) {
            Some(index) => Ok(profiles.swap_remove(index)),
            None => Err(InputError::new(
                location,
                "$.profile_id",
                if profiles.is_empty() {
                    format!("no profile {wanted:?} here; there are no profiles")
                } else {
                    format!("no profile {wanted:?} here; found {}", ids())
                },
            )),
        },
        None if profiles.len() == 1 => Ok(profiles.remove(0)),
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
                ids()
            ),
        )),
    }
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
}
