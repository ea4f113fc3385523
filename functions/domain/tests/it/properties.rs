//! Properties of the parsers and of upload validation, over generated input.

use chrono::{TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ids::{StudentId, TestId};
use ework_domain::ports::FixedClock;
use ework_domain::testing::MemoryStore;
use ework_testkit::fixture::seed_fixture;
use proptest::prelude::*;
use serde_json::{json, Value};

fn is_valid_id(s: &str) -> bool {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !s.contains("..")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_string_is_accepted_exactly_when_it_follows_the_id_grammar(s in "\\PC{0,80}|[A-Za-z0-9./_%-]{0,70}") {
        let parsed = StudentId::parse(s.clone());
        prop_assert_eq!(parsed.is_ok(), is_valid_id(&s), "{:?}", s);
        if let Ok(id) = parsed {
            prop_assert!(!id.as_str().contains('/'));
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }

    #[test]
    fn every_id_of_the_grammar_round_trips_through_json(s in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}") {
        prop_assume!(!s.contains(".."));
        let id = TestId::parse(s.clone()).unwrap();
        let back: TestId = serde_json::from_value(serde_json::to_value(&id).unwrap()).unwrap();
        prop_assert_eq!(back, id);
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop_oneof![
            Just("1".to_string()),
            Just("a".to_string()),
            Just("B".to_string()),
            Just("".to_string()),
            "\\PC{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("questionId".to_string()),
                        Just("answer".to_string()),
                        "[a-z]{1,8}"
                    ],
                    inner
                ),
                0..4
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Whatever the `testResult` holds, the answer is 200 or a 4xx, and a 4xx leaves
    /// the store exactly as it was.
    #[test]
    fn any_upload_gets_200_or_a_4xx_and_a_refusal_writes_nothing(result in json_value(), student in prop_oneof![Just("student001"), Just("student002"), Just("x/y")]) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let store = MemoryStore::new();
            let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
            let fixture = seed_fixture(&store, 2, now).await.unwrap();
            let before = store.snapshot();
            let api = Api::new(&store, FixedClock(now), ApiConfig::default());
            let body = json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student, "testResult": result});
            let resp = api
                .handle(ApiRequest {
                    method: "POST".into(),
                    path: "/api/v1/test".into(),
                    query: vec![],
                    api_key: Some(fixture.key_of("student001").to_string()),
                    body: body.to_string().into_bytes(),
                })
                .await;
            prop_assert!(resp.status == 200 || (400..500).contains(&resp.status), "{} {}", resp.status, resp.body);
            prop_assert_eq!(resp.body["code"].as_u64(), Some(resp.status as u64));
            if resp.status != 200 {
                prop_assert!(resp.body["body"].as_str().is_some_and(|m| !m.is_empty()));
                prop_assert_eq!(store.snapshot(), before);
            }
            Ok(())
        })?;
    }
}

// The scorer's exactly-once argument, checked over generated courses: a pass cut
// after any prefix of its plan's effects, then fresh plans, email every result
// once, besides the emails accepted and not yet journaled at a cut (the documented
// journal-wave window), and skip none.
mod scorer {
    use async_trait::async_trait;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use ework_domain::ids::AnswerId;
    use ework_domain::layout;
    use ework_domain::model::KeyEntry;
    use ework_domain::ports::{MailError, Mailer, ObjectStore, SystemClock};
    use ework_domain::scoring::budget::Budget;
    use ework_domain::scoring::email;
    use ework_domain::scoring::execute::{Context, Executor};
    use ework_domain::scoring::plan::{self, Effect, Plan};
    use ework_domain::scoring::results::TestResults;
    use ework_domain::scoring::sample::{self, SeedSpec};
    use ework_domain::scoring::snapshot::{self, Reading};
    use ework_domain::scoring::{inspect, score_pass, RunOptions, ScoringConfig};
    use ework_domain::store_json;
    use ework_domain::testing::{MemoryMailer, MemoryStore};
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    const TRAINER: &str = "trainer@prop.test";

    /// (student email, "subject/test", revision)
    type Result3 = (String, String, u32);

