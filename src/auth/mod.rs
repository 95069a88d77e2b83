//! Authentication and authorisation: passwords, tokens, the `Actor` the
//! services act for, and the scope every query is restricted to.

mod actor;
pub mod jwt;
pub mod password;
pub mod rate;

pub use actor::{Actor, Caller, Scope, DEPARTMENT};
