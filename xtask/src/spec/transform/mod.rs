//! The named transforms applied to the selected document, in order.
//!
//! Each transform is deterministic, records what it did in one line, and
//! fails (naming the JSON pointer) rather than guess.

pub mod errors;
pub mod hoist;
pub mod openapi30;
pub mod unify;

/// A transform that ran, for the provenance header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub name: &'static str,
    /// One line: why the transform is needed.
    pub why: &'static str,
    /// One line: what it did to this document.
    pub detail: String,
}
