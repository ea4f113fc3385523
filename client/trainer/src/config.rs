//! `trainer config`: the deployed stack's API URL, bucket and usage plan, read from the
//! CloudFormation outputs (the original pull-api-config script, without aws CLI or jq).

use crate::outln;
use crate::target::read_stack;
use ework_adapters::s3::load_aws_config;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The deployed API stack.
    #[arg(long, env = "EWORK_STACK", value_name = "NAME")]
    pub stack: String,
    /// Print JSON (apiUrl is what students put in their test-time config).
    #[arg(long)]
    pub json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let aws = load_aws_config().await;
    let stack = read_stack(&aws, &args.stack).await?;
    let region = aws.region().map(ToString::to_string);
    if args.json {
        let doc = json!({
            "stackName": stack.stack_name,
            "region": region,
            "apiUrl": stack.api_url,
            "apiId": stack.api_id,
            "usagePlanId": stack.usage_plan_id,
            "bucketName": stack.bucket,
            "kmsKeyId": stack.kms_key_id,
            "timeZone": stack.time_zone,
            "outputs": stack.outputs,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let show = |v: &Option<String>| {
        v.clone()
            .unwrap_or_else(|| "(not in the stack outputs)".to_owned())
    };
    outln!("Stack:       {}", stack.stack_name)?;
    outln!(
        "Region:      {}",
        region.unwrap_or_else(|| "(not set)".to_owned())
    )?;
    outln!("API URL:     {}", show(&stack.api_url))?;
    outln!("API id:      {}", show(&stack.api_id))?;
    outln!("Usage plan:  {}", show(&stack.usage_plan_id))?;
    outln!("Bucket:      {}", stack.bucket)?;
    outln!(
        "Encryption:  {}",
        stack
            .kms_key_id
            .as_deref()
            .map_or("SSE-S3 (AES256)".to_owned(), |k| format!("SSE-KMS {k}"))
    )?;
    outln!("Time zone:   {}", show(&stack.time_zone))?;
    if let Some(url) = &stack.api_url {
        outln!("\nStudents set this in test-time: apiUrl = {url}")?;
    }
    Ok(ExitCode::SUCCESS)
}
