//! The writer's contract without TensorBoard: file names, first record, flushing, closing, reopening,
//! errors, metadata handling and the cache.

use crate::{event_files, events_of, values};
use ferroflow_core::Code;
use ferroflow_proto::{EventWhat, PluginData, SessionLog, SessionStatus, SummaryMetadata};
use ferroflow_summary::{scalar, EventFileWriterConfig, FileWriter, SummaryWriterCache};
use std::time::Duration;

#[test]
fn file_name_and_first_record_follow_tf() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("run1/nested");
    let writer = FileWriter::new(&logdir).unwrap();
    assert_eq!(writer.logdir(), logdir);
    let name = writer.path().file_name().unwrap().to_string_lossy().into_owned();
    let host = gethostname_lossy();
    let parts: Vec<&str> = name.strip_prefix("events.out.tfevents.").unwrap().splitn(2, '.').collect();
    assert_eq!(parts[0].len(), 10, "zero-padded 10-digit seconds: {name}");
    assert!(parts[1].starts_with(&format!("{host}.{}.", std::process::id())), "{name}");
    writer.close().unwrap();

    let events = events_of(&writer.path());
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].what, Some(EventWhat::FileVersion("brain.Event:2".into())));
    assert_eq!(events[0].wall_time, parts[0].parse::<f64>().unwrap(), "whole seconds, as TF's C++ writer");
}

fn gethostname_lossy() -> String {
    // The same call the writer makes; kept here so the test states the rule, not the crate.
    std::process::Command::new("hostname")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap()
}

#[test]
fn flush_makes_events_visible_and_close_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    for step in 0..25 {
        // More than max_queue (10): add_summary blocks instead of dropping.
        writer.add_summary(&scalar("x", step as f32), step).unwrap();
    }
    writer.flush().unwrap();
    assert_eq!(events_of(&writer.path()).len(), 26);
    writer.close().unwrap();
    writer.close().unwrap();
    let err = writer.add_summary(&scalar("x", 0.0), 99).unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains(&dir.path().display().to_string()), "{err}");
}

#[test]
fn background_thread_flushes_every_flush_secs() {
    let dir = tempfile::tempdir().unwrap();
    let config = EventFileWriterConfig { flush_secs: Duration::from_millis(50), ..Default::default() };
    let writer = FileWriter::with_config(dir.path(), config).unwrap();
    writer.add_summary(&scalar("x", 1.0), 1).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while events_of(&writer.path()).len() < 2 {
        assert!(std::time::Instant::now() < deadline, "no periodic flush");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn reopen_continues_in_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    writer.add_summary(&scalar("x", 1.0), 1).unwrap();
    writer.reopen().unwrap(); // not closed: nothing happens
    writer.close().unwrap();
    let first = writer.path();
    writer.reopen().unwrap();
    writer.add_summary(&scalar("x", 2.0), 2).unwrap();
    writer.close().unwrap();
    assert_ne!(writer.path(), first);
    assert_eq!(event_files(dir.path()).len(), 2);
    assert_eq!(events_of(&writer.path())[1].step, 2);
}

#[test]
fn vanished_directory_is_an_error_then_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let logdir = dir.path().join("run");
    let writer = FileWriter::new(&logdir).unwrap();
    writer.add_summary(&scalar("x", 1.0), 1).unwrap();
    writer.flush().unwrap();
    std::fs::remove_dir_all(&logdir).unwrap();
    writer.add_summary(&scalar("x", 2.0), 2).unwrap();
    let err = writer.flush().unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    assert!(err.message().contains("disappeared"), "{err}");
    // The next event goes to a new file in a recreated directory.
    writer.add_summary(&scalar("x", 3.0), 3).unwrap();
    writer.close().unwrap();
    let events = events_of(&writer.path());
    assert_eq!(events.iter().map(|e| e.step).collect::<Vec<_>>(), [0, 3]);
}

#[test]
fn unwritable_logdir_is_reported_with_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not_a_dir");
    std::fs::write(&file, b"x").unwrap();
    let err = FileWriter::new(file.join("run")).unwrap_err();
    assert!(err.message().contains("not_a_dir"), "{err}");
}

#[test]
fn plugin_metadata_only_with_the_first_value_of_a_tag() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    let mut summary = ferroflow_summary::text("t", &["a"]).unwrap();
    summary.value[0].metadata = Some(SummaryMetadata {
        plugin_data: Some(PluginData { plugin_name: "text".into(), content: vec![] }),
        ..Default::default()
    });
    writer.add_summary(&summary, 1).unwrap();
    writer.add_summary(&summary, 2).unwrap();
    writer.close().unwrap();
    let events = events_of(&writer.path());
    assert!(values(&events[1])[0].metadata.is_some());
    assert!(values(&events[2])[0].metadata.is_none(), "TF1 drops metadata of an already seen tag");
}

