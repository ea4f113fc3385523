//! What belongs to one student, for GDPR export and erasure: the objects that are
//! theirs alone, and their entries in the objects shared with other students.
//!
//! A student's own objects are found by key: any object with the student id as a
//! whole path segment (submissions with their receipts, their keyring). The scorer's
//! results objects and journal waves are shared: they are rewritten without the
//! student, never removed. The roster and key records are shared too; they have
//! their own rules (`store_json::update`, `keys::revoke`).

use crate::ids::{StudentId, SubjectName, TestId};
use crate::layout::{self, ObjectKey, JOURNAL_PREFIX, RESULTS_PREFIX};
use crate::model::Question;
use crate::ports::{ObjectStore, StoreError};
use crate::scoring::grading::Score;
use crate::scoring::results::{fill_texts, JournalWave, Notified, TestResults};
use crate::store_json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;

/// Why what is stored about a student could not be separated from the rest.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// A shared object names the student but does not parse, so it cannot be
    /// rewritten without them.
    #[error("{key} names {student} but is not valid ({reason}); fix or remove it by hand")]
    Unreadable {
        key: ObjectKey,
        student: StudentId,
        reason: String,
    },
    #[error("could not encode {0} without the student: {1}")]
    Encode(ObjectKey, serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether an object holds entries of many students (the scorer's results and
/// journal): such an object is rewritten without the student, never removed.
pub fn is_shared(key: &ObjectKey) -> bool {
    [RESULTS_PREFIX, JOURNAL_PREFIX]
        .iter()
        .any(|prefix| key.as_str().starts_with(prefix))
}

/// Whether an object belongs to the student alone.
pub fn is_own(key: &ObjectKey, student: &StudentId) -> bool {
    // A shared object is rewritten, never removed, even when a segment of its key
    // (a subject, a pass) happens to equal the student id.
    !is_shared(key) && key.segments().any(|seg| seg == student.as_str())
}

/// Keys of every object that belongs to the student alone.
pub async fn own_objects(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
) -> Result<Vec<ObjectKey>, StoreError> {
    Ok(store
        .list("")
        .await?
        .into_iter()
        .map(|o| o.key)
        .filter(|k| is_own(k, student))
        .collect())
}

/// What one test's results object holds about the student.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TheirResult {
    pub key: String,
    pub subject: Option<SubjectName>,
    pub test_id: Option<TestId>,
    /// Their graded submission; stored without question texts (see [`shared_entries`]).
    pub score: Option<Score>,
    pub notified_revision: Option<u32>,
}

/// What one journal wave holds about the student: the emails sent to them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TheirEmails {
    pub key: String,
    pub sent_at: Option<DateTime<Utc>>,
    pub items: Vec<Notified>,
}

/// The student's entries in one shared object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Theirs {
    Result(TheirResult),
    Emails(TheirEmails),
}

/// A shared object that holds entries of the student.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedEntries {
    pub key: ObjectKey,
    /// What it holds about the student (for the export).
    pub theirs: Theirs,
    /// Its content without them (for the erasure).
    pub without: Vec<u8>,
}

/// Parses a shared object. One that does not parse but names the student cannot be
/// rewritten without them, so that is an error rather than something to skip.
fn parsed<T: serde::de::DeserializeOwned>(
    key: &ObjectKey,
    bytes: &[u8],
    student: &StudentId,
) -> Result<Option<T>, PrivacyError> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) if mentions(bytes, student.as_str()) => Err(PrivacyError::Unreadable {
            key: key.clone(),
            student: student.clone(),
            reason: e.to_string(),
        }),
        Err(_) => Ok(None),
    }
}

