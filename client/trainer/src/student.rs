//! `trainer student export|erase`: everything stored about one student, as one JSON
//! document, or removed with every version (GDPR access and erasure requests).
//!
//! A student's own objects are found by key: any object with the student id as a whole
//! path segment (submissions, receipts). The rest lives in shared objects: their roster
//! entry and key records, their results in each test's results object and the
//! scorer's journal of sent emails. Erasing rewrites those without them and purges
//! their older versions. On the local stack the outbox (the stand-in for sent email)
//! holds the emails addressed to them too.

use crate::target::{Opened, Target};
use anyhow::{bail, Context};
use chrono::Utc;
use ework_domain::ids::{StudentId, SubjectName, TestId};
use ework_domain::keys;
use ework_domain::layout::{self, ObjectKey, JOURNAL_PREFIX};
use ework_domain::model::{Question, Roster};
use ework_domain::ports::ObjectStore;
use ework_domain::scoring::ledger::{Lease, LeaseError};
use ework_domain::scoring::results::{fill_texts, JournalWave, TestResults};
use ework_domain::store_json;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print (or write) everything stored about a student as one JSON document.
    Export {
        /// The student (as in studentsList.json).
        student: StudentId,
        /// Write the document here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        target: Target,
    },
    /// Remove everything stored about a student: submissions, receipts, keys, roster
    /// entry, results and the scorer's records of their emails, with every stored version.
    Erase {
        /// The student (as in studentsList.json).
        student: StudentId,
        /// Really erase (without it, only list what would be removed).
        #[arg(long)]
        yes: bool,
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Export {
            student,
            output,
            target,
        } => {
            let opened = target.open().await?;
            let doc = export(&opened, &student).await?;
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match output {
                Some(path) => {
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "Wrote everything stored about {student} to {}",
                        path.display()
                    );
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Erase {
            student,
            yes,
            target,
        } => {
            let opened = target.open().await?;
            erase(&opened, &student, yes).await
        }
    }
}

const RESULTS_PREFIX: &str = "_system/results/";

/// Keys of every object that belongs to one student alone.
async fn student_objects(
    store: &dyn ObjectStore,
    student: &StudentId,
) -> anyhow::Result<Vec<ObjectKey>> {
    let all = store.list("").await?;
    Ok(all
        .into_iter()
        .map(|o| o.key)
        // A shared object is rewritten, never removed, even when a segment of its key
        // (a subject, a pass) happens to equal the student id.
        .filter(|k| !is_shared(k))
        .filter(|k| k.segments().any(|seg| seg == student.as_str()))
        .collect())
}

fn is_shared(key: &ObjectKey) -> bool {
    key.as_str().starts_with(RESULTS_PREFIX) || key.as_str().starts_with(JOURNAL_PREFIX)
}

/// A scorer object shared by many students that names this one.
struct Shared {
    key: ObjectKey,
    /// What it holds about the student (for the export).
    theirs: Value,
    /// Its content without them.
    without: Vec<u8>,
}

/// Every results object and journal wave that names the student.
async fn shared_objects(
    store: &dyn ObjectStore,
    student: &StudentId,
) -> anyhow::Result<Vec<Shared>> {
    let mut found = Vec::new();
    for o in store.list(RESULTS_PREFIX).await? {
        let Some(bytes) = store.get(&o.key).await? else {
            continue;
        };
        let Some(mut results) = parsed::<TestResults>(&o.key, &bytes, student)? else {
            continue;
        };
        let score = results.scores.get(student).map(|s| s.as_ref().clone());
        let notified = results.notified.get(student).copied();
        if !results.remove_student(student) {
            continue;
        }
        // Stored results leave out the question texts; the export puts them back so
        // the student reads what they were asked.
        let (subject, test) = results_test(&o.key);
        let score = match (score, &subject, &test) {
            (Some(mut score), Some(subject), Some(test)) => {
                let questions: Option<Vec<Question>> =
                    store_json::read(store, &layout::questions(subject, test))
                        .await
                        .ok()
                        .flatten();
                fill_texts(&mut score, questions.as_deref().unwrap_or_default());
                Some(score)
            }
            (score, _, _) => score,
        };
        found.push(Shared {
            theirs: json!({
                "key": o.key.as_str(),
                "subject": subject,
                "testId": test,
                "score": score,
                "notifiedRevision": notified,
            }),
            without: serde_json::to_vec(&results)?,
            key: o.key,
        });
    }
    for o in store.list(JOURNAL_PREFIX).await? {
        let Some(bytes) = store.get(&o.key).await? else {
            continue;
        };
        let Some(mut wave) = parsed::<JournalWave>(&o.key, &bytes, student)? else {
            continue;
        };
        let items: Vec<_> = wave
            .items
            .iter()
            .filter(|n| &n.student_id == student)
            .cloned()
            .collect();
        if !wave.remove_student(student) {
            continue;
        }
        found.push(Shared {
            theirs: json!({"key": o.key.as_str(), "sentAt": wave.sent_at, "items": items}),
            // An emptied wave stays (as an empty one): the scorer numbers its waves.
            without: serde_json::to_vec(&wave)?,
            key: o.key,
        });
    }
    Ok(found)
}

/// `_system/results/<subject>/<test>/results.json` back into its ids.
fn results_test(key: &ObjectKey) -> (Option<SubjectName>, Option<TestId>) {
    let mut it = key
        .as_str()
        .strip_prefix(RESULTS_PREFIX)
        .unwrap_or("")
        .split('/');
    (
        it.next().and_then(|s| SubjectName::parse(s).ok()),
        it.next().and_then(|t| TestId::parse(t).ok()),
    )
}

/// Parses a shared object. One that does not parse but names the student cannot be
/// rewritten without them, so that is an error rather than something to skip.
fn parsed<T: serde::de::DeserializeOwned>(
    key: &ObjectKey,
    bytes: &[u8],
    student: &StudentId,
) -> anyhow::Result<Option<T>> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Ok(Some(value)),
        Err(e) if mentions(bytes, student.as_str()) => {
            bail!("{key} names {student} but is not valid ({e}); fix or remove it by hand")
        }
        Err(_) => Ok(None),
    }
}

