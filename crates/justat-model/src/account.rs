//! Account names and the password policy.

use serde::Serialize;
use std::fmt;

/// A login name: 2 to 64 characters among lowercase ASCII letters, digits, `.`, `_`, `-`.
///
/// Kept this narrow so that names are unambiguous in logs, the audit log and on the command
/// line (no look-alike Unicode, no case variants of one name).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Username(String);

/// Why a login name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameProblem {
    /// Fewer than 2 or more than 64 characters.
    #[error("a user name has 2 to 64 characters; `{found}` has {len}")]
    Length {
        /// What was given.
        found: String,
        /// Its length in characters.
        len: usize,
    },
    /// A character outside `a-z 0-9 . _ -`.
    #[error("a user name uses only a-z, 0-9, '.', '_' and '-'; `{found}` contains `{bad}`")]
    Character {
        /// What was given.
        found: String,
        /// The first character not allowed.
        bad: char,
    },
}

impl Username {
    /// Validates a login name.
    pub fn parse(name: &str) -> Result<Username, UsernameProblem> {
        let len = name.chars().count();
        if !(2..=64).contains(&len) {
            return Err(UsernameProblem::Length {
                found: name.to_string(),
                len,
            });
        }
        if let Some(bad) = name.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        }) {
            return Err(UsernameProblem::Character {
                found: name.to_string(),
                bad,
            });
        }
        Ok(Username(name.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a new password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    /// Shorter than [`MIN_PASSWORD_CHARS`].
    #[error("a password has at least {min} characters; this one has {len}")]
    TooShort {
        /// Its length in characters.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// Longer than [`MAX_PASSWORD_CHARS`] (hashing very long inputs is a denial-of-service vector).
    #[error("a password has at most {max} characters; this one has {len}")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// Contains the user name.
    #[error("a password must not contain the user name")]
    ContainsUsername,
}

/// The shortest password accepted (ANSSI recommends long passphrases over complexity rules).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Checks a new password against the policy.
pub fn validate_new_password(username: &Username, password: &str) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_CHARS {
        return Err(PasswordProblem::TooShort {
            len,
            min: MIN_PASSWORD_CHARS,
        });
    }
    if len > MAX_PASSWORD_CHARS {
        return Err(PasswordProblem::TooLong {
            len,
            max: MAX_PASSWORD_CHARS,
        });
    }
    if password.to_lowercase() == username.as_str() {
        return Err(PasswordProblem::ContainsUsername);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        assert!(Username::parse("marie.dupont").is_ok());
        assert!(Username::parse("a").is_err());
        assert!(matches!(
            Username::parse("Marie"),
            Err(UsernameProblem::Character { bad: 'M', .. })
        ));
        assert!(Username::parse("é-lise").is_err());
        assert!(Username::parse(&"x".repeat(65)).is_err());
        assert!(Username::parse(&"x".repeat(64)).is_ok());
    }

    #[test]
    fn password_policy_boundaries() {
        let u = Username::parse("marie").unwrap();
        assert_eq!(
            validate_new_password(&u, "12345678901"),
            Err(PasswordProblem::TooShort { len: 11, min: 12 })
        );
        assert!(validate_new_password(&u, "123456789012").is_ok());
        assert!(validate_new_password(&u, &"x".repeat(257)).is_err());
        let long = Username::parse("marie-dupont-12").unwrap();
        assert_eq!(
            validate_new_password(&long, "MARIE-DUPONT-12"),
            Err(PasswordProblem::ContainsUsername)
        );
    }
}
