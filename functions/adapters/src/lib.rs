//! Adapters for the Ework ports: where bytes and emails really go.

pub mod arenas;
pub mod config;
pub mod gateway;
pub mod http;
pub mod local;
pub mod outbox;
pub mod s3;
pub mod ses;
