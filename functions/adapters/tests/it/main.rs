//! The adapters' integration tests, in one binary (one link instead of five).

mod concurrent_uploads;
mod gateway_limits;
mod hostile_input;
mod ses_mailer;
mod store_conformance;
