//! Ework Trainings domain: every rule of the system, behind small ports.

pub mod api;
pub mod course;
pub mod deadline;
pub mod ids;
pub mod keys;
pub mod layout;
pub mod model;
pub mod ports;
pub mod privacy;
pub mod scoring;
pub mod store_json;
pub mod testing;
pub mod variant;
pub mod windows;