fn mentions(bytes: &[u8], text: &str) -> bool {
    bytes.windows(text.len()).any(|w| w == text.as_bytes())
}

fn decoded(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

async fn export(opened: &Opened, student: &StudentId) -> anyhow::Result<Value> {
    let store = opened.store.as_ref();
    let roster: Roster = store_json::read(store, &layout::roster())
        .await?
        .unwrap_or_default();
    let keyring = keys::keyring(store, student).await?;
    let mut objects = Vec::new();
    for key in student_objects(store, student).await? {
        if let Some(bytes) = store.get(&key).await? {
            objects.push(json!({"key": key.as_str(), "content": decoded(&bytes)}));
        }
    }
    let shared = shared_objects(store, student).await?;
    let (results, journal): (Vec<_>, Vec<_>) = shared
        .into_iter()
        .partition(|s| s.key.as_str().starts_with(RESULTS_PREFIX));
    let emails: Vec<Value> = match roster.find(student) {
        Some(entry) => outbox_emails_to(opened, &entry.email)?
            .into_iter()
            .map(|(path, text)| json!({"file": path.display().to_string(), "content": text}))
            .collect(),
        None => Vec::new(),
    };
    Ok(json!({
        "studentId": student,
        "exportedAt": Utc::now(),
        "source": opened.description,
        "rosterEntry": roster.find(student),
        "keys": keyring.keys,
        "retiredKeys": keyring.retired,
        "objects": objects,
        "results": results.into_iter().map(|s| s.theirs).collect::<Vec<_>>(),
        "scorerJournal": journal.into_iter().map(|s| s.theirs).collect::<Vec<_>>(),
        "outboxEmails": emails,
    }))
}

async fn erase(opened: &Opened, student: &StudentId, yes: bool) -> anyhow::Result<ExitCode> {
    let store = opened.store.as_ref();
    let roster: Roster = store_json::read(store, &layout::roster())
        .await?
        .unwrap_or_default();
    let key_count = keys::keyring(store, student).await?.keys.len();
    let objects = student_objects(store, student).await?;
    let shared = shared_objects(store, student).await?;
    let on_roster = roster.find(student).is_some();
    let emails = match roster.find(student) {
        Some(entry) => outbox_emails_to(opened, &entry.email)?,
        None => Vec::new(),
    };
    if !on_roster && key_count == 0 && objects.is_empty() && shared.is_empty() && emails.is_empty()
    {
        println!(
            "Nothing is stored about {student} on {}.",
            opened.description
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        println!("Would erase from {}:", opened.description);
        if on_roster {
            println!("  roster entry of {student}");
        }
        if key_count > 0 {
            println!("  {key_count} key(s)");
        }
        for key in &objects {
            println!("  {key}");
        }
        for s in &shared {
            println!("  their entries in {} (older versions purged)", s.key);
        }
        for (path, _) in &emails {
            println!("  {}", path.display());
        }
        println!("Nothing was removed; run again with --yes to erase.");
        return Ok(ExitCode::SUCCESS);
    }

    println!("Erasing {student} from {}:", opened.description);
    // Keys first: from here on the student's key opens nothing.
    let revoked = crate::keys::revoke(opened, student).await?;
    if !revoked.is_empty() {
        println!("  revoked {} key(s)", revoked.len());
    }
    // The scorer rewrites the results objects too: holding its lease keeps a pass
    // from writing back a copy read before the student was taken out.
    let now = Utc::now();
    let lease = match Lease::acquire(store, now, now + chrono::Duration::minutes(15)).await {
        Ok(lease) => lease,
        Err(LeaseError::Busy(until)) => {
            bail!("a scorer run is under way (its lease ends at {until}); erase again after it")
        }
        Err(LeaseError::Store(e)) => return Err(e.into()),
    };
    let outcome = erase_from_shared(store, student, &objects).await;
    lease.release(store).await?;
    outcome?;
    // Their own objects go after the shared ones: until then they tell a rerun which
    // tests' results may still keep them in an older version.
    for key in &objects {
        let versions = store.purge(key).await?;
        println!("  removed {key} ({versions} version(s))");
    }
    // The roster is a shared object (a `trainer sync` may write it meanwhile): take
    // the student out by compare-and-swap, then purge the versions that name them.
    if store.get(&layout::roster()).await?.is_some() {
        store_json::update(store, &layout::roster(), |r: &mut Roster| {
            r.0.retain(|s| &s.student_id != student);
            Ok::<_, anyhow::Error>(())
        })
        .await?;
        store.purge_history(&layout::roster()).await.context(
            "the roster was rewritten but its older versions are still there; run the erase again",
        )?;
        if on_roster {
            println!("  removed the roster entry (older roster versions purged)");
        }
    }
    // Revoking emptied their keyring; its name and history still name them.
    store.purge(&layout::keyring(student)).await?;
    for (path, _) in &emails {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
        println!("  removed {}", path.display());
    }
    let left = student_objects(store, student).await?;
    if !left.is_empty() {
        bail!("some objects of {student} are still there (written meanwhile?): {left:?}; run erase again");
    }
    let named: Vec<ObjectKey> = shared_objects(store, student)
        .await?
        .into_iter()
        .map(|s| s.key)
        .collect();
    if !named.is_empty() {
        bail!("some results or journal objects still name {student} (written meanwhile?): {named:?}; run erase again");
    }
    println!(
        "Done. Remove {student} from the course folder's studentsList.json too, or the next sync adds them back."
    );
    Ok(ExitCode::SUCCESS)
}

/// The local stack's outbox emails addressed to `email` (their `To:` header names it).
fn outbox_emails_to(opened: &Opened, email: &str) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let Some(dir) = &opened.local_dir else {
        return Ok(Vec::new());
    };
    let outbox = crate::score::local_outbox(dir);
    let Ok(entries) = std::fs::read_dir(&outbox) else {
        return Ok(Vec::new());
    };
    let wanted = email.to_ascii_lowercase();
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", outbox.display()))?
            .path();
        if !path.is_file() {
            continue;
        }
        let text = String::from_utf8_lossy(
            &std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        )
        .into_owned();
        let to_them = text
            .lines()
            .take_while(|l| !l.is_empty())
            .filter(|l| l.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("to:")))
            .any(|l| l.to_ascii_lowercase().contains(&wanted));
        if to_them {
            found.push((path, text));
        }
    }
    found.sort();
    Ok(found)
}