#[test]
fn serialized_summaries_session_logs_graphs_and_run_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    let bytes = ferroflow_proto::prost::Message::encode_to_vec(&scalar("s", 2.5));
    writer.add_summary(&bytes, 4).unwrap();
    let err = writer.add_summary(&b"\xff\xff"[..], 5).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let ckpt = SessionLog {
        status: SessionStatus::Checkpoint as i32,
        checkpoint_path: "m.ckpt".into(),
        msg: String::new(),
    };
    writer.add_session_log(&ckpt, 4).unwrap();
    writer.add_graph(b"graph bytes").unwrap();
    writer.add_run_metadata(b"rm", "step_4", 4).unwrap();
    assert_eq!(writer.add_run_metadata(b"rm", "step_4", 5).unwrap_err().code(), Code::InvalidArgument);
    writer.close().unwrap();
    let events = events_of(&writer.path());
    let whats: Vec<_> = events[1..].iter().map(|e| (e.step, e.what.clone().unwrap())).collect();
    assert_eq!(whats[0].0, 4);
    assert_eq!(values(&events[1])[0].tag, "s");
    assert_eq!(whats[1], (4, EventWhat::SessionLog(ckpt)));
    assert_eq!(whats[2], (0, EventWhat::GraphDef(b"graph bytes".to_vec())));
    let EventWhat::TaggedRunMetadata(rm) = &whats[3].1 else { panic!("{:?}", whats[3]) };
    assert_eq!((rm.tag.as_str(), rm.run_metadata.as_slice(), whats[3].0), ("step_4", &b"rm"[..], 4));
}

#[test]
fn writer_cache_shares_one_writer_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let a = SummaryWriterCache::get(dir.path().join("a")).unwrap();
    let a2 = SummaryWriterCache::get(dir.path().join("a")).unwrap();
    let b = SummaryWriterCache::get(dir.path().join("b")).unwrap();
    assert!(std::sync::Arc::ptr_eq(&a, &a2));
    assert!(!std::sync::Arc::ptr_eq(&a, &b));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let w = SummaryWriterCache::get(dir.path().join("a")).unwrap();
            std::thread::spawn(move || {
                for step in 0..50 {
                    w.add_summary(&scalar(&format!("t{t}"), step as f32), step).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    a.flush().unwrap();
    assert_eq!(events_of(&a.path()).len(), 1 + 4 * 50);
    assert_eq!(event_files(&dir.path().join("a")).len(), 1, "one file for all users of the directory");
}

#[test]
fn reader_tails_a_file_that_is_still_written() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    writer.add_summary(&scalar("x", 1.0), 1).unwrap();
    writer.flush().unwrap();
    let mut reader = ferroflow_summary::read_events(writer.path()).unwrap();
    assert_eq!(reader.by_ref().map(|e| e.unwrap().step).collect::<Vec<_>>(), [0, 1]);
    writer.add_summary(&scalar("x", 2.0), 2).unwrap();
    writer.flush().unwrap();
    assert_eq!(reader.by_ref().map(|e| e.unwrap().step).collect::<Vec<_>>(), [2], "resumes after the end");

    // A record cut in half (the writer's buffer reached the disk partly) ends the iteration quietly,
    // and the reader picks it up once complete.
    let path = dir.path().join("events.out.tfevents.0000000001.manual");
    let event = ferroflow_proto::Event { step: 5, ..Default::default() };
    let framed = ferroflow_record::encode_record(&ferroflow_proto::prost::Message::encode_to_vec(&event));
    std::fs::write(&path, &framed[..7]).unwrap();
    let mut reader = ferroflow_summary::read_events(&path).unwrap();
    assert!(reader.next().is_none());
    std::fs::write(&path, &framed).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().step, 5);
}

#[test]
fn corrupted_event_file_is_data_loss_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let writer = FileWriter::new(dir.path()).unwrap();
    writer.add_summary(&scalar("x", 1.0), 1).unwrap();
    writer.close().unwrap();
    let mut bytes = std::fs::read(writer.path()).unwrap();
    let last = bytes.len() - 6;
    bytes[last] ^= 0xff;
    std::fs::write(writer.path(), &bytes).unwrap();
    let results: Vec<_> = ferroflow_summary::read_events(writer.path()).unwrap().collect();
    assert!(results[0].is_ok(), "the file_version record is intact");
    let err = results[1].as_ref().unwrap_err();
    assert_eq!(err.code(), Code::DataLoss);
    let first_len = 12 + 4 + ferroflow_proto::prost::Message::encoded_len(&events_of_first(&writer.path()));
    assert!(err.message().contains(&format!("offset {first_len}")), "{err}");
    assert!(err.message().contains("events.out.tfevents"), "{err}");
}

fn events_of_first(path: &std::path::Path) -> ferroflow_proto::Event {
    ferroflow_summary::read_events(path).unwrap().next().unwrap().unwrap()
}
