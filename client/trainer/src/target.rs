//! Choosing what the trainer's commands work on: the local stack's data dir, or a
//! deployed stack whose bucket and API are read from its CloudFormation outputs.

use crate::data_dir::{self, Adopt};
use anyhow::{bail, Context};
use ework_adapters::local::LocalStore;
use ework_adapters::s3::{load_aws_config, s3_client, S3Store};
use ework_domain::deadline::{parse_time_zone, DEFAULT_TIME_ZONE};
use ework_domain::ports::ObjectStore;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

/// `--local <data-dir>` or `--stack <name>`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Target {
    /// Work on the local stack's data dir (what `trainer local --data-dir` uses).
    #[arg(long, env = "EWORK_LOCAL_DIR", value_name = "DATA_DIR")]
    pub local: Option<PathBuf>,
    /// Work on a deployed stack: its bucket, API and usage plan come from the stack's
    /// outputs (standard AWS credentials; AWS_ENDPOINT_URL is honoured).
    #[arg(long, env = "EWORK_STACK", value_name = "NAME")]
    pub stack: Option<String>,
}

/// The outputs (and the parameters the trainer needs) of a deployed stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackOutputs {
    pub stack_name: String,
    pub api_url: Option<String>,
    pub api_id: Option<String>,
    pub usage_plan_id: Option<String>,
    /// Whether each student key is also an API Gateway key on the usage plan (output
    /// `StudentKeysInApiGateway`; a stack from before that output does).
    pub student_keys_in_gateway: bool,
    pub bucket: String,
    /// KMS key of the bucket (stack parameter `KmsKeyArn`), when SSE-KMS is used.
    pub kms_key_id: Option<String>,
    /// The trainer's zone (stack parameter `TimeZone`), when the stack has one.
    pub time_zone: Option<String>,
    /// Every output, for `trainer config`.
    pub outputs: BTreeMap<String, String>,
}

impl StackOutputs {
    /// The usage plan student keys go on, or nothing when the stack keeps them only
    /// hashed in the bucket; a stack that keeps them in API Gateway needs its plan.
    pub fn key_usage_plan(&self) -> anyhow::Result<Option<&str>> {
        if !self.student_keys_in_gateway {
            return Ok(None);
        }
        self.usage_plan().map(Some)
    }

    pub fn usage_plan(&self) -> anyhow::Result<&str> {
        self.usage_plan_id.as_deref().with_context(|| {
            format!(
                "stack {} has no UsagePlanId output; is it the API stack?",
                self.stack_name
            )
        })
    }
}

/// An opened target.
pub struct Opened {
    pub store: Arc<dyn ObjectStore>,
    /// Set with `--stack`.
    pub stack: Option<StackOutputs>,
    /// AWS configuration, set with `--stack` (for API Gateway calls).
    pub aws: Option<aws_config::SdkConfig>,
    /// The data dir, set with `--local`.
    pub local_dir: Option<PathBuf>,
    /// Human description: `local data dir .local-data` or `stack ework-api (bucket x)`.
    pub description: String,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("stack", &self.stack)
            .field("description", &self.description)
            .finish()
    }
}

impl Opened {
    /// The trainer's zone, for a command that records nothing. A data dir's zone is
    /// the one it recorded (a different flag is refused); for a stack, the flag (or
    /// env) if given, else the stack's; else the default.
    pub fn time_zone(&self, flag: Option<&str>) -> anyhow::Result<chrono_tz::Tz> {
        self.time_zone_adopting(flag, Adopt::ReadOnly)
    }

    /// Like [`Opened::time_zone`], for a command that writes what the zone decides
    /// (due dates, scores): with [`Adopt::Record`], a data dir without a record yet
    /// records the zone used.
    pub fn time_zone_adopting(
        &self,
        flag: Option<&str>,
        adopt: Adopt,
    ) -> anyhow::Result<chrono_tz::Tz> {
        if let Some(dir) = &self.local_dir {
            return data_dir::time_zone(dir, flag, adopt);
        }
        let name = flag.or_else(|| self.stack.as_ref().and_then(|s| s.time_zone.as_deref()));
        Self::default_time_zone(name)
    }

    /// The zone named by a flag, or the default when there is none.
    pub fn default_time_zone(flag: Option<&str>) -> anyhow::Result<chrono_tz::Tz> {
        match flag {
            Some(name) => parse_time_zone(name).map_err(anyhow::Error::msg),
            None => Ok(DEFAULT_TIME_ZONE),
        }
    }
}

impl Target {
    pub fn is_set(&self) -> bool {
        self.local.is_some() || self.stack.is_some()
    }

