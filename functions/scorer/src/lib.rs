//! The scorer Lambda: configuration and the handler around the domain's scoring pass.

pub mod config;
pub mod handler;
pub mod metered;
