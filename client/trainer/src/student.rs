//! `trainer student export|erase`: everything stored about one student, as one JSON
//! document, or removed with every version (GDPR access and erasure requests).
//!
//! Which objects are the student's and how shared objects are filtered is the
//! domain's rule (`ework_domain::privacy`); this module reads, writes and prints.
//! Erasing rewrites the shared objects without them and purges their older
//! versions. On the local stack the outbox (the stand-in for sent email) holds the
//! emails addressed to them, which go, and the trainer's reports that name them,
//! whose lines about them are taken out. An export holds every stored version.

use crate::eml::{self, Needles};
use crate::outln;
use crate::target::{Opened, Target};
use crate::versions;
use anyhow::{bail, Context};
use chrono::Utc;
use ework_domain::ids::StudentId;
use ework_domain::keys;
use ework_domain::layout::{self, ObjectKey, JOURNAL_PREFIX};
use ework_domain::model::{Roster, Student};
use ework_domain::ports::ObjectStore;
use ework_domain::privacy::{self, own_objects, shared_entries, SharedEntries, Theirs};
use ework_domain::scoring::ledger::{Lease, LeaseError};
use ework_domain::store_json;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print (or write) everything stored about a student as one JSON document: every
    /// stored version of their objects, their entries in shared ones, and on the local
    /// stack the outbox emails to them and the report lines about them.
    Export {
        /// The student (as in studentsList.json).
        student: StudentId,
        /// Write the document here (mode 0600) instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Replace the file given with --output if it exists.
        #[arg(long, requires = "output")]
        force: bool,
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
            force,
            target,
        } => {
            // Refused before anything is read: an existing file is not replaced by accident.
            if let Some(path) = output.as_deref().filter(|p| p.exists() && !force) {
                bail!(
                    "{} exists; choose another file, or add --force to replace it",
                    path.display()
                );
            }
            let opened = target.open().await?;
            let doc = export(&opened, &student).await?;
            let text = serde_json::to_string_pretty(&doc)? + "\n";
            match output {
                Some(path) => {
                    write_private(&path, text.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!(
                        "Wrote everything stored about {student} to {} (readable only by you)",
                        path.display()
                    );
                }
                None => {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                        other => other.context("writing the export")?,
                    }
                }
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

/// Writes a file only its owner can read (it holds personal data), replacing one that
/// exists (the caller decided that) by a rename, so a reader never sees half of it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".export-")
        .tempfile_in(dir)?;
    // tempfile creates it 0600 already; said again for the reader of this code.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The words that name a student in an email: id, address and name.
fn needles(student: &StudentId, entry: Option<&Student>) -> Needles {
    let mut terms = vec![student.as_str()];
    if let Some(entry) = entry {
        terms.push(entry.email.as_str());
        if let Some(name) = &entry.name {
            terms.push(name.as_str());
        }
    }
    Needles::new(terms)
}

async fn export(opened: &Opened, student: &StudentId) -> anyhow::Result<Value> {
    let store = opened.store.as_ref();
    let roster: Roster = store_json::read(store, &layout::roster())
        .await?
        .unwrap_or_default();
    let entry = roster.find(student);
    let keyring = keys::keyring(store, student).await?;
    let mut objects = Vec::new();
    for key in own_objects(store, student).await? {
        let older = versions::older_versions(opened, &key).await?;
        let current = store.get(&key).await?;
        if current.is_none() && older.is_empty() {
            continue;
        }
        objects.push(json!({
            "key": key.as_str(),
            "content": current.as_deref().map(decoded),
            "olderVersions": older.iter().map(|v| json!({
                "versionId": v.id,
                "storedAt": v.stored_at,
                "content": decoded(&v.bytes),
            })).collect::<Vec<_>>(),
        }));
    }
    let shared = shared_entries(store, student).await?;
    // What older versions of the shared objects held about them (an earlier grade
    // before a rescore, an earlier roster entry).
    let mut earlier = Vec::new();
    for s in shared
        .iter()
        .filter(|s| matches!(s.theirs, Theirs::Result(_)))
    {
        let mut seen = vec![serde_json::to_value(&s.theirs)?];
        for v in versions::older_versions(opened, &s.key).await? {
            if let Some(e) = privacy::split_results(&s.key, &v.bytes, student)? {
                let theirs = serde_json::to_value(&e.theirs)?;
                if !seen.contains(&theirs) {
                    seen.push(theirs.clone());
                    earlier
                        .push(json!({"versionId": v.id, "storedAt": v.stored_at, "entry": theirs}));
                }
            }
        }
    }
    let mut earlier_roster = Vec::new();
    for v in versions::older_versions(opened, &layout::roster()).await? {
        let Ok(old) = serde_json::from_slice::<Roster>(&v.bytes) else {
            continue;
        };
        if let Some(e) = old.find(student).filter(|e| Some(*e) != entry) {
            let e = serde_json::to_value(e)?;
            if !earlier_roster.iter().any(|x: &Value| x["entry"] == e) {
                earlier_roster
                    .push(json!({"versionId": v.id, "storedAt": v.stored_at, "entry": e}));
            }
        }
    }
    let (results, journal): (Vec<_>, Vec<_>) = shared
        .into_iter()
        .partition(|s| matches!(s.theirs, Theirs::Result(_)));
    let outbox = outbox_about(opened, student, entry)?;
    let nothing = entry.is_none()
        && keyring.keys.is_empty()
        && keyring.retired.is_empty()
        && objects.is_empty()
        && results.is_empty()
        && journal.is_empty()
        && earlier_roster.is_empty()
        && outbox.is_empty();
    if nothing {
        bail!(
            "nothing is stored about {student} on {}: not on the roster, and no keys, \
             submissions, results or emails; check the student id",
            opened.description
        );
    }
    let emails: Vec<Value> = outbox
        .iter()
        .filter(|m| m.to_them)
        .map(|m| json!({"file": m.path.display().to_string(), "content": m.text}))
        .collect();
    let mentions: Vec<Value> = outbox
        .iter()
        .filter(|m| !m.to_them)
        .map(|m| json!({"file": m.path.display().to_string(), "lines": m.lines}))
        .collect();
    Ok(json!({
        "studentId": student,
        "exportedAt": Utc::now(),
        "source": opened.description,
        "rosterEntry": entry,
        "earlierRosterEntries": earlier_roster,
        "keys": keyring.keys,
        "retiredKeys": keyring.retired,
        "objects": objects,
        "results": results.into_iter().map(|s| s.theirs).collect::<Vec<_>>(),
        "earlierResults": earlier,
        "scorerJournal": journal.into_iter().map(|s| s.theirs).collect::<Vec<_>>(),
        "outboxEmails": emails,
        "outboxMentions": mentions,
    }))
}

/// What an erase found stored about a student, before removing anything.
struct Found {
    roster: Roster,
    key_count: usize,
    objects: Vec<ObjectKey>,
    shared: Vec<SharedEntries>,
    emails: Vec<OutboxMail>,
}

impl Found {
    async fn read(opened: &Opened, student: &StudentId) -> anyhow::Result<Found> {
        let store = opened.store.as_ref();
        let roster: Roster = store_json::read(store, &layout::roster())
            .await?
            .unwrap_or_default();
        let key_count = keys::keyring(store, student).await?.keys.len();
        let objects = own_objects(store, student).await?;
        let shared = shared_entries(store, student).await?;
        let emails = outbox_about(opened, student, roster.find(student))?;
        Ok(Found {
            roster,
            key_count,
            objects,
            shared,
            emails,
        })
    }

    fn is_empty(&self, student: &StudentId) -> bool {
        self.roster.find(student).is_none()
            && self.key_count == 0
            && self.objects.is_empty()
            && self.shared.is_empty()
            && self.emails.is_empty()
    }

    /// What `erase` without --yes lists.
    fn print(&self, student: &StudentId) -> std::io::Result<()> {
        if self.roster.find(student).is_some() {
            outln!("  roster entry of {student}")?;
        }
        if self.key_count > 0 {
            outln!("  {} key(s)", self.key_count)?;
        }
        for key in &self.objects {
            outln!("  {key}")?;
        }
        for s in &self.shared {
            outln!("  their entries in {} (older versions purged)", s.key)?;
        }
        for m in &self.emails {
            if m.to_them {
                outln!("  {}", m.path.display())?;
            } else {
                outln!(
                    "  {} line(s) about them in {}",
                    m.lines.len(),
                    m.path.display()
                )?;
            }
        }
        Ok(())
    }
}

async fn erase(opened: &Opened, student: &StudentId, yes: bool) -> anyhow::Result<ExitCode> {
    let found = Found::read(opened, student).await?;
    if found.is_empty(student) {
        outln!(
            "Nothing is stored about {student} on {}.",
            opened.description
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if !yes {
        outln!("Would erase from {}:", opened.description)?;
        found.print(student)?;
        outln!("Nothing was removed; run again with --yes to erase.")?;
        return Ok(ExitCode::SUCCESS);
    }

    outln!("Erasing {student} from {}:", opened.description)?;
    erase_stored(opened, student, &found).await?;
    erase_outbox(student, &found)?;
    let store = opened.store.as_ref();
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
    outln!(
        "Done. Remove {student} from the course folder's studentsList.json too, or the next sync adds them back."
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Removes the student from the store: keys, shared objects (under the scorer's
/// lease), their own objects, the roster and their keyring, with older versions.
async fn erase_stored(opened: &Opened, student: &StudentId, found: &Found) -> anyhow::Result<()> {
    let store = opened.store.as_ref();
    // Keys first: from here on the student's key opens nothing.
    let revoked = crate::keys::revoke(opened, student).await?;
    if !revoked.is_empty() {
        outln!("  revoked {} key(s)", revoked.len())?;
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
    let outcome = erase_from_shared(store, student, &found.objects).await;
    lease.release(store).await?;
    outcome?;
    // Their own objects go after the shared ones: until then they tell a rerun which
    // tests' results may still keep them in an older version.
    for key in &found.objects {
        let versions = store.purge(key).await?;
        outln!("  removed {key} ({versions} version(s))")?;
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
        if found.roster.find(student).is_some() {
            outln!("  removed the roster entry (older roster versions purged)")?;
        }
    }
    // Revoking emptied their keyring; its name and history still name them.
    store.purge(&layout::keyring(student)).await?;
    Ok(())
}

/// The local outbox: emails to the student go, reports lose their lines about them.
fn erase_outbox(student: &StudentId, found: &Found) -> anyhow::Result<()> {
    let names = needles(student, found.roster.find(student));
    for m in &found.emails {
        if m.to_them {
            std::fs::remove_file(&m.path)
                .with_context(|| format!("removing {}", m.path.display()))?;
            outln!("  removed {}", m.path.display())?;
            continue;
        }
        let raw =
            std::fs::read(&m.path).with_context(|| format!("reading {}", m.path.display()))?;
        if let Some(redacted) = eml::redact(&raw, &names) {
            write_private(&m.path, &redacted)
                .with_context(|| format!("rewriting {}", m.path.display()))?;
            outln!(
                "  took {} line(s) about them out of {}",
                m.lines.len(),
                m.path.display()
            )?;
        }
    }
    Ok(())
}

/// An outbox email about a student.
struct OutboxMail {
    path: PathBuf,
    /// Addressed to them (their `To:` header names their address): removed whole.
    to_them: bool,
    /// Its whole text, for one addressed to them.
    text: String,
    /// The decoded lines that name them, for one that is not (a trainer's report).
    lines: Vec<String>,
}

/// The local stack's outbox emails to the student, and those that name them (the
/// trainer's reports: their grade, their missing submission).
fn outbox_about(
    opened: &Opened,
    student: &StudentId,
    entry: Option<&Student>,
) -> anyhow::Result<Vec<OutboxMail>> {
    let Some(dir) = &opened.local_dir else {
        return Ok(Vec::new());
    };
    let outbox = crate::score::local_outbox(dir);
    let Ok(entries) = std::fs::read_dir(&outbox) else {
        return Ok(Vec::new());
    };
    let names = needles(student, entry);
    let wanted = entry.map(|e| e.email.to_ascii_lowercase());
    let mut found = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", outbox.display()))?
            .path();
        let is_eml = path.extension().is_some_and(|e| e == "eml");
        if !path.is_file() || !is_eml {
            continue;
        }
        let raw = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let to_them = wanted.as_ref().is_some_and(|wanted| {
            text.lines()
                .take_while(|l| !l.trim_end_matches('\r').is_empty())
                .filter(|l| l.get(..3).is_some_and(|p| p.eq_ignore_ascii_case("to:")))
                .any(|l| l.to_ascii_lowercase().contains(wanted.as_str()))
        });
        if to_them {
            found.push(OutboxMail {
                path,
                to_them,
                text,
                lines: Vec::new(),
            });
            continue;
        }
        let lines = eml::lines_naming(&raw, &names);
        if !lines.is_empty() {
            found.push(OutboxMail {
                path,
                to_them,
                text: String::new(),
                lines,
            });
        }
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
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
        outln!(
            "  removed their entries from {} ({old} older version(s) purged)",
            s.key
        )?;
        done.insert(s.key);
    }
    let journal = store.list(JOURNAL_PREFIX).await?.into_iter().map(|o| o.key);
    for key in &privacy::histories_to_purge(own, student, journal, &done) {
        let old = store.purge_history(key).await?;
        if old > 0 {
            outln!("  purged {old} older version(s) of {key}")?;
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
