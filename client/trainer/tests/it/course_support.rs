//! Shared helpers of the trainer's course/keys/student/config tests: run the binary,
//! copy the sample course, and set up moto (S3 bucket, API Gateway usage plan and a
//! CloudFormation stack whose outputs point at them).

use aws_config::BehaviorVersion;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const NOW: &str = "2026-11-24T10:00:00Z";

/// The trainer binary with a clean environment: no target picked up from the
/// developer's shell.
pub fn trainer() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trainer"));
    for var in [
        "EWORK_LOCAL_DIR",
        "EWORK_STACK",
        "EWORK_TIME_ZONE",
        "AWS_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(cmd: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("the trainer binary runs");
    Run {
        ok: status.success(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `trainer local` on `dir`, on a free port and without its scheduler; add flags
/// and run it with [`start_and_stop`].
pub fn local_stack(dir: &Path) -> Command {
    let mut cmd = trainer();
    cmd.args(["local", "--port", "0", "--no-scheduler", "--data-dir"])
        .arg(dir);
    cmd
}

/// Starts the local stack, waits for its banner and stops it: what a start leaves in
/// its data dir. `ok` says whether it came up; a refused start says why in `stderr`.
pub fn start_and_stop(cmd: &mut Command) -> Run {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the trainer binary runs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut banner, mut up) = (String::new(), false);
    // Ends at the banner's last line, or when a refused start closes its stdout.
    while let Ok(line) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Press Ctrl-C") {
            up = true;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut stderr);
    Run {
        ok: up,
        stdout: banner,
        stderr,
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ok={}\n--- stdout\n{}--- stderr\n{}",
            self.ok, self.stdout, self.stderr
        )
    }
}

pub fn sample_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../course-sample")
}

/// A writable copy of the sample course.
/// Publishes the sample's draft test, whose question 2 has two options, with a late
/// window: right/wrong at each student's own close would give its answer away.
pub fn publish_the_two_option_draft_with_a_late_window(course: &Path) {
    std::fs::write(
        course.join("subjects/operating-systems/test02/test.json"),
        r#"{"title": "Memory", "due": "2026-11-30 23:00", "late": {"until": "2026-12-02 23:00", "penalty": "10%/day"}}"#,
    )
    .unwrap();
}

/// What `trainer validate` and `trainer sync` warn about such a test.
pub const TWO_OPTION_WARNING: &str = "warning: subjects/operating-systems/test02/test.json: question 2 has two options and students close at different times";

pub fn copy_of_sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&sample_dir(), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A unique, valid name for buckets and stacks shared in one moto.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// moto's URL from the test kit (`EWORK_MOTO_URL`, or a `moto_server` it starts);
/// `None` after saying that the calling test is skipped and why.
pub fn moto_or_skip() -> Option<String> {
    ework_testkit::moto::url_or_skip()
}

pub async fn aws(moto: &str) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto)
        .region(aws_config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

pub fn s3(aws: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(aws)
            .force_path_style(true)
            .build(),
    )
}

/// The trainer binary, its AWS SDK pointed at moto.
pub fn trainer_on_moto(moto: &str) -> Command {
    let mut cmd = trainer();
    cmd.env("AWS_ENDPOINT_URL", moto)
        .env("AWS_REGION", "eu-central-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_SESSION_TOKEN");
    cmd
}

/// A deployed stack in moto: bucket (versioned, encrypted by default), REST API,
/// usage plan, and a CloudFormation stack with the outputs `trainer --stack` reads.
pub struct MotoStack {
    pub moto: String,
    pub name: String,
    pub bucket: String,
    pub api_id: String,
    pub usage_plan_id: String,
    pub aws: aws_config::SdkConfig,
}

const TEMPLATE: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Description: Stand-in for the API stack; only its outputs matter to the trainer.
Parameters:
  BucketName: {Type: String}
  ApiId: {Type: String}
  UsagePlanId: {Type: String}
  TimeZone: {Type: String, Default: Europe/Warsaw}
Resources:
  CourseBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref BucketName
