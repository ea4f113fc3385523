//! The domain's integration tests, in one binary (one link instead of three).

mod api_listing;
mod api_variant;
mod api_windows;
mod properties;
mod scorer_faults;
mod upload_faults;
