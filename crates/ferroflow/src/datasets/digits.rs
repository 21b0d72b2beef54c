//! The UCI "Optical Recognition of Handwritten Digits" data set, embedded (57 KB gzipped CSV).

use ferroflow_core::{Error, Result, Tensor};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::io::Read;

/// The gzipped CSV: 1797 rows of 64 pixel values (0..16) and a label (0..9).
/// E. Alpaydin, C. Kaynak, UCI Machine Learning Repository, 1998; CC BY 4.0.
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../../../data/digits.csv.gz");

/// The digits: 8x8 grey images with pixel values scaled to `[0, 1]`, and labels 0..9.
#[derive(Debug, Clone)]
pub struct Digits {
    /// Pixel rows, 64 values each.
    pub images: Vec<[f32; 64]>,
    /// Labels, one per image.
    pub labels: Vec<i32>,
}

impl Digits {
    /// Loads the embedded copy.
    ///
    /// # Errors
    /// `DataLoss` if the embedded bytes do not decode (a corrupted build).
    pub fn load() -> Result<Digits> {
        Digits::parse_gz(DIGITS_CSV_GZ)
    }

    /// Parses gzipped CSV rows of 64 pixels and a label.
    ///
    /// # Errors
    /// `DataLoss` naming the line for a malformed row.
    pub fn parse_gz(bytes: &[u8]) -> Result<Digits> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| Error::data_loss(format!("digits data: {e}")))?;
        let mut images = Vec::new();
        let mut labels = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let values: Vec<f32> = line
                .split(',')
                .map(|v| v.trim().parse::<f32>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| Error::data_loss(format!("digits data line {}: {e}", i + 1)))?;
            if values.len() != 65 {
                return Err(Error::data_loss(format!(
                    "digits data line {}: {} values, expected 65",
                    i + 1,
                    values.len()
                )));
            }
            let mut img = [0f32; 64];
            for (p, v) in img.iter_mut().zip(&values) {
                *p = v / 16.0;
            }
            images.push(img);
            labels.push(values[64] as i32);
        }
        Ok(Digits { images, labels })
    }

    /// The number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// A seeded shuffle split into (train, test) with `test_fraction` of the examples held out.
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Digits, Digits) {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let n_test = ((self.len() as f64) * test_fraction).round() as usize;
        let pick = |idx: &[usize]| Digits {
            images: idx.iter().map(|&i| self.images[i]).collect(),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
        };
        (pick(&order[n_test..]), pick(&order[..n_test]))
    }

    /// Examples `[start, start + n)` (wrapping around) as an image tensor `[n, 64]` and labels `[n]`.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty data set.
    pub fn batch(&self, start: usize, n: usize) -> Result<(Tensor, Tensor)> {
        if self.is_empty() {
            return Err(Error::invalid_argument("cannot batch an empty data set"));
        }
        let mut x = Vec::with_capacity(n * 64);
        let mut y = Vec::with_capacity(n);
        for k in 0..n {
            let i = (start + k) % self.len();
            x.extend_from_slice(&self.images[i]);
            y.push(self.labels[i]);
        }
        Ok((Tensor::from_vec(&[n, 64], x)?, Tensor::from_vec(&[n], y)?))
    }

    /// All examples as one batch.
    ///
    /// # Errors
    /// `InvalidArgument` for an empty data set.
    pub fn all(&self) -> Result<(Tensor, Tensor)> {
        self.batch(0, self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_all_rows() -> Result<()> {
        let d = Digits::load()?;
        assert_eq!(d.len(), 1797);
        assert!(d.labels.iter().all(|l| (0..10).contains(l)));
        assert!(d.images.iter().flatten().all(|p| (0.0..=1.0).contains(p)));
        let (train, test) = d.split(0.2, 1);
        assert_eq!(train.len() + test.len(), 1797);
        assert_eq!(test.len(), 359);
        assert!(Digits::parse_gz(b"not gzip").is_err());
        Ok(())
    }
}
