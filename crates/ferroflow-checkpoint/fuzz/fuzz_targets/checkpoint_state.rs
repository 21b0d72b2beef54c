//! Fuzzes the `checkpoint` state-file parser: no panic on any input, and whatever parses is printed back
//! to text that parses to the same state (NaN timestamps aside, which compare unequal to themselves).
#![no_main]

use ferroflow_checkpoint::CheckpointState;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    if let Ok(state) = CheckpointState::parse(input) {
        let text = state.to_text();
        let again = CheckpointState::parse(text.as_bytes());
        let has_nan = state.all_model_checkpoint_timestamps.iter().any(|t| t.is_nan())
            || state.last_preserved_timestamp.is_nan();
        if !has_nan {
            assert_eq!(again.ok(), Some(state), "{text}");
        }
    }
});
