//! Where every object lives in the bucket (or the local data dir).
//!
//! Course content keeps the original layout; everything the system itself keeps
//! lives under `_system/`, a prefix no subject id can take (ids start with a
//! letter or digit).

use crate::ids::{check_id, StudentId, SubjectName, TestId};
use crate::keys::KeyHash;
use chrono::{DateTime, Utc};
use std::fmt;

/// A storage key made only of id-like segments joined by `/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey(String);

#[derive(Debug, thiserror::Error)]
#[error("invalid storage key {0:?}")]
pub struct BadKey(pub String);

impl ObjectKey {
    /// Parses a key read back from a store listing. System segments may start with `_`.
    pub fn parse(raw: &str) -> Result<Self, BadKey> {
        let ok = !raw.is_empty()
            && raw.split('/').all(|seg| {
                let body = seg.strip_prefix('_').unwrap_or(seg);
                check_id("key segment", body).is_ok()
            });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BadKey(raw.to_owned()))
        }
    }

    fn join(parts: &[&str]) -> Self {
        Self(parts.join("/"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const ROSTER: &str = "studentsList.json";
pub const QUESTIONS: &str = "questions.json";
pub const ANSWER_KEY: &str = "questionsKey.json";
pub const SUBMISSION: &str = "testResult.json";
pub const RESULTS: &str = "results.json";
pub const SYSTEM_PREFIX: &str = "_system/";

pub fn roster() -> ObjectKey {
    ObjectKey::join(&[ROSTER])
}

pub fn catalog() -> ObjectKey {
    ObjectKey::join(&["_system", "catalog.json"])
}

/// The registry of keys before one object per key (read only to migrate it).
pub fn legacy_key_registry() -> ObjectKey {
    ObjectKey::join(&["_system", "keys.json"])
}

/// Prefix of the live keys, one object each, named by the key's SHA-256.
pub const KEYS_PREFIX: &str = "_system/keys/";

/// One live key, named by its hash (64 hex digits, a valid segment): the API finds
/// a caller with one small GET, and a key stops working the moment it is removed.
pub fn key_record(sha256: &KeyHash) -> ObjectKey {
    ObjectKey::join(&["_system", "keys", sha256.as_str()])
}

/// Prefix of the per-student keyrings.
pub const KEYRING_PREFIX: &str = "_system/keyring/";

/// Which key a student holds and which old ones are still to be removed; changed
/// only by compare-and-swap, so concurrent `trainer keys` commands cannot lose one
/// another's changes.
pub fn keyring(student: &StudentId) -> ObjectKey {
    // No `.json`: a student id may already take all 64 characters of a segment.
    ObjectKey::join(&["_system", "keyring", student.as_str()])
}

pub fn questions(subject: &SubjectName, test: &TestId) -> ObjectKey {
    ObjectKey::join(&[subject.as_str(), test.as_str(), QUESTIONS])
}

pub fn answer_key(subject: &SubjectName, test: &TestId) -> ObjectKey {
    ObjectKey::join(&[subject.as_str(), test.as_str(), ANSWER_KEY])
}

/// Prefix of everything stored for one test (questions, key and submissions).
pub fn test_prefix(subject: &SubjectName, test: &TestId) -> String {
    format!("{subject}/{test}/")
}

pub fn submission(subject: &SubjectName, test: &TestId, student: &StudentId) -> ObjectKey {
    ObjectKey::join(&[
        subject.as_str(),
        test.as_str(),
        student.as_str(),
        SUBMISSION,
    ])
}

/// Prefix of the results objects, one per closed test.
pub const RESULTS_PREFIX: &str = "_system/results/";

/// Every result of one closed test and who was emailed it (see `scoring::results`).
pub fn results(subject: &SubjectName, test: &TestId) -> ObjectKey {
    ObjectKey::join(&[
        "_system",
        "results",
        subject.as_str(),
        test.as_str(),
        RESULTS,
    ])
}

/// `_system/results/<subject>/<test>/results.json` back into its ids.
pub fn parse_results(key: &str) -> Option<(SubjectName, TestId)> {
    let rest = key.strip_prefix(RESULTS_PREFIX)?;
    let (ids, file) = rest.rsplit_once('/')?;
    let (s, t) = ids.split_once('/')?;
    (file == RESULTS).then_some(())?;
    Some((SubjectName::parse(s).ok()?, TestId::parse(t).ok()?))
}

/// Prefix of the scorer's journal: what a pass emailed, until it is folded into the
/// results objects.
pub const JOURNAL_PREFIX: &str = "_system/journal/";

/// The name of one scoring pass in its journal keys: time first, so waves list in
/// order, then a random part, so two passes in the same millisecond differ.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PassStamp(String);

impl PassStamp {
    /// A stamp for a pass started at `at` (always a valid key segment).
    pub fn new(at: DateTime<Utc>, nonce: [u8; 4]) -> Self {
        // chrono writes a sign before years outside 0..=9999, which no segment may hold.
        let first = DateTime::<Utc>::from_timestamp(-62_167_219_200, 0).unwrap_or_default();
        let last = DateTime::<Utc>::from_timestamp(253_402_300_799, 0).unwrap_or_default();
        let at = at.clamp(first, last);
        Self(format!(
            "{}-{}",
            at.format("%Y%m%dT%H%M%S%3fZ"),
            hex::encode(nonce)
        ))
    }

    /// Parses a stamp read back from a key (or written by hand in a test).
    pub fn parse(raw: &str) -> Result<Self, BadKey> {
        match check_id("pass stamp", raw) {
            Ok(()) => Ok(Self(raw.to_owned())),
            Err(_) => Err(BadKey(raw.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Wave `wave` of the journal of pass `pass`.
pub fn journal_wave(pass: &PassStamp, wave: u32) -> ObjectKey {
    ObjectKey::join(&["_system", "journal", pass.as_str(), &format!("w{wave:06}")])
}

/// Prefix of the rescore requests, one per test.
pub const RESCORE_PREFIX: &str = "_system/rescore/";

/// Written by `trainer sync --rescore`: grade the test again and tell the students
/// whose result changed (see `scoring::ledger`).
pub fn rescore_marker(subject: &SubjectName, test: &TestId) -> ObjectKey {
    ObjectKey::join(&["_system", "rescore", subject.as_str(), test.as_str()])
}

/// `_system/rescore/<subject>/<test>` back into its ids.
pub fn parse_rescore_marker(key: &str) -> Option<(SubjectName, TestId)> {
    let (s, t) = key.strip_prefix(RESCORE_PREFIX)?.split_once('/')?;
    Some((SubjectName::parse(s).ok()?, TestId::parse(t).ok()?))
}

/// Prefix of the scorer's run leases, numbered objects created once each.
pub const LEASE_PREFIX: &str = "_system/scorer/lease/";

/// Lease number `n` (zero-padded, so leases list in order).
pub fn lease(n: u64) -> ObjectKey {
    ObjectKey::join(&["_system", "scorer", "lease", &format!("{n:012}")])
}

/// The number of a lease key.
pub fn parse_lease(key: &str) -> Option<u64> {
    key.strip_prefix(LEASE_PREFIX)?.parse().ok()
}

/// What a per-student key under a test prefix refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StudentObject {
    pub subject: SubjectName,
    pub test: TestId,
    pub student: StudentId,
    pub file: String,
}

/// Splits `<subject>/<test>/<student>/<file>` back into its parts.
pub fn parse_student_object(key: &str) -> Option<StudentObject> {
    let mut it = key.split('/');
    let (s, t, st, f) = (it.next()?, it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    Some(StudentObject {
        subject: SubjectName::parse(s).ok()?,
        test: TestId::parse(t).ok()?,
        student: StudentId::parse(st).ok()?,
        file: f.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_the_original_layout() {
        let s = SubjectName::parse("operating-systems").unwrap();
        let t = TestId::parse("test01").unwrap();
        let st = StudentId::parse("student01").unwrap();
        assert_eq!(
            questions(&s, &t).as_str(),
            "operating-systems/test01/questions.json"
        );
        assert_eq!(
            submission(&s, &t, &st).as_str(),
            "operating-systems/test01/student01/testResult.json"
        );
        let back = parse_student_object(submission(&s, &t, &st).as_str()).unwrap();
        assert_eq!(back.student, st);
        assert_eq!(back.file, SUBMISSION);
    }

    #[test]
    fn the_system_keys_parse_back_into_their_ids() {
        let s = SubjectName::parse("operating-systems").unwrap();
        let t = TestId::parse("test01").unwrap();
        let results = results(&s, &t);
        assert_eq!(
            results.as_str(),
            "_system/results/operating-systems/test01/results.json"
        );
        assert_eq!(
            parse_results(results.as_str()),
            Some((s.clone(), t.clone()))
        );
        assert_eq!(parse_results("_system/results/os/t1/other.json"), None);
        let marker = rescore_marker(&s, &t);
        assert_eq!(marker.as_str(), "_system/rescore/operating-systems/test01");
        assert_eq!(parse_rescore_marker(marker.as_str()), Some((s, t)));
        assert_eq!(lease(7).as_str(), "_system/scorer/lease/000000000007");
        assert_eq!(parse_lease(lease(7).as_str()), Some(7));
        let pass = PassStamp::parse("p1").unwrap();
        assert_eq!(
            journal_wave(&pass, 1).as_str(),
            "_system/journal/p1/w000001"
        );
        assert!(PassStamp::parse("p/1").is_err());
    }

    #[test]
    fn every_built_key_parses_back_as_a_key() {
        let s = SubjectName::parse("s".repeat(64)).unwrap();
        let t = TestId::parse("t".repeat(64)).unwrap();
        let at = DateTime::<Utc>::MAX_UTC;
        let built = [
            results(&s, &t),
            rescore_marker(&s, &t),
            lease(u64::MAX),
            journal_wave(&PassStamp::new(at, [0xff; 4]), u32::MAX),
            journal_wave(&PassStamp::new(DateTime::<Utc>::UNIX_EPOCH, [0; 4]), 0),
        ];
        for key in built {
            assert_eq!(
                ObjectKey::parse(key.as_str()).ok(),
                Some(key.clone()),
                "{key}"
            );
        }
    }

    #[test]
    fn parsed_keys_refuse_traversal() {
        assert!(ObjectKey::parse("a/../b").is_err());
        assert!(ObjectKey::parse("/a").is_err());
        assert!(ObjectKey::parse("a//b").is_err());
        assert!(ObjectKey::parse("_system/keys.json").is_ok());
    }
}
