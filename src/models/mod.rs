//! Database rows (`Queryable`), insert and change sets, and the enums that
//! are stored as `TEXT` with a `CHECK` constraint.

pub mod attachment;
pub mod complaint;
pub mod customer;
pub mod deadline;
pub mod event;
pub mod integration;
pub mod management;
pub mod org_unit;
pub mod project;
pub mod repair;
pub mod user;
pub mod visit;

/// Defines an enum stored as TEXT: snake_case in JSON and in the database.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:tt),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Reads the stored text; an unknown value is a corrupt row.
            pub fn from_db(text: &str) -> Result<$name, $crate::error::AppError> {
                text.parse().map_err(|_| {
                    $crate::error::AppError::internal(format!(
                        "unknown {} {:?} in the database", stringify!($name), text
                    ))
                })
            }
        }

        impl std::str::FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use text_enum;

text_enum! {
    /// Where a document on an approval track stands: the completed-projects
    /// ledger (004 A.2 steps 2–3) and the visit plans (004 §5.2).
    ApprovalStatus {
        /// being compiled or filled in by its author
        Draft => "draft",
        /// waiting for review or approval
        Submitted => "submitted",
        /// accepted
        Approved => "approved",
        /// sent back to be completed; resubmit when fixed
        Returned => "returned",
    }
}