Outputs:
  ApiUrl:
    Value: !Sub "https://${ApiId}.execute-api.eu-central-1.amazonaws.com/v1"
  ApiId:
    Value: !Ref ApiId
  UsagePlanId:
    Value: !Ref UsagePlanId
  BucketName:
    Value: !Ref CourseBucket
"#;

/// Stand-in for an API stack deployed with `StudentKeysInApiGateway=false`: no usage
/// plan among its outputs.
const TEMPLATE_WITHOUT_GATEWAY_KEYS: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Description: Stand-in for the API stack keeping student keys only in the bucket.
Parameters:
  BucketName: {Type: String}
  ApiId: {Type: String}
  TimeZone: {Type: String, Default: Europe/Warsaw}
Resources:
  CourseBucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Ref BucketName
Outputs:
  ApiUrl:
    Value: !Sub "https://${ApiId}.execute-api.eu-central-1.amazonaws.com/v1"
  ApiId:
    Value: !Ref ApiId
  StudentKeysInApiGateway:
    Value: "false"
  BucketName:
    Value: !Ref CourseBucket
"#;

impl MotoStack {
    /// A stack in moto; `None` (the test is skipped, saying why) without moto.
    pub async fn create() -> Option<MotoStack> {
        MotoStack::create_with(true).await
    }

    /// A stack whose `StudentKeysInApiGateway` output is "false" (the usage plan is
    /// still made in moto, only the stack does not name it).
    pub async fn create_without_gateway_keys() -> Option<MotoStack> {
        MotoStack::create_with(false).await
    }

    async fn create_with(gateway_keys: bool) -> Option<MotoStack> {
        let moto = moto_or_skip()?;
        let aws = aws(&moto).await;
        let name = unique("trainer-test");
        let bucket = unique("course");
        let gateway = aws_sdk_apigateway::Client::new(&aws);
        let api = gateway.create_rest_api().name(&name).send().await.unwrap();
        let api_id = api.id().unwrap().to_owned();
        let plan = gateway
            .create_usage_plan()
            .name(&name)
            .send()
            .await
            .unwrap();
        let usage_plan_id = plan.id().unwrap().to_owned();
        let cfn = aws_sdk_cloudformation::Client::new(&aws);
        let param = |k: &str, v: &str| {
            aws_sdk_cloudformation::types::Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build()
        };
        let create = cfn
            .create_stack()
            .stack_name(&name)
            .parameters(param("BucketName", &bucket))
            .parameters(param("ApiId", &api_id));
        let create = if gateway_keys {
            create
                .template_body(TEMPLATE)
                .parameters(param("UsagePlanId", &usage_plan_id))
        } else {
            create.template_body(TEMPLATE_WITHOUT_GATEWAY_KEYS)
        };
        create.send().await.unwrap();
        let s3 = s3(&aws);
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        Some(MotoStack {
            moto,
            name,
            bucket,
            api_id,
            usage_plan_id,
            aws,
        })
    }

    /// The trainer, pointed at moto with `--stack` added after `args`.
    pub fn trainer(&self, args: &[&str]) -> Command {
        let mut cmd = trainer_on_moto(&self.moto);
        cmd.args(args).args(["--stack", &self.name]);
        cmd
    }

    /// Every current object: key -> bytes.
    pub async fn objects(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        let s3 = s3(&self.aws);
        let mut out = std::collections::BTreeMap::new();
        let listed = s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        for o in listed.contents() {
            let key = o.key().unwrap().to_owned();
            let got = s3
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .unwrap();
            out.insert(key, got.body.collect().await.unwrap().into_bytes().to_vec());
        }
        out
    }

    /// Every stored version (and delete marker) as (key, version id).
    pub async fn versions(&self) -> Vec<(String, String)> {
        let s3 = s3(&self.aws);
        let listed = s3
            .list_object_versions()
            .bucket(&self.bucket)
            .send()
            .await
            .unwrap();
        let mut out: Vec<(String, String)> = listed
            .versions()
            .iter()
            .map(|v| {
                (
                    v.key().unwrap_or_default().to_owned(),
                    v.version_id().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        out.extend(listed.delete_markers().iter().map(|m| {
            (
                m.key().unwrap_or_default().to_owned(),
                m.version_id().unwrap_or_default().to_owned(),
            )
        }));
        out
    }
}
