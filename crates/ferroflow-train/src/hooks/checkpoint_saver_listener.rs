//! `CheckpointSaverListener`: code run around every checkpoint a `CheckpointSaverHook` writes (TF's
//! `tf.train.CheckpointSaverListener`).

use ferroflow_core::Result;
use ferroflow_session::Session;

/// What a listener asks for after a save (TF: a truthy return of `after_save` stops training).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenerAction {
    /// Go on training.
    #[default]
    Continue,
    /// Request a stop of the training.
    StopTraining,
}

/// Called by a [`CheckpointSaverHook`](super::CheckpointSaverHook) around its saves. Every method does
/// nothing by default.
pub trait CheckpointSaverListener: Send {
    /// Once, from the hook's `begin`.
    ///
    /// # Errors
    /// Aborts the monitored session's construction.
    fn begin(&mut self) -> Result<()> {
        Ok(())
    }

    /// Before each save.
    ///
    /// # Errors
    /// The save is not made and the error propagates.
    fn before_save(&mut self, session: &mut dyn Session, global_step: i64) -> Result<()> {
        let _ = (session, global_step);
        Ok(())
    }

    /// After each save; [`ListenerAction::StopTraining`] requests a stop of the training (TF: a truthy
    /// return). Every listener is called even when an earlier one asked to stop.
    ///
    /// # Errors
    /// Propagates from the hook.
    fn after_save(&mut self, session: &mut dyn Session, global_step: i64) -> Result<ListenerAction> {
        let _ = (session, global_step);
        Ok(ListenerAction::Continue)
    }

    /// At the hook's `end`, after the final save.
    ///
    /// # Errors
    /// Propagates from the hook's `end`.
    fn end(&mut self, session: &mut dyn Session, global_step: i64) -> Result<()> {
        let _ = (session, global_step);
        Ok(())
    }
}

impl<L: CheckpointSaverListener + ?Sized> CheckpointSaverListener for Box<L> {
    fn begin(&mut self) -> Result<()> {
        (**self).begin()
    }
    fn before_save(&mut self, session: &mut dyn Session, global_step: i64) -> Result<()> {
        (**self).before_save(session, global_step)
    }
    fn after_save(&mut self, session: &mut dyn Session, global_step: i64) -> Result<ListenerAction> {
        (**self).after_save(session, global_step)
    }
    fn end(&mut self, session: &mut dyn Session, global_step: i64) -> Result<()> {
        (**self).end(session, global_step)
    }
}
