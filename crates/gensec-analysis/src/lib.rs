//! Stage 2, security analysis.

pub mod catalogue;
pub mod check;
pub mod tailor;
