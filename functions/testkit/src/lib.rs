//! What the integration tests of every crate share. A dev-dependency only: nothing
//! here is linked into a function or a client.

pub mod moto;
