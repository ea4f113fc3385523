//! Parsing newtypes for every id that ends up in a storage key or a request.
//!
//! An id is `[A-Za-z0-9][A-Za-z0-9._-]{0,63}` without `..`; once parsed it can be
//! used to build a storage key without any further escaping.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Why a string is not a valid id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} is empty")]
    Empty { kind: &'static str },
    #[error("{kind} is longer than 64 characters")]
    TooLong { kind: &'static str },
    #[error("{kind} {value:?} must start with a letter or digit")]
    BadStart { kind: &'static str, value: String },
    #[error("{kind} {value:?} may only contain letters, digits, '.', '_' and '-'")]
    BadCharacter { kind: &'static str, value: String },
    #[error("{kind} {value:?} must not contain '..'")]
    DotDot { kind: &'static str, value: String },
}

pub(crate) const MAX_ID_LEN: usize = 64;

/// Checks the id grammar shared by every newtype below.
pub fn check_id(kind: &'static str, value: &str) -> Result<(), IdError> {
    let shown = || value.chars().take(80).collect::<String>();
    let first = value.chars().next().ok_or(IdError::Empty { kind })?;
    if value.len() > MAX_ID_LEN {
        return Err(IdError::TooLong { kind });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(IdError::BadStart {
            kind,
            value: shown(),
        });
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(IdError::BadCharacter {
            kind,
            value: shown(),
        });
    }
    if value.contains("..") {
        return Err(IdError::DotDot {
            kind,
            value: shown(),
        });
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Human name of this kind of id, used in error messages.
            pub const KIND: &'static str = $kind;

            pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
                let value = value.into();
                check_id($kind, &value)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                Self::parse(raw).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    /// A student's id as written in the roster (`student01`).
    StudentId, "studentId"
);
id_type!(
    /// A subject's folder name (`operating-systems`).
    SubjectName, "subjectName"
);
id_type!(
    /// A test's folder name inside a subject (`test01`).
    TestId, "testId"
);
id_type!(
    /// A question's id inside a test (`1`).
    QuestionId, "questionId"
);

/// An answer's id inside a question. Stored lower-case: students may type `A` for `a`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AnswerId(String);

impl AnswerId {
    pub const KIND: &'static str = "answer";

    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        check_id(Self::KIND, &value)?;
        Ok(Self(value.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AnswerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AnswerId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Self::parse(s)
    }
}

impl<'de> Deserialize<'de> for AnswerId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::parse(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_are_accepted() {
        for ok in [
            "student01",
            "operating-systems",
            "test_01",
            "a",
            "1.2",
            "A-b.c_d",
        ] {
            assert!(StudentId::parse(ok).is_ok(), "{ok}");
        }
        assert!(StudentId::parse("x".repeat(64)).is_ok());
    }

    #[test]
    fn ids_that_could_escape_a_storage_key_are_rejected() {
        for bad in [
            "",
            "../etc",
            "a/b",
            "a..b",
            ".hidden",
            "-x",
            "_system",
            "a b",
            " a",
            "a\0b",
            "a%2Fb",
            "ą",
            "stud\u{0435}nt",
            "a\\b",
            "a\n",
        ] {
            assert!(StudentId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(
            StudentId::parse("x".repeat(65)),
            Err(IdError::TooLong { kind: "studentId" })
        );
    }

    #[test]
    fn answer_ids_are_stored_lower_case() {
        assert_eq!(AnswerId::parse("B").unwrap().as_str(), "b");
    }

    #[test]
    fn ids_deserialize_through_the_parser() {
        let err = serde_json::from_str::<TestId>("\"../x\"").unwrap_err();
        assert!(err.to_string().contains("testId"));
        let ok: TestId = serde_json::from_str("\"test01\"").unwrap();
        assert_eq!(ok.as_str(), "test01");
    }
}