/// Takes the student out of every results object and journal wave, current and older
/// versions. `own` are the student's own objects, still there: the tests their
/// submissions name get their results' history purged even when the current version
/// no longer names them (an erase that stopped between the rewrite and the purge).
async fn erase_from_shared(
    store: &dyn ObjectStore,
    student: &StudentId,
    own: &[ObjectKey],
) -> anyhow::Result<()> {
    // Read again under the lease: the scorer may have written since the dry listing.
    let mut done = BTreeSet::new();
    for s in shared_objects(store, student).await? {
        let old = rewrite_without_history(store, &s.key, s.without).await?;
        println!(
            "  removed their entries from {} ({old} older version(s) purged)",
            s.key
        );
        done.insert(s.key);
    }
    let their_tests = own
        .iter()
        .filter_map(|k| layout::parse_student_object(k.as_str()))
        .filter(|o| &o.student == student)
        .map(|o| layout::results(&o.subject, &o.test));
    // A journal wave lives only until the next scorer pass; its history is worth nothing.
    let journal = store.list(JOURNAL_PREFIX).await?.into_iter().map(|o| o.key);
    let leftovers: BTreeSet<ObjectKey> = their_tests.chain(journal).collect();
    for key in leftovers.difference(&done) {
        let old = store.purge_history(key).await?;
        if old > 0 {
            println!("  purged {old} older version(s) of {key}");
        }
    }
    Ok(())
}

/// Replaces an object's whole history with one version holding `bytes`; returns how
/// many older versions went.
///
/// The new content is written before the history is purged, so a failure in between
/// leaves old versions behind (erase again) but never loses what others keep there.
async fn rewrite_without_history(
    store: &dyn ObjectStore,
    key: &ObjectKey,
    bytes: Vec<u8>,
) -> anyhow::Result<usize> {
    store.put(key, bytes).await?;
    store.purge_history(key).await.with_context(|| {
        format!("{key} was rewritten but its older versions are still there; run the erase again")
    })
}
