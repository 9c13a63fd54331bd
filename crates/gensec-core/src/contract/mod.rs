//! The contract between stages, in one place: the output layout's paths, the
//! stage ids and order, what each stage returns (typed figures, verdicts, the
//! files it wrote) and the typed documents later stages read.
//!
//! Data flows one way: each stage reads the documents of earlier stages and
//! their outcomes, writes its own files through a [`stage::PackageWriter`] and
//! returns its outcome; the validation report and the manifest are assembled
//! once, when the run is published.

pub mod analysis;
pub mod controls;
pub mod decision;
pub mod figures;
pub mod iac;
pub mod iam;
pub mod paths;
pub mod stage;
pub mod validation;
