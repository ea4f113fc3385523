//! What the integration tests, benches and examples of every crate share. A
//! dev-dependency only: nothing here is linked into a function or a client.
//!
//! The in-memory store and mailer and the call hook stay in `ework_domain::testing`:
//! the domain's own unit tests use them, and a copy here would be a second set of
//! the domain's types to those tests.

pub mod faults;
pub mod fixture;
pub mod latency;
#[cfg(feature = "moto")]
pub mod moto;
