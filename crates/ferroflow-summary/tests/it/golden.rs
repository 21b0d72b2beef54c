//! Files written by TensorFlow itself (`tests/fixtures/make_golden.py`, TF1 `FileWriter`) read by our
//! reader, and our builders compared with TF's protos.

use crate::values;
use ferroflow_proto::prost::Message;
use ferroflow_proto::{EventWhat, SummaryValueKind};
use std::path::PathBuf;

/// The histogram input of `make_golden.py` (`HIST_DATA`), in the same order.
const HIST_DATA: [f64; 13] = [-3.5, -1.0, 0.0, 0.0, 1e-13, 0.5, 1.0, 1.0, 2.0, 3.25, 100.0, 1e10, -2e-12];

fn golden_events() -> Vec<ferroflow_proto::Event> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tf1_golden.tfevents");
    crate::events_of(&path)
}

#[test]
fn reads_tf1_golden_file() {
    let events = golden_events();
    assert_eq!(events.len(), 6, "file_version, 3 scalars, histogram, text");
    assert_eq!(events[0].what, Some(EventWhat::FileVersion("brain.Event:2".into())));
    let got: Vec<(i64, &str)> = events[1..].iter().map(|e| (e.step, values(e)[0].tag.as_str())).collect();
    assert_eq!(got, [(1, "loss"), (2, "loss"), (3, "loss"), (3, "weights"), (3, "notes")]);
    for (event, want) in events[1..4].iter().zip([0.5f32, 0.25, 0.125]) {
        assert_eq!(values(event)[0].value, Some(SummaryValueKind::SimpleValue(want)), "step {}", event.step);
    }
}

#[test]
fn scalar_value_bytes_equal_tf() {
    let events = golden_events();
    let ours = ferroflow_summary::scalar("loss", 0.5);
    assert_eq!(ours.value[0].encode_to_vec(), values(&events[1])[0].encode_to_vec());
}

#[test]
fn histogram_proto_equals_tf() {
    let events = golden_events();
    let Some(SummaryValueKind::Histo(theirs)) = &values(&events[4])[0].value else {
        panic!("not a histogram")
    };
    let ours = ferroflow_summary::histogram_proto("weights", &HIST_DATA).unwrap();
    assert_eq!(&ours, theirs);
    // Equal protos could still differ in float bits only through -0.0/NaN; compare the bytes too.
    assert_eq!(ours.encode_to_vec(), theirs.encode_to_vec());
    let summary = ferroflow_summary::histogram("weights", &HIST_DATA).unwrap();
    assert_eq!(summary.value[0].encode_to_vec(), values(&events[4])[0].encode_to_vec());
}

#[test]
fn text_summary_equals_tf() {
    let events = golden_events();
    let theirs = &values(&events[5])[0];
    let ours = ferroflow_summary::text("notes", &["hello", "world"]).unwrap();
    assert_eq!(&ours.value[0], theirs);
    assert_eq!(ours.value[0].encode_to_vec(), theirs.encode_to_vec());
}
