//! `trainer score --rescore SUBJECT TEST [--student ID]`: asks the scorer to grade a
//! scored test again, for everyone or for one student (an accepted appeal), by
//! writing the test's rescore request; the pass that follows handles it.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use ework_domain::ids::{StudentId, SubjectName, TestId};
use ework_domain::layout;
use ework_domain::model::Catalog;
use ework_domain::ports::ObjectStore;
use ework_domain::scoring::ledger;
use ework_domain::scoring::results::TestResults;
use ework_domain::store_json;

/// Writes the rescore request for `ids` (`[subject, test]`), folded into one that is
/// already waiting, after checking there is something to rescore.
pub async fn ask(
    store: &dyn ObjectStore,
    ids: &[String],
    student: Option<&str>,
    now: DateTime<Utc>,
    dry_run: bool,
) -> anyhow::Result<()> {
    let [subject, test] = ids else {
        bail!("--rescore takes a subject and a test id");
    };
    let subject = SubjectName::parse(subject.as_str())
        .with_context(|| format!("--rescore subject {subject:?}"))?;
    let test = TestId::parse(test.as_str()).with_context(|| format!("--rescore test {test:?}"))?;
    let student = student
        .map(|s| StudentId::parse(s).with_context(|| format!("--student {s:?}")))
        .transpose()?;
    let catalog: Option<Catalog> = store_json::read(store, &layout::catalog()).await?;
    let published = catalog
        .iter()
        .flat_map(|c| &c.tests)
        .any(|t| t.subject == subject && t.test_id == test);
    if !published {
        bail!("{subject}/{test} is not a published test");
    }
    let results = TestResults::load(store, &subject, &test).await?;
    let Some(results) = results.filter(|r| !r.scores.is_empty()) else {
        bail!("{subject}/{test} has no results yet; nothing to rescore (it is graded by the first pass after its deadline)");
    };
    if let Some(s) = &student {
        if !results.scores.contains_key(s) {
            bail!("{s} has no result in {subject}/{test}; nothing to rescore");
        }
    }
    let whom = student
        .as_ref()
        .map_or_else(|| "every student".to_owned(), |s| s.to_string());
    if dry_run {
        eprintln!("Dry run: a rescore of {subject}/{test} for {whom} would be asked for; nothing written.");
        return Ok(());
    }
    let marker = layout::rescore_marker(&subject, &test);
    let waiting = store.get(&marker).await?;
    let body = ledger::rescore_request(waiting.as_deref(), &subject, &test, student.as_ref(), now);
    store.put(&marker, body).await?;
    eprintln!("Asked for a rescore of {subject}/{test} for {whom}.");
    Ok(())
}
