//! The service's only source of "now". Production reads the system clock;
//! tests set it and move it forward to check deadlines on both sides.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Duration, DurationRound, NaiveDateTime, Utc};

#[derive(Clone, Debug)]
pub enum Clock {
    System,
    Settable(Arc<RwLock<DateTime<Utc>>>),
}

impl Clock {
    pub fn settable(start: DateTime<Utc>) -> Clock {
        Clock::Settable(Arc::new(RwLock::new(truncate(start))))
    }

    /// Now, truncated to microseconds: PostgreSQL keeps no more, and a value
    /// must compare equal after a round trip through either database.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => truncate(Utc::now()),
            Clock::Settable(t) => match t.read() {
                Ok(guard) => *guard,
                Err(poisoned) => *poisoned.into_inner(),
            },
        }
    }

    /// Now as stored in the database (naive UTC).
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// Sets a settable clock; the system clock ignores it.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Clock::Settable(t) = self {
            match t.write() {
                Ok(mut guard) => *guard = truncate(to),
                Err(poisoned) => *poisoned.into_inner() = truncate(to),
            }
        }
    }

    pub fn advance(&self, by: Duration) {
        self.set(self.now() + by);
    }
}

fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(Duration::microseconds(1)).unwrap_or(t)
}
