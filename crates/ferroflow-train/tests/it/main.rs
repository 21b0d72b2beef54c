//! Integration tests of ferroflow-train: ports of TF's `monitored_session_test.py`,
//! `session_manager_test.py` and the hook-protocol parts of `basic_session_run_hooks_test.py`, with TF's
//! numbers. Each test names its catalogue id (spec section 3) in a comment; `docs/tf-test-parity.md`
//! maps every TF test to the test here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod coordinated_session;
mod hooked_session;
mod hooks_beyond;
mod hooks_checkpoint_saver;
mod hooks_common;
mod hooks_logging_tensor;
mod hooks_misc;
mod hooks_mts;
mod hooks_nan_tensor;
mod hooks_protocol;
mod hooks_step_counter;
mod hooks_stop_at_step;
mod hooks_summary_saver;
mod hooks_trigger;
mod input_pipeline;
mod monitored_session;
mod prefetch_threads;
mod recoverable_session;
mod saver;
mod scaffold;
mod session_manager;
mod step_fn;
