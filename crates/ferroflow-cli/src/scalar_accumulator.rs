//! The scalar series of one run, accumulated event by event as TensorBoard's `EventAccumulator` does,
//! including its purge of points orphaned by a restart.

use crate::tensor_json::shortest_f64;
use ferroflow_proto::{Event, EventWhat, SessionStatus, SummaryValue, SummaryValueKind, TensorProto};
use std::collections::{BTreeMap, HashMap};

/// `tag -> [(step, value)]` in the order the points were read.
pub type ScalarSeries = BTreeMap<String, Vec<(i64, f64)>>;

/// Accumulates the scalars of one run from its events, in file order.
///
/// Restarts are handled as TensorBoard does (`purge_orphaned_data`): in files of version 2 or later
/// (`brain.Event:2`), a `SessionLog` START at step S drops every point at step S or later read so far,
/// from every tag (a run resumed from a checkpoint at S overwrites what the crashed run wrote after it);
/// in older files, a summary whose step goes backwards drops the later points of its own tags.
///
/// Scalars are TF1 `simple_value`s and TF2 scalar tensors (plugin `scalars`; the plugin is named only
/// on a tag's first value, so it is remembered per tag).
#[derive(Debug, Default, Clone)]
pub struct ScalarAccumulator {
    series: ScalarSeries,
    plugin_of_tag: HashMap<String, String>,
    file_version: Option<f64>,
    most_recent_step: Option<i64>,
}

impl ScalarAccumulator {
    /// An empty accumulator.
    pub fn new() -> ScalarAccumulator {
        ScalarAccumulator::default()
    }

    /// Takes one event into account.
    pub fn add_event(&mut self, event: &Event) {
        if let Some(EventWhat::FileVersion(version)) = &event.what {
            self.file_version = version.strip_prefix("brain.Event:").and_then(|v| v.parse().ok());
        }
        self.maybe_purge_orphaned_data(event);
        if let Some(EventWhat::Summary(summary)) = &event.what {
            for value in &summary.value {
                if let Some(plugin) = value.metadata.as_ref().and_then(|m| m.plugin_data.as_ref()) {
                    self.plugin_of_tag.insert(value.tag.clone(), plugin.plugin_name.clone());
                }
                if let Some(v) = self.scalar_of(value) {
                    self.series.entry(value.tag.clone()).or_default().push((event.step, v));
                }
            }
        }
    }

    /// The series read so far.
    pub fn series(&self) -> &ScalarSeries {
        &self.series
    }

    /// The series, by value.
    pub fn into_series(self) -> ScalarSeries {
        self.series
    }

    fn maybe_purge_orphaned_data(&mut self, event: &Event) {
        if self.file_version.is_some_and(|v| v >= 2.0) {
            if let Some(EventWhat::SessionLog(log)) = &event.what {
                if log.status == SessionStatus::Start as i32 {
                    for points in self.series.values_mut() {
                        points.retain(|(step, _)| *step < event.step);
                    }
                }
            }
        } else if let (Some(EventWhat::Summary(summary)), Some(recent)) = (&event.what, self.most_recent_step)
        {
            if event.step < recent {
                for value in &summary.value {
                    if let Some(points) = self.series.get_mut(&value.tag) {
                        points.retain(|(step, _)| *step < event.step);
                    }
                }
                return;
            }
            self.most_recent_step = Some(event.step);
        } else {
            self.most_recent_step = Some(event.step);
        }
    }

    fn scalar_of(&self, value: &SummaryValue) -> Option<f64> {
        match &value.value {
            Some(SummaryValueKind::SimpleValue(v)) => Some(shortest_f64(*v)),
            Some(SummaryValueKind::Tensor(t))
                if self.plugin_of_tag.get(&value.tag).is_some_and(|p| p == "scalars") =>
            {
                scalar_tensor_value(t)
            }
            _ => None,
        }
    }
}

/// The single value of a scalar tensor proto (float, double, int32 or int64; inline or as content bytes).
fn scalar_tensor_value(t: &TensorProto) -> Option<f64> {
    let bytes = |n: usize| t.tensor_content.get(..n);
    match t.dtype {
        1 => t
            .float_val
            .first()
            .copied()
            .or_else(|| bytes(4).and_then(|b| b.try_into().ok()).map(f32::from_le_bytes))
            .map(shortest_f64),
        2 => t
            .double_val
            .first()
            .copied()
            .or_else(|| bytes(8).and_then(|b| b.try_into().ok()).map(f64::from_le_bytes)),
        3 => t
            .int_val
            .first()
            .copied()
            .or_else(|| bytes(4).and_then(|b| b.try_into().ok()).map(i32::from_le_bytes))
            .map(f64::from),
        9 => t
            .int64_val
            .first()
            .copied()
            .or_else(|| bytes(8).and_then(|b| b.try_into().ok()).map(i64::from_le_bytes))
            .map(|v| v as f64),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_proto::{SessionLog, Summary};

    fn scalar(step: i64, tag: &str, v: f32) -> Event {
        let summary = Summary {
            value: vec![SummaryValue {
                tag: tag.into(),
                value: Some(SummaryValueKind::SimpleValue(v)),
                ..Default::default()
            }],
        };
        Event { step, what: Some(EventWhat::Summary(summary)), ..Default::default() }
    }

    fn version(v: &str) -> Event {
        Event { what: Some(EventWhat::FileVersion(v.into())), ..Default::default() }
    }

    #[test]
    fn start_purges_every_tag_at_and_after_its_step() {
        let mut acc = ScalarAccumulator::new();
        acc.add_event(&version("brain.Event:2"));
        for s in 1..=5 {
            acc.add_event(&scalar(s, "loss", s as f32));
            acc.add_event(&scalar(s, "acc", 0.1));
        }
        acc.add_event(&Event {
            step: 3,
            what: Some(EventWhat::SessionLog(SessionLog::start())),
            ..Default::default()
        });
        acc.add_event(&scalar(3, "loss", 30.0));
        let s = acc.into_series();
        assert_eq!(s["loss"], [(1, 1.0), (2, 2.0), (3, 30.0)]);
        assert_eq!(s["acc"], [(1, 0.1), (2, 0.1)]);
    }

    #[test]
    fn old_files_purge_on_out_of_order_steps_per_tag() {
        let mut acc = ScalarAccumulator::new();
        acc.add_event(&version("brain.Event:1"));
        for s in 1..=4 {
            acc.add_event(&scalar(s, "loss", 1.0));
            acc.add_event(&scalar(s, "acc", 1.0));
        }
        acc.add_event(&scalar(2, "loss", 9.0));
        let s = acc.into_series();
        assert_eq!(s["loss"], [(1, 1.0), (2, 9.0)]);
        assert_eq!(s["acc"].len(), 4);
    }
}
