//! `trainer report SUBJECT TEST`: the item analysis of a test's stored results, at
//! any time (the scorer's report shows the same once the test is graded). The
//! statistics and their rendering are the domain's (`scoring::items`,
//! `scoring::items_render`); this module reads the results, questions and key and
//! prints.

use crate::outln;
use crate::target::Target;
use anyhow::Context;
use ework_domain::ids::{SubjectName, TestId};
use ework_domain::layout;
use ework_domain::model::{KeyEntry, Question};
use ework_domain::ports::ObjectStore;
use ework_domain::scoring::grading::Score;
use ework_domain::scoring::items::{analyse_scores, items_from_scores, items_of, ItemAnalysis};
use ework_domain::scoring::items_render;
use ework_domain::scoring::results::TestResults;
use ework_domain::store_json;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The subject (as in the course folder).
    subject: SubjectName,
    /// The test.
    test: TestId,
    /// Print the analysis as JSON (test figures and every question).
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print item-analysis.csv (one row per question), as attached to the report.
    #[arg(long)]
    csv: bool,
    #[command(flatten)]
    target: Target,
}

/// How the analysis is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
    Csv,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opened = args.target.open().await?;
    let Some(analysis) = analysis_of(opened.store.as_ref(), &args.subject, &args.test).await?
    else {
        anyhow::bail!(
            "no results for {}/{} in {}: a test is graded once its deadline has passed \
             (`trainer score --now`)",
            args.subject,
            args.test,
            opened.description
        );
    };
    let format = match (args.json, args.csv) {
        (true, _) => Format::Json,
        (_, true) => Format::Csv,
        _ => Format::Text,
    };
    let text = render(format, &args.subject, &args.test, &analysis)?;
    outln!("{}", text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}

/// The item analysis of the stored results of a test; `None` when it has none.
async fn analysis_of(
    store: &dyn ObjectStore,
    subject: &SubjectName,
    test: &TestId,
) -> anyhow::Result<Option<ItemAnalysis>> {
    let results = TestResults::load(store, subject, test)
        .await
        .with_context(|| format!("reading the results of {subject}/{test}"))?;
    let Some(results) = results.filter(|r| !r.scores.is_empty()) else {
        return Ok(None);
    };
    let questions: Option<Vec<Question>> =
        store_json::read(store, &layout::questions(subject, test)).await?;
    let key: Option<Vec<KeyEntry>> =
        store_json::read(store, &layout::answer_key(subject, test)).await?;
    let each = |visit: &mut dyn FnMut(&Score)| {
        for s in results.scores.values() {
            visit(s);
        }
    };
    // Without the questions (a test taken down), the results say what was asked.
    let items = match questions {
        Some(q) if !q.is_empty() => items_of(&q, &key.unwrap_or_default()),
        _ => items_from_scores(each),
    };
    Ok(Some(analyse_scores(&items, each)))
}

fn render(
    format: Format,
    subject: &SubjectName,
    test: &TestId,
    analysis: &ItemAnalysis,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Text => {
            let mut out = format!("{subject} / {test}\n");
            items_render::text(&mut out, analysis);
            out
        }
        Format::Json => {
            let doc = serde_json::json!({
                "subject": subject,
                "test": test,
                "statistics": analysis.test,
                "items": analysis.items,
            });
            serde_json::to_string_pretty(&doc)?
        }
        Format::Csv => {
            let mut out = vec![];
            items_render::item_analysis_csv([(subject, test, analysis)], &mut out)?;
            String::from_utf8(out)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ework_domain::scoring::sample::{self, SeedSpec};
    use ework_domain::testing::MemoryStore;

    async fn seeded() -> MemoryStore {
        let store = MemoryStore::new();
        let spec = SeedSpec {
            students: 3,
            tests: 1,
            questions: 2,
            due_at: chrono::DateTime::parse_from_rfc3339("2025-11-24T22:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
            email_domain: "example.com".into(),
            concurrency: 1,
        };
        sample::seed(&store, &spec).await.unwrap();
        store
    }

    #[tokio::test]
    async fn a_test_without_results_has_no_analysis() {
        let store = seeded().await;
        let got = analysis_of(&store, &sample::subject_of(0), &sample::test_of(0))
            .await
            .unwrap();
        assert!(got.is_none());
    }

    #[test]
    fn each_format_shows_the_analysis() {
        let (s, t) = (sample::subject_of(0), sample::test_of(0));
        let analysis = ItemAnalysis::default();
        let text = render(Format::Text, &s, &t, &analysis).unwrap();
        assert!(
            text.starts_with(&format!("{s} / {t}\nItem analysis: n 0,")),
            "{text}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(Format::Json, &s, &t, &analysis).unwrap()).unwrap();
        assert_eq!(json["statistics"]["n"], 0);
        assert_eq!(json["statistics"]["alpha"], serde_json::Value::Null);
        let csv = render(Format::Csv, &s, &t, &analysis).unwrap();
        assert!(csv.starts_with("subject,test,questionId,n,facility,discrimination,"));
    }
}
