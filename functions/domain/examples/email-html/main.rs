//! Writes the HTML parts of a sample scoring pass's emails, for a look in a browser
//! (`scripts/checks/48-email-screenshots.sh` screenshots them in headless Chromium
//! at 900 and 380 px): the trainer's report, a student's one-test email and a
//! student's email covering two tests; and, from passes over the depth sample
//! ([`depth`]), a result with multiple-answer questions worth several points held
//! back while others may submit, a late result, the answers that follow, and a
//! corrected result.
//!
//! Run: `cargo run -p ework-domain --example email-html -- OUT_DIR`

use chrono::{DateTime, Duration, Utc};
use ework_domain::layout;
use ework_domain::model::Question;
use ework_domain::scoring::inspect;
use ework_domain::scoring::sample::{self, SeedSpec};
use ework_domain::scoring::{score_pass, RunOptions, ScoringConfig};
use ework_domain::store_json;
use ework_domain::testing::{MemoryMailer, MemoryStore};
use std::path::PathBuf;

mod depth;

/// Questions as long as real ones, so wrapping shows at phone width.
const TEXTS: [&str; 5] = [
    "Which system call creates a new process on Linux, duplicating the calling one?",
    "A page fault occurs when a program touches a page that is not in memory. What does the kernel do first?",
    "Which scheduling policy can starve long jobs?",
    "What does the `&` at the end of a shell command do?",
    "Which of these is kept per thread rather than per process?",
];

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: email-html OUT_DIR")?);
    std::fs::create_dir_all(&out)?;
    let due: DateTime<Utc> = "2025-11-24T22:00:00Z".parse()?;
    let store = MemoryStore::new();
    let spec = SeedSpec {
        students: 12,
        tests: 2,
        questions: 5,
        due_at: due,
        email_domain: "example.com".into(),
        concurrency: 4,
    };
    sample::seed(&store, &spec).await?;
    let (subject, test) = (sample::subject_of(0), sample::test_of(0));
    let key = layout::questions(&subject, &test);
    let mut questions: Vec<Question> = store_json::read(&store, &key).await?.ok_or("seeded")?;
    for (q, text) in questions.iter_mut().zip(TEXTS) {
        q.question = text.to_owned();
    }
    store_json::write(&store, &key, &questions).await?;

    let mailer = MemoryMailer::default();
    let config = ScoringConfig::new("Ework Scorer <scorer@example.com>", "trainer@example.com");
    let options = RunOptions {
        now: due + Duration::minutes(10),
        deadline: None,
        dry_run: false,
    };
    score_pass(&store, &mailer, &config, options).await?;

    let mut wrote = vec![];
    let mut one_test = false;
    let mut two_tests = false;
    for (to, raw) in mailer.sent() {
        let parsed = inspect::parse(&raw);
        let subject = parsed.header("subject").unwrap_or_default().to_owned();
        let name = if to.iter().any(|t| t.starts_with("trainer@")) {
            "report"
        } else if subject.contains("Test scores:") && !two_tests {
            two_tests = true;
            "student-two-tests"
        } else if !subject.contains("Test scores:") && !one_test {
            one_test = true;
            "student"
        } else {
            continue;
        };
        let html = parsed.part("text/html").ok_or("no HTML part")?.text();
        let path = out.join(format!("{name}.html"));
        std::fs::write(&path, html)?;
        wrote.push(path);
    }
    if wrote.len() != 3 {
        return Err(format!("expected 3 HTML files, wrote {}", wrote.len()).into());
    }
    wrote.extend(depth::write(&out).await?);
    for p in &wrote {
        println!("{}", p.display());
    }
    Ok(())
}
