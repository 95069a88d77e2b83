//! Authentication and authorisation: passwords, tokens, the `CurrentUser`
//! extractor, and the scope every query is restricted to.

mod current_user;
pub mod jwt;
pub mod password;

pub use current_user::{CurrentUser, Scope};
