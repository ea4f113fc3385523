//! Each student's own window through the three endpoints: the listing shows the
//! own due and late window, GET and upload work until the own close, and a late
//! receipt says how late and what it costs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use ework_domain::api::{Api, ApiConfig, ApiRequest};
use ework_domain::ids::StudentId;
use ework_domain::layout;
use ework_domain::model::{Catalog, Receipt, Roster};
use ework_domain::ports::FixedClock;
use ework_domain::store_json;
use ework_domain::testing::MemoryStore;
use ework_domain::windows::{parse_penalty, Extension, ExtraTime, LatePolicy, Percent};
use ework_testkit::fixture::{seed_fixture, Fixture};
use serde_json::{json, Value};

fn list(key: &str, student: &str) -> ApiRequest {
    ApiRequest {
        method: "POST".into(),
        path: "/api/v1/tests".into(),
        query: vec![],
        api_key: Some(key.into()),
        body: json!({"studentId": student}).to_string().into_bytes(),
    }
}

fn get(key: &str) -> ApiRequest {
    ApiRequest {
        method: "GET".into(),
        path: "/api/v1/test".into(),
        query: vec![
            ("subjectName".into(), "operating-systems".into()),
            ("testId".into(), "test01".into()),
        ],
        api_key: Some(key.into()),
        body: vec![],
    }
}

fn upload(key: &str, student: &str) -> ApiRequest {
    ApiRequest {
        method: "POST".into(),
        path: "/api/v1/test".into(),
        query: vec![],
        api_key: Some(key.into()),
        body: json!({"subjectName": "operating-systems", "testId": "test01", "studentId": student,
            "testResult": [{"questionId": "1", "answer": "b"}]})
        .to_string()
        .into_bytes(),
    }
}

/// Three students; the test is due `due`, late until due + 3 days at 10%/day down
/// to 50%; student002 has an extension to due + 2 days, student003 24 h extra time.
async fn course(late: bool) -> (MemoryStore, Fixture, DateTime<Utc>) {
    let published = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let store = MemoryStore::new();
    let fixture = seed_fixture(&store, 3, published).await.unwrap();
    let due = fixture.due_at;
    let mut catalog: Catalog = store_json::read(&store, &layout::catalog())
        .await
        .unwrap()
        .unwrap();
    let w = &mut catalog.tests[0].windows;
    w.extensions.insert(
        StudentId::parse("student002").unwrap(),
        Extension {
            due: due + Duration::days(2),
            reason: Some("illness".into()),
        },
    );
    if late {
        w.late = Some(LatePolicy {
            until: due + Duration::days(3),
            penalty: parse_penalty("10%/day").unwrap(),
            floor: Percent::parse("50%").unwrap(),
        });
    }
    store_json::write(&store, &layout::catalog(), &catalog)
        .await
        .unwrap();
    let mut roster: Roster = store_json::read(&store, &layout::roster())
        .await
        .unwrap()
        .unwrap();
    roster.0[2].extra_time = Some(ExtraTime::parse("24h").unwrap());
    store_json::write(&store, &layout::roster(), &roster)
        .await
        .unwrap();
    (store, fixture, due)
}

fn api(store: &MemoryStore, now: DateTime<Utc>) -> Api<&MemoryStore, FixedClock> {
    Api::new(store, FixedClock(now), ApiConfig::default())
}

/// The listed test of a student, or `Null` when it is not listed.
async fn listed(store: &MemoryStore, f: &Fixture, student: &str, now: DateTime<Utc>) -> Value {
    let resp = api(store, now)
        .handle(list(f.key_of(student), student))
        .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.body["body"][0]["tests"][0].clone()
}

#[tokio::test]
async fn the_listing_shows_each_students_own_due_and_late_window() {
    let (store, f, _) = course(true).await;
    // Due 2026-12-01 10:00 UTC, 11:00 in Warsaw.
    let now = f.due_at - Duration::hours(1);
    // (student, own due, own late until), Warsaw time.
    for (student, due, until) in [
        (
            "student001",
            "2026-12-01T11:00:00+01:00",
            "2026-12-04T11:00:00+01:00",
        ),
        (
            "student002",
            "2026-12-03T11:00:00+01:00",
            "2026-12-06T11:00:00+01:00",
        ),
        (
            "student003",
            "2026-12-02T11:00:00+01:00",
            "2026-12-05T11:00:00+01:00",
        ),
    ] {
        let t = listed(&store, &f, student, now).await;
        assert_eq!(t["dueAt"], due, "{student}: {t}");
        assert_eq!(
            t["late"],
            json!({"until": until, "penalty": "10%/day", "floor": "50%"}),
            "{student}"
        );
    }
}

#[tokio::test]
async fn without_a_late_policy_the_listing_has_no_late_field_and_closes_at_the_own_due() {
    let (store, f, due) = course(false).await;
    let t = listed(&store, &f, "student001", due - Duration::minutes(1)).await;
    assert!(t.get("late").is_none(), "{t}");
    assert_eq!(listed(&store, &f, "student001", due).await, Value::Null);
    let t = listed(&store, &f, "student002", due).await;
    assert_eq!(t["dueAt"], "2026-12-03T11:00:00+01:00");
}

