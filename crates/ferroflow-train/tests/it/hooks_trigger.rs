//! Ports of `SecondOrStepTimerTest` (BH-001..BH-005).

use ferroflow_core::Code;
use ferroflow_train::{Clock, Every, ManualClock, SecondOrStepTimer};

// BH-001 test_raise_in_both_secs_and_steps, BH-002 test_raise_in_none_secs_and_steps
#[test]
fn bh001_bh002_both_or_none() {
    let e = Every::from_pair(Some(2.0), Some(10), "every_secs", "every_steps").unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(e.message().contains("Can not provide both every_secs and every_steps."));
    let e = Every::from_pair(None, None, "every_secs", "every_steps").unwrap_err();
    assert!(e.message().contains("Either every_secs or every_steps should be provided."));
    // Beyond TF: a non-positive interval fails, naming the argument.
    let e = Every::from_pair(None, Some(0), "every_secs", "every_steps").unwrap_err();
    assert!(e.message().contains("every_steps"));
    assert!(SecondOrStepTimer::new(Every::Secs(-1.0)).is_err());
}

// BH-003 test_every_secs
#[test]
fn bh003_every_secs() {
    let clock = ManualClock::new(1000.0);
    let mut t = SecondOrStepTimer::new(Every::Secs(1.0)).unwrap().with_clock(Clock::from(clock.clone()));
    assert!(t.should_trigger_for_step(1));
    t.update_last_triggered_step(1);
    assert!(!t.should_trigger_for_step(1));
    assert!(!t.should_trigger_for_step(2));
    clock.advance(1.0);
    assert!(!t.should_trigger_for_step(1));
    assert!(t.should_trigger_for_step(2));
}

// BH-004 test_every_steps
#[test]
fn bh004_every_steps() {
    let mut t = SecondOrStepTimer::new(Every::Steps(3)).unwrap();
    assert!(t.should_trigger_for_step(1));
    t.update_last_triggered_step(1);
    assert!(!t.should_trigger_for_step(1));
    assert!(!t.should_trigger_for_step(2));
    assert!(!t.should_trigger_for_step(3));
    assert!(t.should_trigger_for_step(4));
}

// BH-005 test_update_last_triggered_step
#[test]
fn bh005_update_last_triggered_step() {
    let clock = ManualClock::new(1.0);
    let mut t = SecondOrStepTimer::new(Every::Steps(1)).unwrap().with_clock(Clock::from(clock.clone()));
    assert_eq!(t.update_last_triggered_step(1), (None, None));
    clock.advance(0.5);
    let (secs, steps) = t.update_last_triggered_step(5);
    assert!(secs.unwrap() > 0.0);
    assert_eq!(steps, Some(4));
    clock.advance(0.5);
    let (secs, steps) = t.update_last_triggered_step(7);
    assert!(secs.unwrap() > 0.0);
    assert_eq!(steps, Some(2));
    assert_eq!(t.last_triggered_step(), Some(7));
}

#[test]
fn never_trigger_timer() {
    let mut t = SecondOrStepTimer::never();
    assert!(!t.should_trigger_for_step(0));
    assert_eq!(t.update_last_triggered_step(1), (None, None));
    assert_eq!(t.last_triggered_step(), None);
}
