//! The scorer's settings, read from the environment once in `main`.

use ework_adapters::config::{ConfigError, FunctionConfig};
use ework_domain::scoring::ScoringConfig;

/// Everything the scorer Lambda reads from its environment.
#[derive(Debug, Clone)]
pub struct ScorerSettings {
    pub function: FunctionConfig,
    /// `EWORK_SENDER`: the verified SES identity mail comes from.
    pub sender: String,
    /// `EWORK_TRAINER_EMAIL`: where the report goes.
    pub trainer_email: String,
    /// `EWORK_SES_REGION`: SES region when it differs from the function's.
    pub ses_region: Option<String>,
    /// `EWORK_SES_CONFIGURATION_SET`: for bounce/complaint tracking.
    pub configuration_set: Option<String>,
    /// `EWORK_MAX_GRADE` (default 5).
    pub max_grade: u32,
    /// `EWORK_SEND_RATE` (emails per second); unset = the SES account's quota.
    pub send_rate: Option<f64>,
    /// `EWORK_LEDGER_BATCH`: emails recorded per journal write (default 16; 1 records
    /// each email on its own, so a crash can re-send at most one).
    pub ledger_batch: usize,
}

impl ScorerSettings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let function = FunctionConfig::from_lookup(&get)?;
        let get = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required =
            |name: &str| get(name).ok_or_else(|| ConfigError(format!("{name} is not set")));
        let max_grade = match get("EWORK_MAX_GRADE") {
            None => 5,
            Some(v) => v.parse::<u32>().ok().filter(|g| *g >= 1).ok_or_else(|| {
                ConfigError(format!(
                    "EWORK_MAX_GRADE must be a whole number >= 1, got {v:?}"
                ))
            })?,
        };
        let send_rate = match get("EWORK_SEND_RATE") {
            None => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        ConfigError(format!(
                            "EWORK_SEND_RATE must be a positive number, got {v:?}"
                        ))
                    })?,
            ),
        };
        let ledger_batch = match get("EWORK_LEDGER_BATCH") {
            None => ework_domain::scoring::run::DEFAULT_LEDGER_BATCH,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                ConfigError(format!(
                    "EWORK_LEDGER_BATCH must be a whole number >= 1, got {v:?}"
                ))
            })?,
        };
        Ok(Self {
            function,
            sender: required("EWORK_SENDER")?,
            trainer_email: required("EWORK_TRAINER_EMAIL")?,
            ses_region: get("EWORK_SES_REGION"),
            configuration_set: get("EWORK_SES_CONFIGURATION_SET"),
            max_grade,
            send_rate,
            ledger_batch,
        })
    }

    /// The sending rate: `EWORK_SEND_RATE` if set, else the SES account's quota, else
    /// the SES sandbox rate (1/s), which every account has.
    pub fn effective_send_rate(&self, ses_quota: Option<f64>) -> f64 {
        self.send_rate.or(ses_quota).unwrap_or(FALLBACK_SEND_RATE)
    }

    /// The domain's settings, with the sending rate decided by the caller.
    pub fn scoring(&self, send_rate: Option<f64>) -> ScoringConfig {
        let mut config = ScoringConfig::new(self.sender.clone(), self.trainer_email.clone());
        config.time_zone = self.function.time_zone;
        config.max_grade = self.max_grade;
        config.send_rate = send_rate;
        config.ledger_batch = self.ledger_batch;
        config
    }
}

/// Used when neither `EWORK_SEND_RATE` nor the SES quota is available.
const FALLBACK_SEND_RATE: f64 = 1.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    const BASE: [(&str, &str); 3] = [
        ("EWORK_BUCKET", "b"),
        ("EWORK_SENDER", "scorer@example.com"),
        ("EWORK_TRAINER_EMAIL", "t@example.com"),
    ];

    #[test]
    fn defaults_apply_when_only_the_required_settings_are_given() {
        let s = ScorerSettings::from_lookup(env(&BASE)).unwrap();
        assert_eq!((s.max_grade, s.send_rate), (5, None));
        assert_eq!(s.scoring(Some(14.0)).send_rate, Some(14.0));
        assert_eq!(s.effective_send_rate(Some(14.0)), 14.0);
        assert_eq!(s.effective_send_rate(None), 1.0);
        assert_eq!(s.scoring(None).ledger_batch, 16);
        assert_eq!((s.ses_region, s.configuration_set), (None, None));
    }

    #[test]
    fn the_ledger_batch_can_be_set_and_zero_is_refused() {
        let mut pairs = BASE.to_vec();
        pairs.push(("EWORK_LEDGER_BATCH", "1"));
        let s = ScorerSettings::from_lookup(env(&pairs)).unwrap();
        assert_eq!(s.scoring(None).ledger_batch, 1);
        pairs.pop();
        pairs.push(("EWORK_LEDGER_BATCH", "0"));
        let err = ScorerSettings::from_lookup(env(&pairs)).unwrap_err();
        assert!(err.to_string().contains("EWORK_LEDGER_BATCH"), "{err}");
    }

    #[test]
    fn a_missing_sender_is_named() {
        let err = ScorerSettings::from_lookup(env(&[
            ("EWORK_BUCKET", "b"),
            ("EWORK_TRAINER_EMAIL", "t@x.org"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("EWORK_SENDER"), "{err}");
    }

    #[test]
    fn nonsense_numbers_are_refused() {
        let mut vars = BASE.to_vec();
        vars.push(("EWORK_MAX_GRADE", "0"));
        assert!(ScorerSettings::from_lookup(env(&vars)).is_err());
        let mut vars = BASE.to_vec();
        vars.push(("EWORK_SEND_RATE", "-3"));
        assert!(ScorerSettings::from_lookup(env(&vars)).is_err());
        let mut vars = BASE.to_vec();
        vars.extend([
            ("EWORK_MAX_GRADE", "10"),
            ("EWORK_SEND_RATE", "2.5"),
            ("EWORK_SES_REGION", "eu-west-1"),
        ]);
        let s = ScorerSettings::from_lookup(env(&vars)).unwrap();
        assert_eq!(
            (s.max_grade, s.send_rate, s.ses_region.as_deref()),
            (10, Some(2.5), Some("eu-west-1"))
        );
    }
}
