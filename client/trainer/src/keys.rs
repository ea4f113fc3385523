//! `trainer keys`: issue, rotate, revoke and list students' personal API keys.
//!
//! The registry in the store (hashes only) is what the functions check. On a deployed
//! stack the same key value is also an API Gateway API key on the stack's usage plan,
//! so API Gateway throttles each student separately; revoking removes both. A stack
//! whose `StudentKeysInApiGateway` output is "false" keeps only the registry.

use crate::outln;
use crate::target::{Opened, Target};
use anyhow::{bail, Context};
use chrono::Utc;
use ework_domain::deadline::display_in;
use ework_domain::ids::StudentId;
use ework_domain::keys::{self, KeyRecord, PlainKey};
use ework_domain::layout;
use ework_domain::model::Roster;
use ework_domain::store_json;
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Issue a key to a student (or to every student without one) and show it once.
    Issue {
        /// The student (as in studentsList.json).
        #[arg(required_unless_present = "missing")]
        student: Option<StudentId>,
        /// Issue a key to every student on the roster who has none.
        #[arg(long, conflicts_with = "student")]
        missing: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Replace a student's keys with a new one (the old ones stop working at once).
    Rotate {
        student: StudentId,
        #[command(flatten)]
        target: Target,
    },
    /// Remove every key of a student.
    Revoke {
        student: StudentId,
        #[command(flatten)]
        target: Target,
    },
    /// List the issued keys (never their values: only hashes are stored).
    List {
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Issue {
            student,
            missing,
            target,
        } => {
            let opened = target.open().await?;
            let roster = roster(&opened).await?;
            let holders = holders(&opened).await?;
            let students: Vec<StudentId> = match student {
                Some(id) => {
                    if roster.find(&id).is_none() {
                        bail!("{id} is not on the roster of {}; add them to studentsList.json and sync first", opened.description);
                    }
                    if holders.contains(&id) {
                        bail!(
                            "{id} already has a key; use `trainer keys rotate {id}` to replace it"
                        );
                    }
                    vec![id]
                }
                None if missing => roster
                    .0
                    .iter()
                    .map(|s| s.student_id.clone())
                    .filter(|id| !holders.contains(id))
                    .collect(),
                None => bail!("name a student, or pass --missing"),
            };
            if students.is_empty() {
                outln!("Every student on the roster already has a key.")?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "New keys on {} (shown once; hand each to its student):",
                opened.description
            )?;
            for id in students {
                let (key, _) = issue(&opened, &id).await?;
                outln!("  {id}  {}", key.expose())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Rotate { student, target } => {
            let opened = target.open().await?;
            if roster(&opened).await?.find(&student).is_none() {
                bail!("{student} is not on the roster of {}", opened.description);
            }
            // One swap replaces the old keys: there is no moment without a key, and
            // of concurrent rotations exactly the last one's key works.
            let (key, revoked) = issue(&opened, &student).await?;
            outln!(
                "Revoked {} old key(s) of {student}. New key (shown once):\n  {student}  {}",
                revoked.len(),
                key.expose()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Revoke { student, target } => {
            let opened = target.open().await?;
            let revoked = revoke(&opened, &student).await?;
            if revoked.is_empty() {
                outln!(
                    "{student} has no key on {}; nothing to revoke.",
                    opened.description
                )?;
            } else {
                outln!("Revoked {} key(s) of {student}.", revoked.len())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List { target } => {
            let opened = target.open().await?;
            let store = opened.store.as_ref();
            let mut issued = Vec::new();
            for id in keys::students_with_keys(store).await? {
                issued.extend(keys::keyring(store, &id).await?.keys);
            }
            let roster = roster(&opened).await?;
            let tz = opened.time_zone(None)?;
            if issued.is_empty() {
                outln!("No keys issued on {}.", opened.description)?;
            }
            for k in &issued {
                let mut notes = Vec::new();
                if roster.find(&k.student_id).is_none() {
                    notes.push("not on the roster".to_owned());
                }
                if let Some(t) = k.expires_at {
                    notes.push(format!("expires {}", display_in(t, tz)));
                }
                if let Some(id) = &k.gateway_key_id {
                    notes.push(format!("API Gateway key {id}"));
                }
                outln!(
                    "{:<20} issued {}  sha256 {}…  {}",
                    k.student_id.as_str(),
                    display_in(k.created_at, tz),
                    k.sha256.as_str().get(..12).unwrap_or_default(),
                    notes.join(", ")
                )?;
            }
            let without: Vec<&str> = roster
                .0
                .iter()
                .filter(|s| !issued.iter().any(|k| k.student_id == s.student_id))
                .map(|s| s.student_id.as_str())
                .collect();
            if !without.is_empty() {
                outln!(
                    "Without a key: {} (`trainer keys issue --missing`)",
                    without.join(", ")
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Students who hold a key (after moving a registry of an earlier version over).
async fn holders(opened: &Opened) -> anyhow::Result<Vec<StudentId>> {
    let store = opened.store.as_ref();
    keys::migrate_legacy(store)
        .await
        .context("moving the key registry of an earlier version")?;
    Ok(keys::students_with_keys(store).await?)
}

async fn roster(opened: &Opened) -> anyhow::Result<Roster> {
    Ok(store_json::read(opened.store.as_ref(), &layout::roster())
        .await?
        .unwrap_or_default())
}

/// Issues one key, replacing any the student had: on a stack, the API Gateway key
/// first (so a key in the registry always works at the gateway too), then the
/// registry, then the replaced keys' gateway keys go. Returns the key and the
/// replaced records.
pub async fn issue(
    opened: &Opened,
    student: &StudentId,
) -> anyhow::Result<(PlainKey, Vec<KeyRecord>)> {
    let key = PlainKey::generate();
    let gateway_key_id = match gateway(opened)? {
        Some((client, plan)) => {
            Some(create_gateway_key(&client, plan, opened, student, &key).await?)
        }
        None => None,
    };
    let replaced = match keys::issue(
        opened.store.as_ref(),
        student,
        &key,
        Utc::now(),
        gateway_key_id.clone(),
    )
    .await
    {
        Ok(replaced) => replaced,
        Err(e) => {
            if let (Some(id), Some((client, plan))) = (&gateway_key_id, gateway(opened)?) {
                // Best effort: do not leave a gateway key nobody knows about.
                let _ = delete_gateway_key(&client, plan, id).await;
            }
            return Err(e).context("saving the key registry");
        }
    };
    delete_gateway_keys(opened, &replaced).await?;
    Ok((key, replaced))
}

/// Revokes every key of a student: the registry first (the functions stop accepting
/// the key at once), then the matching API Gateway keys.
pub async fn revoke(opened: &Opened, student: &StudentId) -> anyhow::Result<Vec<KeyRecord>> {
    let revoked = keys::revoke(opened.store.as_ref(), student).await?;
    delete_gateway_keys(opened, &revoked).await?;
    Ok(revoked)
}

/// Removes the API Gateway keys of records already gone from the registry.
async fn delete_gateway_keys(opened: &Opened, gone: &[KeyRecord]) -> anyhow::Result<()> {
    if let Some((client, plan)) = gateway(opened)? {
        for id in gone.iter().filter_map(|k| k.gateway_key_id.as_deref()) {
            delete_gateway_key(&client, plan, id)
                .await
                .with_context(|| format!("deleting API Gateway key {id} (the key is already revoked in the registry)"))?;
        }
    }
    Ok(())
}

/// Detaches a key from the usage plan and deletes it; a key already gone is fine.
async fn delete_gateway_key(
    client: &aws_sdk_apigateway::Client,
    plan: &str,
    id: &str,
) -> anyhow::Result<()> {
    let detached = client
        .delete_usage_plan_key()
        .usage_plan_id(plan)
        .key_id(id)
        .send()
        .await;
    match detached {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) => {}
        Err(e) => {
            return Err(anyhow::anyhow!(
                aws_sdk_apigateway::error::DisplayErrorContext(e)
            ))
        }
    }
    match client.delete_api_key().api_key(id).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(anyhow::anyhow!(
            aws_sdk_apigateway::error::DisplayErrorContext(e)
        )),
    }
}

/// The API Gateway client and usage plan, on a stack that keeps student keys in API
/// Gateway; nothing locally or when the stack says `StudentKeysInApiGateway` false
/// (no usage plan there, and the trainer's policy grants no API Gateway calls).
fn gateway(opened: &Opened) -> anyhow::Result<Option<(aws_sdk_apigateway::Client, &str)>> {
    match (&opened.stack, &opened.aws) {
        (Some(stack), Some(aws)) => Ok(stack
            .key_usage_plan()?
            .map(|plan| (aws_sdk_apigateway::Client::new(aws), plan))),
        _ => Ok(None),
    }
}

async fn create_gateway_key(
    client: &aws_sdk_apigateway::Client,
    usage_plan: &str,
    opened: &Opened,
    student: &StudentId,
    key: &PlainKey,
) -> anyhow::Result<String> {
    let stack = opened
        .stack
        .as_ref()
        .map_or("ework", |s| s.stack_name.as_str());
    let created = client
        .create_api_key()
        .name(format!(
            "{stack}-{student}-{}",
            Utc::now().format("%Y%m%dT%H%M%S")
        ))
        .description(format!("Ework Trainings key of {student} (stack {stack})"))
        .value(key.expose())
        .enabled(true)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_apigateway::error::DisplayErrorContext(e)))
        .context("creating the API Gateway key")?;
    let id = created
        .id()
        .context("API Gateway returned a key without an id")?
        .to_owned();
    let attached = client
        .create_usage_plan_key()
        .usage_plan_id(usage_plan)
        .key_id(&id)
        .key_type("API_KEY")
        .send()
        .await;
    if let Err(e) = attached {
        let _ = client.delete_api_key().api_key(&id).send().await;
        return Err(anyhow::anyhow!(
            aws_sdk_apigateway::error::DisplayErrorContext(e)
        ))
        .with_context(|| format!("attaching the key to usage plan {usage_plan}"));
    }
    Ok(id)
}
