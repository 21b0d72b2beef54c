//! Which checkpoints to keep: `max_to_keep` and `keep_checkpoint_every_n_hours`, exactly as TF1's
//! `Saver` decides (`_RecordLastCheckpoint`, `_MaybeDeleteOldCheckpoints`). Pure logic: the caller
//! deletes the files.
//!
//! Lifecycle, per save:
//! 1. [`Retention::record_save`] drops any tracked entry with the same prefix, appends the new one and,
//!    beyond `max_to_keep`, moves the oldest to a deletion queue;
//! 2. the caller writes the state file listing [`Retention::tracked_paths`];
//! 3. [`Retention::next_deletion`] pops one queued prefix: either it is preserved for good (it is the
//!    first checkpoint past the next keep time) or the caller deletes its files.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

/// The knobs of TF1's `Saver` that decide what is deleted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetentionPolicy {
    /// How many recent checkpoints to keep; `None` (TF's `None` or 0) keeps every checkpoint and tracks
    /// none, so the state file lists only the newest.
    ///
    /// By default, `Some(5)`.
    pub max_to_keep: Option<usize>,
    /// Additionally keep one checkpoint for good every this many hours.
    ///
    /// By default, 10000 hours, i.e. never in practice (as in TF).
    pub keep_checkpoint_every_n_hours: f64,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy { max_to_keep: Some(5), keep_checkpoint_every_n_hours: 10000.0 }
    }
}

/// What to do with the checkpoint that fell out of the `max_to_keep` window.
#[derive(Debug, Clone, PartialEq)]
pub enum Deletion {
    /// Delete this prefix's files.
    Delete(PathBuf),
    /// Keep this prefix for good (`keep_checkpoint_every_n_hours`); it is no longer tracked.
    Preserve(PathBuf),
}

/// The tracked checkpoints of one saver and its deletion queue.
///
/// # Examples
///
/// ```
/// use ferroflow_checkpoint::{Deletion, Retention, RetentionPolicy};
/// let policy = RetentionPolicy { max_to_keep: Some(2), ..Default::default() };
/// let mut r = Retention::new(policy, 0.0);
/// for (step, now) in [(1, 10.0), (2, 20.0), (3, 30.0)] {
///     r.record_save(format!("model.ckpt-{step}"), now);
/// }
/// assert_eq!(r.tracked_paths(), ["model.ckpt-2", "model.ckpt-3"].map(std::path::PathBuf::from));
/// assert_eq!(r.next_deletion(), Some(Deletion::Delete("model.ckpt-1".into())));
/// ```
#[derive(Debug, Clone)]
pub struct Retention {
    policy: RetentionPolicy,
    tracked: Vec<(PathBuf, f64)>,
    to_delete: VecDeque<(PathBuf, f64)>,
    next_keep_time: f64,
    last_preserved_time: f64,
}

impl Retention {
    /// Empty tracking, as a freshly built `Saver` has at time `now` (unix seconds).
    pub fn new(policy: RetentionPolicy, now: f64) -> Self {
        Retention {
            policy,
            tracked: Vec::new(),
            to_delete: VecDeque::new(),
            next_keep_time: now + policy.keep_checkpoint_every_n_hours * 3600.0,
            last_preserved_time: now,
        }
    }

    /// The policy.
    pub fn policy(&self) -> RetentionPolicy {
        self.policy
    }

    /// Re-arms tracking after a restart with checkpoints found on disk, oldest first, with their save
    /// times (TF's `Saver.recover_last_checkpoints`, which uses file modification times).
    pub fn recover(&mut self, checkpoints: impl IntoIterator<Item = (PathBuf, f64)>) {
        if self.policy.max_to_keep.unwrap_or(0) == 0 {
            return;
        }
        self.tracked = checkpoints.into_iter().collect();
    }

    /// Restores the time of the last checkpoint preserved for good (the state file's
    /// `last_preserved_timestamp`), so that the next one is preserved `keep_checkpoint_every_n_hours`
    /// after it rather than after the restart.
    pub fn recover_last_preserved(&mut self, time: f64) {
        self.last_preserved_time = time;
        self.next_keep_time = time + self.policy.keep_checkpoint_every_n_hours * 3600.0;
    }

    /// Records a save of `prefix` at `now`.
    pub fn record_save(&mut self, prefix: impl Into<PathBuf>, now: f64) {
        let Some(max) = self.policy.max_to_keep.filter(|&m| m > 0) else { return };
        let prefix = prefix.into();
        self.tracked.retain(|(p, _)| *p != prefix);
        self.tracked.push((prefix, now));
        if self.tracked.len() > max {
            let oldest = self.tracked.remove(0);
            self.to_delete.push_back(oldest);
        }
    }

