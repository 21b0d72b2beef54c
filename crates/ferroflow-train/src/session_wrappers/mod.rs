//! The wrapper stack of a monitored session, innermost last:
//! [`RecoverableSession`] -> [`CoordinatedSession`] -> [`HookedSession`] -> the raw session.
//! `SingularMonitoredSession` uses the same stack without the recoverable layer. Private in TF, so
//! `pub(crate)` here.

mod coordinated_session;
mod hooked_session;
mod recoverable_session;

pub(crate) use coordinated_session::{CoordinatedSession, CoordinatedSessionCreator};
pub(crate) use hooked_session::{HookedSession, SharedHooks};
pub(crate) use recoverable_session::RecoverableSession;
