//! `trainer student export|erase`: everything stored about one student, as one JSON
//! document, or removed with every version (GDPR access and erasure requests).
//!
//! A student's objects are found by key: any object with the student id as a whole
//! path segment (submissions, receipts, scores, the scorer's email ledger), plus their
//! roster entry and key records, which live in shared objects. On the local stack the
//! outbox (the stand-in for sent email) holds the emails addressed to them too.

use crate::target::{Opened, Target};
use anyhow::{bail, Context};
use chrono::Utc;
use ework_domain::ids::StudentId;
use ework_domain::keys;
use ework_domain::layout::{self, ObjectKey};
use ework_domain::model::Roster;
use ework_domain::ports::ObjectStore;
use ework_domain::store_json;
use serde_json::{json, Value};
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
    /// Remove everything stored about a student: submissions, receipts, scores, email
    /// ledger, keys and roster entry, with every stored version.
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

/// Keys of every object that belongs to one student alone.
async fn student_objects(
    store: &dyn ObjectStore,
    student: &StudentId,
) -> anyhow::Result<Vec<ObjectKey>> {
    let all = store.list("").await?;
    Ok(all
        .into_iter()
        .map(|o| o.key)
        .filter(|k| k.segments().any(|seg| seg == student.as_str()))
        .collect())
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
    let registry = keys::load(store).await?;
    let key_records: Vec<_> = registry.for_student(student).collect();
    let mut objects = Vec::new();
    for key in student_objects(store, student).await? {
        if let Some(bytes) = store.get(&key).await? {
            objects.push(json!({"key": key.as_str(), "content": decoded(&bytes)}));
        }
    }
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
        "keys": key_records,
        "objects": objects,
        "outboxEmails": emails,
    }))
}

async fn erase(opened: &Opened, student: &StudentId, yes: bool) -> anyhow::Result<ExitCode> {
    let store = opened.store.as_ref();
    let roster: Roster = store_json::read(store, &layout::roster())
        .await?
        .unwrap_or_default();
    let registry = keys::load(store).await?;
    let key_count = registry.for_student(student).count();
    let objects = student_objects(store, student).await?;
    let on_roster = roster.find(student).is_some();
    let emails = match roster.find(student) {
        Some(entry) => outbox_emails_to(opened, &entry.email)?,
        None => Vec::new(),
    };
    if !on_roster && key_count == 0 && objects.is_empty() && emails.is_empty() {
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
    for key in &objects {
        let versions = store.purge(key).await?;
        println!("  removed {key} ({versions} version(s))");
    }
    // The roster and key registry are shared objects whose older versions still name
    // the student: rewrite them with a history of one version.
    let kept = Roster(
        roster
            .0
            .iter()
            .filter(|s| &s.student_id != student)
            .cloned()
            .collect(),
    );
    if store.get(&layout::roster()).await?.is_some() {
        rewrite_without_history(store, &layout::roster(), serde_json::to_vec_pretty(&kept)?)
            .await?;
        if on_roster {
            println!("  removed the roster entry (older roster versions purged)");
        }
    }
    if let Some(bytes) = store.get(&layout::key_registry()).await? {
        rewrite_without_history(store, &layout::key_registry(), bytes).await?;
    }
    for (path, _) in &emails {
        std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
        println!("  removed {}", path.display());
    }
    let left = student_objects(store, student).await?;
    if !left.is_empty() {
        bail!("some objects of {student} are still there (written meanwhile?): {left:?}; run erase again");
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

/// Replaces an object's whole history with one version holding `bytes`.
async fn rewrite_without_history(
    store: &dyn ObjectStore,
    key: &ObjectKey,
    bytes: Vec<u8>,
) -> anyhow::Result<()> {
    store.purge(key).await?;
    store.put(key, bytes).await.with_context(|| {
        format!("{key} was purged but could not be written back; run `trainer sync` (roster) or re-issue keys")
    })
}
