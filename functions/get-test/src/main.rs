//! Lambda `get-test`: Serves the questions of one open test (never the answer key) (`GET /api/v1/test`).

use ework_adapters::{config::FunctionConfig, http};
use ework_domain::api::{Api, Endpoint};
use ework_domain::ports::SystemClock;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    let config = FunctionConfig::from_env()?;
    let api = Api::new(config.s3_store().await, SystemClock, config.api());
    http::run_lambda(api, Endpoint::GetTest).await
}
