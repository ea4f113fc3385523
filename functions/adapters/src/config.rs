//! Configuration the Lambda binaries read from their environment, parsed once in `main`.

use chrono_tz::Tz;
use ework_domain::api::ApiConfig;
use ework_domain::deadline::{parse_time_zone, DEFAULT_TIME_ZONE};

/// Why the environment is not usable.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Settings every function shares.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub bucket: String,
    pub kms_key_id: Option<String>,
    pub time_zone: Tz,
}

impl FunctionConfig {
    /// Reads `EWORK_BUCKET`, `EWORK_KMS_KEY_ID` and `EWORK_TIME_ZONE`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let bucket = get("EWORK_BUCKET")
            .filter(|b| !b.trim().is_empty())
            .ok_or_else(|| ConfigError("EWORK_BUCKET is not set".into()))?;
        let time_zone = match get("EWORK_TIME_ZONE").filter(|t| !t.trim().is_empty()) {
            Some(name) => parse_time_zone(name.trim()).map_err(ConfigError)?,
            None => DEFAULT_TIME_ZONE,
        };
        let kms_key_id = get("EWORK_KMS_KEY_ID").filter(|k| !k.trim().is_empty());
        Ok(Self {
            bucket,
            kms_key_id,
            time_zone,
        })
    }

    pub fn api(&self) -> ApiConfig {
        ApiConfig {
            time_zone: self.time_zone,
            ..ApiConfig::default()
        }
    }

    /// The bucket store, with clients built from the standard AWS chain.
    pub async fn s3_store(&self) -> crate::s3::S3Store {
        let aws = crate::s3::load_aws_config().await;
        crate::s3::S3Store::new(
            crate::s3::s3_client(&aws),
            self.bucket.clone(),
            self.kms_key_id.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_bucket_is_a_clear_error() {
        let err = FunctionConfig::from_lookup(|_| None).unwrap_err();
        assert!(err.to_string().contains("EWORK_BUCKET"));
    }

    #[test]
    fn time_zone_defaults_to_warsaw_and_rejects_nonsense() {
        let cfg = FunctionConfig::from_lookup(|n| (n == "EWORK_BUCKET").then(|| "b".to_string()))
            .unwrap();
        assert_eq!(cfg.time_zone, DEFAULT_TIME_ZONE);
        let bad = FunctionConfig::from_lookup(|n| match n {
            "EWORK_BUCKET" => Some("b".into()),
            "EWORK_TIME_ZONE" => Some("Nowhere/City".into()),
            _ => None,
        });
        assert!(bad.is_err());
    }
}
