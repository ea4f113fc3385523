//! The trainer's integration tests, in one binary (one link instead of nine): they
//! share `course_support` (the trainer binary, the sample course, a stack in moto).

mod course_support;

mod config_stack;
mod course_folder;
mod course_sync;
mod course_validate;
mod keys_gateway;
mod local_stack;
mod score_local;
mod score_stack;
mod student_gdpr;
