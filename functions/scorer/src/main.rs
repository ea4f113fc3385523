//! Lambda `scorer`: run every 15 minutes (minutes 5, 20, 35 and 50) by EventBridge
//! Scheduler in the trainer's zone; grades each student once their own window has
//! closed and sends the emails through SES.

use ework_adapters::s3::{load_aws_config, s3_client, S3Store};
use ework_adapters::ses::{ses_client, SesMailer};
use ework_domain::ports::SystemClock;
use ework_scorer::config::ScorerSettings;
use ework_scorer::handler::Scorer;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use std::sync::Arc;

fn main() -> Result<(), Error> {
    // Before the runtime starts its threads: a pass writes results objects of a few
    // MB, and glibc would keep freed ones in an arena per thread that wrote them
    // (see ework_adapters::arenas); the Lambda's memory is what it is billed for.
    ework_adapters::arenas::cap_malloc_arenas();
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = ScorerSettings::from_env()?;
    let aws = load_aws_config().await;
    let f = &settings.function;
    let store = S3Store::new(s3_client(&aws), f.bucket.clone(), f.kms_key_id.clone());
    let mailer = SesMailer::new(
        ses_client(&aws, settings.ses_region.clone()),
        settings.configuration_set.clone(),
    );
    // The quota is only asked for when no rate is configured.
    let quota = match settings.send_rate {
        Some(_) => None,
        None => mailer.max_send_rate().await,
    };
    let rate = settings.effective_send_rate(quota);
    let scorer = Scorer {
        store: Arc::new(store),
        mailer: Arc::new(mailer),
        clock: Arc::new(SystemClock),
        config: settings.scoring(Some(rate)),
    };
    let scorer = &scorer;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<serde_json::Value>| async move {
            scorer.handle(event).await.map_err(Error::from)
        },
    ))
    .await
}
