//! `trainer student export|erase`: everything stored about one student, as one JSON
//! document, or removed with every version (GDPR access and erasure requests).
//!
//! Which objects are the student's and how shared objects are filtered is the
//! domain's rule (`ework_domain::privacy`); this module reads, writes and prints.
//! Erasing rewrites the shared objects without them and purges their older
//! versions. On the local stack the outbox (the stand-in for sent email) holds the
//! emails addressed to them too.

use crate::target::{Opened, Target};
use anyhow::{bail, Context};
use chrono::Utc;
use ework_domain::ids::StudentId;
use ework_domain::keys;
use ework_domain::layout::{self, ObjectKey, JOURNAL_PREFIX};
use ework_domain::model::Roster;
use ework_domain::ports::ObjectStore;
use ework_domain::privacy::{self, own_objects, shared_entries, Theirs};
use ework_domain::scoring::ledger::{Lease, LeaseError};
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
    for key in own_objects(store, student).await? {
        if let Some(bytes) = store.get(&key).await? {
            objects.push(json!({"key": key.as_str(), "content": decoded(&bytes)}));
        }
    }
    let shared = shared_entries(store, student).await?;
    let (results, journal): (Vec<_>, Vec<_>) = shared
        .into_iter()
        .partition(|s| matches!(s.theirs, Theirs::Result(_)));
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
    let objects = own_objects(store, student).await?;
    let shared = shared_entries(store, student).await?;
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
    let left = own_objects(store, student).await?;
    if !left.is_empty() {
        bail!("some objects of {student} are still there (written meanwhile?): {left:?}; run erase again");
    }
    let named: Vec<ObjectKey> = shared_entries(store, student)
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
    for s in shared_entries(store, student).await? {
        let old = rewrite_without_history(store, &s.key, s.without).await?;
        println!(
            "  removed their entries from {} ({old} older version(s) purged)",
            s.key
        );
        done.insert(s.key);
    }
    let journal = store.list(JOURNAL_PREFIX).await?.into_iter().map(|o| o.key);
    for key in &privacy::histories_to_purge(own, student, journal, &done) {
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
