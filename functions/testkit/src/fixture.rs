//! A small published course for the API's tests, benches and fuzzing.

use ework_domain::ports::{ObjectStore, StoreError};

/// A small published course for tests and benchmarks: `students` students
/// (`student001`...), subject `operating-systems`, open test `test01` with four
/// questions (answers a-d, correct answer `b` for each), due a week after `now`.
pub struct Fixture {
    pub keys: Vec<(ework_domain::ids::StudentId, ework_domain::keys::PlainKey)>,
    pub subject: ework_domain::ids::SubjectName,
    pub test: ework_domain::ids::TestId,
    pub due_at: chrono::DateTime<chrono::Utc>,
}

impl Fixture {
    pub fn key_of(&self, student: &str) -> &str {
        self.keys
            .iter()
            .find(|(id, _)| id.as_str() == student)
            .map(|(_, k)| k.expose())
            .unwrap_or("")
    }
}

/// Writes the [`Fixture`] course into a store.
pub async fn seed_fixture(
    store: &(impl ObjectStore + ?Sized),
    students: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Fixture, ework_domain::keys::KeyError> {
    use ework_domain::ids::{AnswerId, QuestionId, StudentId, SubjectName, TestId};
    use ework_domain::model::{
        AnswerOption, Catalog, KeyEntry, Question, Roster, Student, TestMeta,
    };
    use ework_domain::{keys, layout, store_json};
    let parse_err = |e: ework_domain::ids::IdError| {
        ework_domain::keys::KeyError::Store(StoreError::Failed(e.to_string()))
    };
    let subject = SubjectName::parse("operating-systems").map_err(parse_err)?;
    let test = TestId::parse("test01").map_err(parse_err)?;
    let due_at = now + chrono::Duration::days(7);
    let mut questions = Vec::new();
    let mut key = Vec::new();
    for q in 1..=4 {
        let question_id = QuestionId::parse(q.to_string()).map_err(parse_err)?;
        let answers = ["a", "b", "c", "d"]
            .iter()
            .map(|a| {
                Ok(AnswerOption {
                    answer_id: AnswerId::parse(*a)?,
                    answer_body: format!("option {a} of question {q}"),
                })
            })
            .collect::<Result<Vec<_>, ework_domain::ids::IdError>>()
            .map_err(parse_err)?;
        questions.push(Question {
            question_id: question_id.clone(),
            question: format!("Question {q}?"),
            answers,
            points: 1,
            pool: None,
            multiple: false,
        });
        key.push(KeyEntry {
            question_id,
            answer: AnswerId::parse("b").map_err(parse_err)?.into(),
            weights: Default::default(),
        });
    }
    store_json::write(store, &layout::questions(&subject, &test), &questions).await?;
    store_json::write(store, &layout::answer_key(&subject, &test), &key).await?;
    let catalog = Catalog {
        tests: vec![TestMeta {
            subject: subject.clone(),
            test_id: test.clone(),
            title: "Processes".into(),
            published_at: now,
            due_at,
            windows: Default::default(),
            rules: Default::default(),
        }],
    };
    store_json::write(store, &layout::catalog(), &catalog).await?;
    let mut roster = Vec::new();
    let mut issued = Vec::new();
    for i in 1..=students {
        let id = StudentId::parse(format!("student{i:03}")).map_err(parse_err)?;
        roster.push(Student {
            student_id: id.clone(),
            email: format!("{id}@example.com"),
            name: None,
            subjects: None,
            extra_time: None,
            extra: Default::default(),
        });
        let plain = keys::PlainKey::generate();
        // Written directly (nobody races a fixture): the record, then the keyring.
        let record = keys::KeyRecord::new(&id, &plain, now);
        store_json::write(store, &layout::key_record(&record.sha256), &record).await?;
        let ring = keys::Keyring {
            keys: vec![record],
            retired: Vec::new(),
        };
        store_json::write(store, &layout::keyring(&id), &ring).await?;
        issued.push((id, plain));
    }
    store_json::write(store, &layout::roster(), &Roster(roster)).await?;
    Ok(Fixture {
        keys: issued,
        subject,
        test,
        due_at,
    })
}
