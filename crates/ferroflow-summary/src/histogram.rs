//! TF's fixed-bucket histogram, from `tsl/lib/histogram/histogram.cc`.
//!
//! The summary op builds one of these over its input and encodes it with
//! [`Histogram::encode_to_proto`], so matching TF's bucket limits and encoding rule byte for byte is
//! what makes our histograms equal TF's.

use ferroflow_proto::HistogramProto;
use std::sync::LazyLock;

static DEFAULT_LIMITS: LazyLock<Vec<f64>> = LazyLock::new(|| {
    // Repeated multiplication, not powers: TF's limits carry its rounding, and bucket edges must
    // be bit-identical for equal protos.
    let mut pos = Vec::with_capacity(774);
    let mut v = 1.0e-12_f64;
    while v < 1.0e20 {
        pos.push(v);
        v *= 1.1;
    }
    let mut limits = Vec::with_capacity(2 * pos.len() + 3);
    limits.push(-f64::MAX);
    limits.extend(pos.iter().rev().map(|x| -x));
    limits.push(0.0);
    limits.extend_from_slice(&pos);
    limits.push(f64::MAX);
    limits
});

/// TF's default bucket limits: `-DBL_MAX`, the negated powers of 1.1 from 1e20 down to 1e-12, 0, the
/// same positive limits, `DBL_MAX` (1551 in all).
pub fn default_bucket_limits() -> &'static [f64] {
    &DEFAULT_LIMITS
}

/// A histogram over TF's default buckets.
///
/// Mirrors `tensorflow::histogram::Histogram` with its default constructor. Bucket `i` counts values
/// in `(limit[i-1], limit[i]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    min: f64,
    max: f64,
    num: f64,
    sum: f64,
    sum_squares: f64,
    buckets: Vec<f64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl Histogram {
    /// An empty histogram over the default buckets.
    pub fn new() -> Self {
        Histogram {
            min: f64::MAX,
            max: -f64::MAX,
            num: 0.0,
            sum: 0.0,
            sum_squares: 0.0,
            buckets: vec![0.0; DEFAULT_LIMITS.len()],
        }
    }

    /// Adds one value; `DBL_MAX` itself lands in the last bucket (TF would index past the end).
    pub fn add(&mut self, value: f64) {
        let limits = default_bucket_limits();
        let bucket = limits.partition_point(|&limit| limit <= value).min(limits.len() - 1);
        if let Some(count) = self.buckets.get_mut(bucket) {
            *count += 1.0;
        }
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.num += 1.0;
        self.sum += value;
        self.sum_squares += value * value;
    }

    /// The number of values added.
    pub fn num(&self) -> f64 {
        self.num
    }

    /// Encodes as TF does. With `preserve_zero_buckets == false` (what the summary op uses), each run
    /// of empty buckets becomes one entry at the limit of its last bucket.
    pub fn encode_to_proto(&self, preserve_zero_buckets: bool) -> HistogramProto {
        let limits = default_bucket_limits();
        let mut bucket_limit = Vec::new();
        let mut bucket = Vec::new();
        let mut i = 0;
        while i < self.buckets.len() {
            let mut end = limits[i];
            let mut count = self.buckets[i];
            i += 1;
            if !preserve_zero_buckets && count <= 0.0 {
                while i < self.buckets.len() && self.buckets[i] <= 0.0 {
                    end = limits[i];
                    count = self.buckets[i];
                    i += 1;
                }
            }
            bucket_limit.push(end);
            bucket.push(count);
        }
        if bucket.is_empty() {
            bucket_limit.push(f64::MAX);
            bucket.push(0.0);
        }
        HistogramProto {
            min: self.min,
            max: self.max,
            num: self.num,
            sum: self.sum,
            sum_squares: self.sum_squares,
            bucket_limit,
            bucket,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_as_in_spec() {
        let limits = default_bucket_limits();
        assert_eq!(limits.len(), 1551);
        assert_eq!(limits[0], -f64::MAX);
        assert_eq!(limits[775], 0.0);
        assert_eq!(limits[776], 1e-12);
        assert_eq!(limits[1550], f64::MAX);
        assert!(limits.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn bucket_rules() {
        // (value, limit of the bucket it must land in, reason)
        let rows = [
            (0.0, 1e-12, "0 is in (0, 1e-12]: upper_bound, first limit strictly greater"),
            (1e-12, 1e-12 * 1.1, "a value equal to a limit goes to the next bucket"),
            (-1e-12, 0.0, "just below zero"),
            (-f64::MAX, default_bucket_limits()[1], "the lowest value"),
            (f64::MAX, f64::MAX, "clamped into the last bucket"),
        ];
        for (value, limit, why) in rows {
            let mut h = Histogram::new();
            h.add(value);
            let proto = h.encode_to_proto(true);
            let idx = proto.bucket.iter().position(|&c| c == 1.0).unwrap();
            assert_eq!(proto.bucket_limit[idx], limit, "{why}");
        }
    }

    #[test]
    fn empty_histogram_encodes_one_collapsed_bucket() {
        let proto = Histogram::new().encode_to_proto(false);
        assert_eq!(proto.bucket_limit, [f64::MAX]);
        assert_eq!(proto.bucket, [0.0]);
        assert_eq!((proto.min, proto.max, proto.num), (f64::MAX, -f64::MAX, 0.0));
    }
}