fn mentions(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

fn encoded<T: Serialize>(key: &ObjectKey, value: &T) -> Result<Vec<u8>, PrivacyError> {
    serde_json::to_vec(value).map_err(|e| PrivacyError::Encode(key.clone(), e))
}

/// Separates the student's entries in a results object from everyone else's;
/// `None` when it holds none of theirs.
pub fn split_results(
    key: &ObjectKey,
    bytes: &[u8],
    student: &StudentId,
) -> Result<Option<SharedEntries>, PrivacyError> {
    let Some(mut results) = parsed::<TestResults>(key, bytes, student)? else {
        return Ok(None);
    };
    let score = results.scores.get(student).map(|s| s.as_ref().clone());
    let notified_revision = results.notified.get(student).copied();
    if !results.remove_student(student) {
        return Ok(None);
    }
    let (subject, test_id) = layout::parse_results(key.as_str()).unzip();
    Ok(Some(SharedEntries {
        theirs: Theirs::Result(TheirResult {
            key: key.to_string(),
            subject,
            test_id,
            score,
            notified_revision,
        }),
        without: encoded(key, &results)?,
        key: key.clone(),
    }))
}

/// Separates the emails to the student in a journal wave from everyone else's;
/// `None` when it holds none of theirs. An emptied wave stays (as an empty one):
/// the scorer numbers its waves.
pub fn split_journal(
    key: &ObjectKey,
    bytes: &[u8],
    student: &StudentId,
) -> Result<Option<SharedEntries>, PrivacyError> {
    let Some(mut wave) = parsed::<JournalWave>(key, bytes, student)? else {
        return Ok(None);
    };
    let items: Vec<Notified> = wave
        .items
        .iter()
        .filter(|n| &n.student_id == student)
        .cloned()
        .collect();
    if !wave.remove_student(student) {
        return Ok(None);
    }
    Ok(Some(SharedEntries {
        theirs: Theirs::Emails(TheirEmails {
            key: key.to_string(),
            sent_at: wave.sent_at,
            items,
        }),
        without: encoded(key, &wave)?,
        key: key.clone(),
    }))
}

/// Every results object and journal wave that names the student, results first.
/// Stored results leave out the question texts; they are put back from the test's
/// questions, so an export shows the student what they were asked.
pub async fn shared_entries(
    store: &(impl ObjectStore + ?Sized),
    student: &StudentId,
) -> Result<Vec<SharedEntries>, PrivacyError> {
    let mut found = Vec::new();
    for o in store.list(RESULTS_PREFIX).await? {
        let Some(bytes) = store.get(&o.key).await? else {
            continue;
        };
        let Some(mut entries) = split_results(&o.key, &bytes, student)? else {
            continue;
        };
        if let Theirs::Result(TheirResult {
            subject: Some(subject),
            test_id: Some(test),
            score: Some(score),
            ..
        }) = &mut entries.theirs
        {
            let questions: Option<Vec<Question>> =
                store_json::read(store, &layout::questions(subject, test))
                    .await
                    .ok()
                    .flatten();
            fill_texts(score, questions.as_deref().unwrap_or_default());
        }
        found.push(entries);
    }
    for o in store.list(JOURNAL_PREFIX).await? {
        let Some(bytes) = store.get(&o.key).await? else {
            continue;
        };
        if let Some(entries) = split_journal(&o.key, &bytes, student)? {
            found.push(entries);
        }
    }
    Ok(found)
}

/// Shared objects whose older versions may still name the student although their
/// current version does not (an erase that stopped between a rewrite and its purge):
/// the results of every test their own objects (still there) name, and every
/// journal wave (a wave lives only until the next pass; its history is worth
/// nothing). `rewritten` are the objects just rewritten, whose history went then.
pub fn histories_to_purge(
    own: &[ObjectKey],
    student: &StudentId,
    journal: impl IntoIterator<Item = ObjectKey>,
    rewritten: &BTreeSet<ObjectKey>,
) -> BTreeSet<ObjectKey> {
    own.iter()
        .filter_map(|k| layout::parse_student_object(k.as_str()))
        .filter(|o| &o.student == student)
        .map(|o| layout::results(&o.subject, &o.test))
        .chain(journal)
        .filter(|k| !rewritten.contains(k))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::grading::{self, TestContent};
    use crate::testing::MemoryStore;
    use std::sync::Arc;

    fn id(s: &str) -> StudentId {
        StudentId::parse(s).unwrap()
    }

    fn key(s: &str) -> ObjectKey {
        ObjectKey::parse(s).unwrap()
    }

    fn score(student: &StudentId) -> Arc<Score> {
        let (s, t) = (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let content = TestContent {
            subject: &s,
            test_id: &t,
            title: "T",
            questions: &[],
            key: &[],
            rules: &Default::default(),
        };
        Arc::new(grading::grade(
            content,
            student,
            &[],
            5,
            DateTime::<Utc>::UNIX_EPOCH,
        ))
    }

    fn notified(student: &StudentId) -> Notified {
        Notified {
            subject: SubjectName::parse("os").unwrap(),
            test_id: TestId::parse("t1").unwrap(),
            student_id: student.clone(),
            revision: 0,
            message_id: format!("m-{student}"),
            withheld: false,
        }
    }

    #[test]
    fn a_students_own_objects_are_those_with_their_id_as_a_whole_segment() {
        let st = id("student01");
        assert!(is_own(&key("os/t1/student01/testResult.json"), &st));
        assert!(is_own(&key("_system/keyring/student01"), &st));
        assert!(!is_own(&key("os/t1/student011/testResult.json"), &st));
        assert!(!is_own(&key("studentsList.json"), &st));
    }

    #[test]
    fn shared_objects_are_never_own_even_when_a_segment_equals_the_id() {
        let st = id("student01");
        let results = key("_system/results/student01/t1/results.json");
        let wave = key("_system/journal/student01/w000001");
        assert!(is_shared(&results) && is_shared(&wave));
        assert!(!is_own(&results, &st));
        assert!(!is_own(&wave, &st));
    }

    #[test]
    fn a_results_object_is_split_into_their_entries_and_everyone_elses() {
        let (me, other) = (id("student01"), id("student02"));
        let mut results = TestResults::default();
        for st in [&me, &other] {
            results.scores.insert(st.clone(), score(st));
            results.notified.insert(st.clone(), 0);
        }
        let k = key("_system/results/os/t1/results.json");
        let bytes = serde_json::to_vec(&results).unwrap();
        let split = split_results(&k, &bytes, &me).unwrap().unwrap();
        let Theirs::Result(theirs) = &split.theirs else {
            panic!("a results object gives a result: {split:?}");
        };
        assert_eq!(theirs.subject.as_ref().map(|s| s.as_str()), Some("os"));
        assert_eq!(theirs.score.as_ref().map(|s| &s.student_id), Some(&me));
        assert_eq!(theirs.notified_revision, Some(0));
        let left: TestResults = serde_json::from_slice(&split.without).unwrap();
        assert!(!left.scores.contains_key(&me) && !left.notified.contains_key(&me));
        assert!(left.scores.contains_key(&other) && left.notified.contains_key(&other));
        let json = serde_json::to_value(&split.theirs).unwrap();
        assert_eq!(json["testId"], "t1");
        assert_eq!(json["notifiedRevision"], 0);

        assert_eq!(split_results(&k, &split.without, &me).unwrap(), None);
    }

    #[test]
    fn a_journal_wave_keeps_the_other_students_emails_and_stays_when_emptied() {
        let (me, other) = (id("student01"), id("student02"));
        let wave = JournalWave {
            sent_at: Some(DateTime::<Utc>::UNIX_EPOCH),
            items: vec![notified(&me), notified(&other)],
        };
        let k = key("_system/journal/p1/w000001");
        let bytes = serde_json::to_vec(&wave).unwrap();
        let split = split_journal(&k, &bytes, &me).unwrap().unwrap();
        assert_eq!(
            split.theirs,
            Theirs::Emails(TheirEmails {
                key: k.to_string(),
                sent_at: wave.sent_at,
                items: vec![notified(&me)],
            })
        );
        let left: JournalWave = serde_json::from_slice(&split.without).unwrap();
        assert_eq!(left.items, vec![notified(&other)]);
        let emptied = split_journal(&k, &split.without, &other).unwrap().unwrap();
        let left: JournalWave = serde_json::from_slice(&emptied.without).unwrap();
        assert!(left.items.is_empty());
    }

    #[test]
    fn an_unparsable_shared_object_is_an_error_only_when_it_names_the_student() {
        let k = key("_system/results/os/t1/results.json");
        let err = split_results(&k, b"{\"student01\": oops", &id("student01")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("_system/results/os/t1/results.json names student01 but is not valid"),
            "{err}"
        );
        assert_eq!(split_results(&k, b"oops", &id("student01")).unwrap(), None);
    }

    #[test]
    fn histories_to_purge_are_their_tests_results_and_the_journal_not_yet_rewritten() {
        let st = id("student01");
        let own = [
            key("os/t1/student01/testResult.json"),
            key("_system/keyring/student01"),
        ];
        let journal = [
            key("_system/journal/p1/w000001"),
            key("_system/journal/p1/w000002"),
        ];
        let rewritten = BTreeSet::from([journal[0].clone()]);
        let keys = histories_to_purge(&own, &st, journal.clone(), &rewritten);
        assert_eq!(
            keys,
            BTreeSet::from([
                key("_system/results/os/t1/results.json"),
                journal[1].clone()
            ])
        );
    }

    #[tokio::test]
    async fn shared_entries_put_the_question_texts_back_into_their_score() {
        let store = MemoryStore::new();
        let me = id("student01");
        let (s, t) = (
            SubjectName::parse("os").unwrap(),
            TestId::parse("t1").unwrap(),
        );
        let questions: Vec<Question> = vec![serde_json::from_value(serde_json::json!({
            "questionId": "1", "question": "Which one?",
            "answers": [{"answerId": "a", "answerBody": "x"}, {"answerId": "b", "answerBody": "y"}]
        }))
        .unwrap()];
        store_json::write(&store, &layout::questions(&s, &t), &questions)
            .await
            .unwrap();
        let key_entries = vec![crate::model::KeyEntry {
            question_id: questions[0].question_id.clone(),
            answer: crate::ids::AnswerId::parse("a").unwrap().into(),
            weights: Default::default(),
        }];
        let content = TestContent {
            subject: &s,
            test_id: &t,
            title: "T",
            questions: &questions,
            key: &key_entries,
            rules: &Default::default(),
        };
        let mut graded = grading::grade(content, &me, &[], 5, DateTime::<Utc>::UNIX_EPOCH);
        crate::scoring::results::strip_texts(&mut graded);
        let mut results = TestResults::default();
        results.scores.insert(me.clone(), Arc::new(graded));
        results.save(&store, &s, &t).await.unwrap();

        let found = shared_entries(&store, &me).await.unwrap();
        assert_eq!(found.len(), 1);
        let Theirs::Result(theirs) = &found[0].theirs else {
            panic!("{found:?}");
        };
        let score = theirs.score.as_ref().unwrap();
        assert_eq!(score.questions[0].question, "Which one?");
    }
}