    pub async fn open(&self) -> anyhow::Result<Opened> {
        match (&self.local, &self.stack) {
            (Some(_), Some(_)) => bail!(
                "both --local and --stack are set (check EWORK_LOCAL_DIR and EWORK_STACK); choose one"
            ),
            (None, None) => bail!(
                "no target: pass --local <data-dir> (the local stack) or --stack <name> (a deployed stack), \
                 or set EWORK_LOCAL_DIR / EWORK_STACK"
            ),
            (Some(dir), None) => {
                if !dir.is_dir() {
                    bail!(
                        "{} is not a data dir; start the local stack once with `trainer local --data-dir {}`",
                        dir.display(),
                        dir.display()
                    );
                }
                let store = LocalStore::open(dir).with_context(|| format!("opening {}", dir.display()))?;
                Ok(Opened {
                    store: Arc::new(store),
                    stack: None,
                    aws: None,
                    local_dir: Some(dir.clone()),
                    description: format!("local data dir {}", dir.display()),
                })
            }
            (None, Some(name)) => {
                let aws = load_aws_config().await;
                let outputs = read_stack(&aws, name).await?;
                let store = S3Store::new(s3_client(&aws), outputs.bucket.clone(), outputs.kms_key_id.clone());
                Ok(Opened {
                    store: Arc::new(store),
                    description: format!("stack {name} (bucket {})", outputs.bucket),
                    stack: Some(outputs),
                    aws: Some(aws),
                    local_dir: None,
                })
            }
        }
    }
}

/// A stack's parameters (the scorer stack's sender, trainer address, send rate).
pub async fn stack_parameters(
    aws: &aws_config::SdkConfig,
    name: &str,
) -> anyhow::Result<BTreeMap<String, String>> {
    let client = aws_sdk_cloudformation::Client::new(aws);
    let described = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_cloudformation::error::DisplayErrorContext(e)))
        .with_context(|| format!("reading stack {name}"))?;
    let stack = described
        .stacks()
        .first()
        .with_context(|| format!("stack {name} was not found"))?;
    Ok(stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value()?.to_owned(),
            ))
        })
        .collect())
}

/// Reads a stack's outputs and parameters with aws-sdk-cloudformation.
pub async fn read_stack(aws: &aws_config::SdkConfig, name: &str) -> anyhow::Result<StackOutputs> {
    let client = aws_sdk_cloudformation::Client::new(aws);
    let described = client
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!(aws_sdk_cloudformation::error::DisplayErrorContext(e)))
        .with_context(|| {
            format!("reading stack {name} (check the name, region and credentials)")
        })?;
    let stack = described
        .stacks()
        .first()
        .with_context(|| format!("stack {name} was not found"))?;
    let outputs: BTreeMap<String, String> = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
        .collect();
    let parameters: BTreeMap<String, String> = stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_owned(),
                p.parameter_value()?.to_owned(),
            ))
        })
        .collect();
    let non_empty = |v: Option<&String>| v.filter(|v| !v.trim().is_empty()).cloned();
    let bucket = non_empty(outputs.get("BucketName")).with_context(|| {
        format!("stack {name} has no BucketName output; pass the API stack's name")
    })?;
    Ok(StackOutputs {
        stack_name: name.to_owned(),
        api_url: non_empty(outputs.get("ApiUrl")),
        api_id: non_empty(outputs.get("ApiId")),
        usage_plan_id: non_empty(outputs.get("UsagePlanId")),
        student_keys_in_gateway: keys_in_gateway(outputs.get("StudentKeysInApiGateway")),
        bucket,
        kms_key_id: non_empty(outputs.get("KmsKeyArn"))
            .or_else(|| non_empty(parameters.get("KmsKeyArn"))),
        time_zone: non_empty(parameters.get("TimeZone")),
        outputs,
    })
}

/// The api stack's `StudentKeysInApiGateway` output: only "false" turns API Gateway
/// keys off; without the output (a stack from before it) they are on, as then.
fn keys_in_gateway(output: Option<&String>) -> bool {
    output.is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(keys_output: Option<&str>, usage_plan_id: Option<&str>) -> StackOutputs {
        StackOutputs {
            stack_name: "ework-api".into(),
            api_url: None,
            api_id: None,
            usage_plan_id: usage_plan_id.map(str::to_owned),
            student_keys_in_gateway: keys_in_gateway(keys_output.map(str::to_owned).as_ref()),
            bucket: "course".into(),
            kms_key_id: None,
            time_zone: None,
            outputs: BTreeMap::new(),
        }
    }

    #[test]
    fn a_stack_without_gateway_keys_needs_no_usage_plan() {
        assert_eq!(stack(Some("false"), None).key_usage_plan().unwrap(), None);
        assert_eq!(
            stack(Some(" False "), Some("p1")).key_usage_plan().unwrap(),
            None
        );
    }

    #[test]
    fn a_stack_with_gateway_keys_or_from_before_the_output_needs_its_usage_plan() {
        for output in [Some("true"), None] {
            assert_eq!(
                stack(output, Some("p1")).key_usage_plan().unwrap(),
                Some("p1")
            );
            let err = stack(output, None).key_usage_plan().unwrap_err();
            assert!(
                err.to_string().contains("has no UsagePlanId output"),
                "{err}"
            );
        }
    }
}