#[tokio::test]
async fn a_test_is_open_for_each_student_until_their_own_close() {
    let (store, f, due) = course(true).await;
    // (instant after the due, student, open)
    for (after, student, open) in [
        (Duration::days(3) - Duration::seconds(1), "student001", true),
        (Duration::days(3), "student001", false),
        (Duration::days(4) - Duration::seconds(1), "student003", true),
        (Duration::days(4), "student003", false),
        (Duration::days(4), "student002", true),
        (Duration::days(5), "student002", false),
    ] {
        let now = due + after;
        let t = listed(&store, &f, student, now).await;
        assert_eq!(t != Value::Null, open, "{student} listed at due + {after}");
        let resp = api(&store, now).handle(get(f.key_of(student))).await;
        assert_eq!(
            resp.status == 200,
            open,
            "{student} GET at due + {after}: {}",
            resp.body
        );
        let resp = api(&store, now)
            .handle(upload(f.key_of(student), student))
            .await;
        assert_eq!(
            resp.status == 200,
            open,
            "{student} upload at due + {after}: {}",
            resp.body
        );
        if !open {
            assert_eq!(resp.status, 403);
            assert_eq!(resp.body["reason"], "test_closed");
        }
    }
    let resp = api(&store, due + Duration::days(4))
        .handle(get(f.key_of("student002")))
        .await;
    assert_eq!(resp.body["test"]["dueAt"], "2026-12-03T11:00:00+01:00");
    assert_eq!(
        resp.body["test"]["late"]["until"],
        "2026-12-06T11:00:00+01:00"
    );
}

#[tokio::test]
async fn a_late_receipt_says_how_late_and_the_penalty_and_still_verifies() {
    let (store, f, due) = course(true).await;
    // (student, received after the test's due, days late, factor): student002 is
    // due 2 days later, student003 1 day later.
    for (student, after, late) in [
        ("student001", Duration::hours(-1), None),
        ("student001", Duration::seconds(1), Some((1, "90%"))),
        ("student001", Duration::hours(25), Some((2, "80%"))),
        ("student002", Duration::hours(25), None),
        ("student002", Duration::hours(49), Some((1, "90%"))),
        (
            "student003",
            Duration::days(3) + Duration::hours(1),
            Some((3, "70%")),
        ),
    ] {
        let resp = api(&store, due + after)
            .handle(upload(f.key_of(student), student))
            .await;
        assert_eq!(resp.status, 200, "{}", resp.body);
        let receipt: Receipt = serde_json::from_value(resp.body["receipt"].clone()).unwrap();
        let got = receipt
            .late
            .as_ref()
            .map(|l| (l.days_late, l.factor.to_string()));
        assert_eq!(
            got,
            late.map(|(d, f)| (d, f.to_owned())),
            "{student} at due + {after}"
        );
        if let Some(l) = &receipt.late {
            assert_eq!(l.penalty, "10%/day");
            assert_eq!(resp.body["receipt"]["late"]["factor"], late.unwrap().1);
        } else {
            assert!(resp.body["receipt"].get("late").is_none());
        }
        let answers: Vec<ework_domain::model::GivenAnswer> =
            serde_json::from_value(json!([{"questionId": "1", "answer": "b"}])).unwrap();
        assert!(
            receipt.describes(&answers),
            "the late field is not part of the digest"
        );
    }
}

/// A clock the store moves: reading the catalog takes the request past `to`.
struct Jumps {
    now: std::sync::Mutex<DateTime<Utc>>,
    to: DateTime<Utc>,
}

impl ework_domain::ports::Clock for &Jumps {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap()
    }
}

#[async_trait::async_trait]
impl ework_domain::testing::BeforeCall for &Jumps {
    async fn before(&self, _call: ework_domain::testing::Call, key: &str) {
        if key == layout::catalog().as_str() {
            *self.now.lock().unwrap() = self.to;
        }
    }
}

#[tokio::test]
async fn an_upload_at_the_own_close_is_judged_by_the_clock_after_its_reads_and_a_refusal_writes_nothing(
) {
    let (store, f, due) = course(true).await;
    // student002's own close: due + 2 days (extension) + 3 days (late window).
    let close = due + Duration::days(5);
    let half = ework_domain::deadline::GRADING_GRACE / 2;
    // (clock when the reads end, accepted): the request starts a minute before the
    // own close; as for the common due, the reads may take it past the close.
    for (after_reads, accepted) in [
        (close - Duration::seconds(1), true),
        (close, false),
        (close + half, false),
    ] {
        let jumps = Jumps {
            now: std::sync::Mutex::new(close - Duration::minutes(1)),
            to: after_reads,
        };
        let hooked = ework_domain::testing::Hooked {
            inner: &store,
            hook: &jumps,
        };
        let api = Api::new(
            &hooked,
            &jumps,
            ApiConfig {
                cache_ttl: Duration::zero(),
                ..ApiConfig::default()
            },
        );
        let before = store.snapshot();
        let resp = api
            .handle(upload(f.key_of("student002"), "student002"))
            .await;
        assert_eq!(resp.status == 200, accepted, "{}", resp.body);
        if accepted {
            // 3 days minus a second after the own due: 3 started days late.
            assert_eq!(resp.body["receipt"]["late"]["daysLate"], 3);
        } else {
            assert_eq!(resp.body["reason"], "test_closed");
            assert_eq!(store.snapshot(), before, "nothing written");
        }
    }
}
