//! Authentication and authorisation: passwords, tokens, the `CurrentUser`
//! extractor, and the scope every query is restricted to.

pub mod jwt;
pub mod password;
mod current_user;

pub use current_user::{CurrentUser, Scope};