    /// Pops the next checkpoint that fell out of the window and says what to do with it. TF pops one per
    /// save, so at most one checkpoint is deleted per save.
    pub fn next_deletion(&mut self) -> Option<Deletion> {
        let (prefix, time) = self.to_delete.pop_front()?;
        if time > self.next_keep_time {
            self.next_keep_time += self.policy.keep_checkpoint_every_n_hours * 3600.0;
            self.last_preserved_time = time;
            return Some(Deletion::Preserve(prefix));
        }
        Some(Deletion::Delete(prefix))
    }

    /// The tracked checkpoints with their save times, oldest first.
    pub fn tracked(&self) -> &[(PathBuf, f64)] {
        &self.tracked
    }

    /// The tracked prefixes, oldest first: what the state file lists.
    pub fn tracked_paths(&self) -> Vec<PathBuf> {
        self.tracked.iter().map(|(p, _)| p.clone()).collect()
    }

    /// Whether `prefix` is tracked.
    pub fn is_tracked(&self, prefix: &Path) -> bool {
        self.tracked.iter().any(|(p, _)| p == prefix)
    }

    /// The save time of the last checkpoint preserved for good (the construction time until then).
    pub fn last_preserved_time(&self) -> f64 {
        self.last_preserved_time
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(step: u32) -> PathBuf {
        PathBuf::from(format!("model.ckpt-{step}"))
    }

    /// Saves steps 1..=n one hour apart and returns (tracked, deletions in order).
    fn run(policy: RetentionPolicy, n: u32) -> (Vec<PathBuf>, Vec<Deletion>) {
        let mut r = Retention::new(policy, 0.0);
        let mut deletions = Vec::new();
        for step in 1..=n {
            r.record_save(p(step), f64::from(step) * 3600.0);
            deletions.extend(r.next_deletion());
        }
        (r.tracked_paths(), deletions)
    }

    #[test]
    fn table_of_policies() {
        let hours =
            |max_to_keep, every| RetentionPolicy { max_to_keep, keep_checkpoint_every_n_hours: every };
        type Case = (&'static str, RetentionPolicy, u32, Vec<PathBuf>, Vec<Deletion>);
        let cases: Vec<Case> = vec![
            (
                "default keeps the last 5 and deletes older ones one per save",
                RetentionPolicy::default(),
                7,
                (3..=7).map(p).collect(),
                vec![Deletion::Delete(p(1)), Deletion::Delete(p(2))],
            ),
            ("max_to_keep None tracks nothing and deletes nothing", hours(None, 10000.0), 7, vec![], vec![]),
            ("max_to_keep 0 is the same as None", hours(Some(0), 10000.0), 3, vec![], vec![]),
            (
                "max_to_keep 1",
                hours(Some(1), 10000.0),
                3,
                vec![p(3)],
                vec![Deletion::Delete(p(1)), Deletion::Delete(p(2))],
            ),
            (
                // next keep time starts at 0 + 2h; ckpt-1 (1h) is deleted, ckpt-2 (2h) is not > 2h so deleted,
                // ckpt-3 (3h) > 2h is preserved and moves the keep time to 4h; ckpt-4 (4h) is deleted.
                "keep every 2 hours",
                hours(Some(1), 2.0),
                5,
                vec![p(5)],
                vec![
                    Deletion::Delete(p(1)),
                    Deletion::Delete(p(2)),
                    Deletion::Preserve(p(3)),
                    Deletion::Delete(p(4)),
                ],
            ),
        ];
        for (why, policy, n, tracked, deletions) in cases {
            assert_eq!(run(policy, n), (tracked, deletions), "{why}");
        }
    }

    #[test]
    fn saving_the_same_prefix_again_moves_it_to_the_end() {
        let mut r = Retention::new(RetentionPolicy { max_to_keep: Some(2), ..Default::default() }, 0.0);
        r.record_save(p(1), 1.0);
        r.record_save(p(2), 2.0);
        r.record_save(p(1), 3.0);
        assert_eq!(r.tracked_paths(), vec![p(2), p(1)]);
        assert_eq!(r.next_deletion(), None);
        assert!(r.is_tracked(&p(1)));
    }

    #[test]
    fn recover_rearms_tracking() {
        let mut r = Retention::new(RetentionPolicy { max_to_keep: Some(2), ..Default::default() }, 0.0);
        r.recover([(p(1), 1.0), (p(2), 2.0)]);
        r.record_save(p(3), 3.0);
        assert_eq!(r.next_deletion(), Some(Deletion::Delete(p(1))));
        assert_eq!(r.tracked().len(), 2);

        let mut r =
            Retention::new(RetentionPolicy { max_to_keep: Some(1), keep_checkpoint_every_n_hours: 1.0 }, 1e6);
        r.recover_last_preserved(0.0);
        r.record_save(p(1), 4000.0);
        r.record_save(p(2), 4001.0);
        assert_eq!(r.next_deletion(), Some(Deletion::Preserve(p(1))), "an hour after the recovered time");
        assert_eq!(r.last_preserved_time(), 4000.0);
    }
}