    fn due() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 22, 0, 0).unwrap()
    }

    fn now() -> DateTime<Utc> {
        due() + ework_domain::deadline::GRADING_GRACE + Duration::minutes(1)
    }

    fn config(batch: usize) -> ScoringConfig {
        let mut c = ScoringConfig::new("Ework <scorer@prop.test>", TRAINER);
        c.ledger_batch = batch;
        c
    }

    /// One pass that is cut after `cut` effects, with mail to `refused` failing.
    #[derive(Debug, Clone)]
    struct Round {
        cut: prop::sample::Index,
        refused: BTreeSet<usize>,
        /// The trainer asks for a rescore before this pass.
        rescore: bool,
    }

    fn round(students: usize) -> impl Strategy<Value = Round> {
        (
            any::<prop::sample::Index>(),
            prop::collection::btree_set(0..students, 0..2),
            prop::bool::weighted(0.3),
        )
            .prop_map(|(cut, refused, rescore)| Round {
                cut,
                refused,
                rescore,
            })
    }

    #[derive(Debug, Clone)]
    struct Scenario {
        students: usize,
        tests: usize,
        questions: usize,
        batch: usize,
        /// Submissions removed after seeding: (student, test).
        withdrawn: BTreeSet<(usize, usize)>,
        /// The round before which the key of the first test changes (a correction).
        key_change: Option<usize>,
        rounds: Vec<Round>,
    }

    fn scenario() -> impl Strategy<Value = Scenario> {
        (1usize..=5, 1usize..=3, 1usize..=3, 1usize..=4).prop_flat_map(
            |(students, tests, questions, batch)| {
                (
                    prop::collection::btree_set((0..students, 0..tests), 0..3),
                    prop::option::of(0usize..3),
                    prop::collection::vec(round(students), 1..=3),
                )
                    .prop_map(move |(withdrawn, key_change, rounds)| Scenario {
                        students,
                        tests,
                        questions,
                        batch,
                        withdrawn,
                        key_change,
                        rounds,
                    })
            },
        )
    }

    /// Fails mail to some addresses; hands the rest to `inner`.
    struct Refusing<'a> {
        inner: &'a MemoryMailer,
        refused: BTreeSet<String>,
    }

    #[async_trait]
    impl Mailer for Refusing<'_> {
        async fn send(&self, to: &[String], raw: Vec<u8>) -> Result<String, MailError> {
            if to.iter().any(|t| self.refused.contains(t)) {
                return Err(MailError::Rejected("refused".into()));
            }
            self.inner.send(to, raw).await
        }
    }

    fn address(i: usize) -> String {
        format!("{}@prop.test", sample::student_of(i))
    }

    async fn seeded(s: &Scenario) -> MemoryStore {
        let store = MemoryStore::new();
        let spec = SeedSpec {
            students: s.students,
            tests: s.tests,
            questions: s.questions,
            due_at: due(),
            email_domain: "prop.test".into(),
            concurrency: 4,
        };
        sample::seed(&store, &spec).await.unwrap();
        for (i, j) in &s.withdrawn {
            let key = layout::submission(
                &sample::subject_of(*j),
                &sample::test_of(*j),
                &sample::student_of(*i),
            );
            store.purge(&key).await.unwrap();
        }
        store
    }

    /// The trainer corrects question 1 of the first test and asks for a rescore.
    async fn correct_the_key(store: &MemoryStore) {
        let (s, t) = (sample::subject_of(0), sample::test_of(0));
        let key_path = layout::answer_key(&s, &t);
        let mut key: Vec<KeyEntry> = store_json::read(store, &key_path).await.unwrap().unwrap();
        key[0].answer = AnswerId::parse("b").unwrap().into();
        store_json::write(store, &key_path, &key).await.unwrap();
        ask_for_rescore(store).await;
    }

    async fn ask_for_rescore(store: &MemoryStore) {
        let marker = layout::rescore_marker(&sample::subject_of(0), &sample::test_of(0));
        let asked = b"{\"requestedAt\":\"now\"}".to_vec();
        store.put(&marker, asked).await.unwrap();
    }

    async fn make_plan(store: &MemoryStore, batch: usize) -> Plan {
        let budget = Budget::unlimited(Arc::new(SystemClock));
        let course = snapshot::read_course(store, now()).await.unwrap();
        let reading = Reading {
            store,
            now: now(),
            max_grade: 5,
            concurrency: 4,
            budget: &budget,
        };
        let snap = snapshot::read(reading, course).await.unwrap();
        plan::plan(snap, batch)
    }

    /// The order every plan keeps (checked on the plan alone, before any effect).
    fn check_plan_order(p: &Plan, batch: usize) -> Result<(), TestCaseError> {
        let mut written = BTreeSet::new();
        let mut emailed: BTreeSet<(usize, usize)> = BTreeSet::new();
        let mut since_wave = 0;
        let mut seen_report = false;
        let mut seen_settle = false;
        for e in &p.effects {
            match e {
                Effect::WriteResults(i) => {
                    prop_assert!(emailed.iter().all(|(_, t)| t != i), "write after email");
                    written.insert(*i);
                }
                Effect::Email { student, tests } => {
                    prop_assert!(!seen_report);
                    for t in tests {
                        prop_assert!(emailed.insert((*student, *t)), "emailed twice in one plan");
                    }
                    since_wave += 1;
                    prop_assert!(since_wave <= batch, "more than a wave between records");
                }
                Effect::JournalWave => since_wave = 0,
                Effect::Report { .. } => {
                    prop_assert_eq!(since_wave, 0, "emails unrecorded at the report");
                    seen_report = true;
                }
                Effect::Settle(_) => {
                    prop_assert!(seen_report);
                    seen_settle = true;
                }
                Effect::PurgeJournal | Effect::MarkRescoreDone(_) => prop_assert!(seen_settle),
            }
        }
        // Exactly the results nobody was told about, for roster students.
        let mut untold = BTreeSet::new();
        for (i, t) in p.tests.iter().enumerate() {
            for id in t.untold() {
                if let Some(pos) = p.roster.0.iter().rposition(|s| &s.student_id == id) {
                    untold.insert((pos, i));
                }
            }
        }
        prop_assert_eq!(emailed, untold);
        Ok(())
    }

    /// Runs the plan's effects up to the cut; returns what was accepted and not
    /// journaled when it stopped.
    async fn cut_pass(
        store: &MemoryStore,
        mailer: &dyn Mailer,
        s: &Scenario,
        r: &Round,
    ) -> Result<Vec<Result3>, TestCaseError> {
        let mut p = make_plan(store, s.batch).await;
        check_plan_order(&p, s.batch)?;
        let effects = std::mem::take(&mut p.effects);
        let cut = r.cut.index(effects.len() + 1);
        let config = config(s.batch);
        let cx = Context {
            store,
            mailer,
            config: &config,
            from: email::parse_mailbox(&config.sender).unwrap(),
            trainer: email::parse_mailbox(TRAINER).unwrap(),
            budget: Budget::unlimited(Arc::new(SystemClock)),
            now: now(),
            dry_run: false,
        };
        let mut exec = Executor::new(p, cx);
        for e in &effects[..cut] {
            exec.perform(e).await.unwrap();
        }
        let students = &exec.state.roster.0;
        Ok(exec
            .unrecorded()
            .iter()
            .map(|(_, n)| {
                let to = students.iter().find(|st| st.student_id == n.student_id);
                (
                    to.map(|st| st.email.clone()).unwrap_or_default(),
                    format!("{}/{}", n.subject, n.test_id),
                    n.revision,
                )
            })
            .collect())
    }

    /// Every student email, by (address, "subject/test", revision); a corrected
    /// result says so, and a scenario corrects at most once, so revisions are 0 or 1.
    fn emails(mailer: &MemoryMailer) -> BTreeMap<Result3, usize> {
        let mut counts = BTreeMap::new();
        for (to, raw) in mailer.sent() {
            if to.iter().any(|t| t == TRAINER) {
                continue;
            }
            let text = inspect::parse(&raw).part("text/plain").unwrap().text();
            for line in text.lines() {
                let Some((subject, rest)) = line.split_once(" / ") else {
                    continue;
                };
                let Some((test, _)) = rest.split_once(" - ") else {
                    continue;
                };
                let revision = u32::from(line.ends_with("(corrected result)"));
                let key = (to.join(","), format!("{subject}/{test}"), revision);
                *counts.entry(key).or_default() += 1;
            }
        }
        counts
    }

    /// The results as stored at the end, for students on the roster.
    async fn final_results(store: &MemoryStore, s: &Scenario) -> BTreeSet<Result3> {
        let mut all = BTreeSet::new();
        for j in 0..s.tests {
            let (subject, test) = (sample::subject_of(j), sample::test_of(j));
            let Some(r) = TestResults::load(store, &subject, &test).await.unwrap() else {
                continue;
            };
            for (id, score) in &r.scores {
                all.insert((
                    format!("{id}@prop.test"),
                    format!("{subject}/{test}"),
                    score.revision,
                ));
            }
        }
        all
    }

    async fn check(s: Scenario) -> Result<(), TestCaseError> {
        let store = seeded(&s).await;
        let mailer = MemoryMailer::default();
        let mut window: BTreeMap<Result3, usize> = BTreeMap::new();
        for (n, r) in s.rounds.iter().enumerate() {
            if s.key_change == Some(n) {
                correct_the_key(&store).await;
            } else if r.rescore {
                ask_for_rescore(&store).await;
            }
            let refusing = Refusing {
                inner: &mailer,
                refused: r.refused.iter().map(|i| address(*i)).collect(),
            };
            let unrecorded = cut_pass(&store, &refusing, &s, r).await?;
            prop_assert!(unrecorded.len() <= s.batch * s.tests, "{unrecorded:?}");
            for u in unrecorded {
                *window.entry(u).or_default() += 1;
            }
        }
        let config = config(s.batch);
        let options = RunOptions {
            now: now(),
            deadline: None,
            dry_run: false,
        };
        for _ in 0..3 {
            let summary = score_pass(&store, &mailer, &config, options).await.unwrap();
            if summary.complete && summary.failed.is_empty() {
                break;
            }
        }
        let counts = emails(&mailer);
        for result in final_results(&store, &s).await {
            let n = counts.get(&result).copied().unwrap_or(0);
            prop_assert!(n >= 1, "{result:?} never emailed: {counts:?}");
        }
        for (result, n) in &counts {
            let allowed = 1 + window.get(result).copied().unwrap_or(0);
            prop_assert!(
                *n <= allowed,
                "{result:?} emailed {n} times, {allowed} allowed (window {window:?})"
            );
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn any_prefix_of_a_plan_then_fresh_plans_email_every_result_once_besides_the_window(s in scenario()) {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            runtime.block_on(check(s))?;
        }
    }
}
