//! Where `train` reads examples: the embedded digits (fed batch by batch) or files read by the data
//! crate's input pipeline (MNIST IDX files, TFRecord files of `tf.train.Example`s).

use crate::cli::DataSource;
use crate::CliError;
use ferroflow::datasets::Digits;
use ferroflow_core::{DType, Error, PartialShape, Result, Tensor};
use ferroflow_data::{
    parse_example_dataset, zip, Compression, DatasetExt, DatasetRef, ElementSpec, FeatureSpec,
    FixedLenFeature, IdxDataset, TFRecordDataset,
};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{Example, FeatureKind};
use ferroflow_record::{ReadOutcome, RecordReader, RecordReaderOptions};
use std::path::{Path, PathBuf};

/// The fraction of the embedded digits held out for `eval_accuracy`.
pub const EVAL_FRACTION: f64 = 0.2;

/// Labels are digit classes.
pub const CLASSES: usize = 10;

/// At most this many file examples are held in memory for each accuracy measure (the first ones of the
/// files, unshuffled), so a large data set costs no more than MNIST's test set to evaluate.
pub const EVAL_LIMIT: u64 = 10_000;

/// Examples held in memory: images `[n, features]` float32 and their labels.
#[derive(Debug, Clone)]
pub struct Examples {
    /// Images, one row of `features` values each.
    pub images: Tensor,
    /// Labels 0..9.
    pub labels: Vec<i32>,
}

impl Examples {
    /// How many examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Examples `start..start + n` (clamped to the end).
    ///
    /// # Errors
    /// As tensor slicing.
    pub fn slice(&self, start: usize, n: usize) -> Result<Examples> {
        let end = start.saturating_add(n).min(self.len());
        let start = start.min(end);
        let features = self.images.shape().get(1).copied().unwrap_or(0);
        let rows = start * features..end * features;
        // Copies only the rows taken: this runs for every fed training batch.
        let values = match self.images.array::<f32>()?.as_slice() {
            Some(all) => all[rows].to_vec(),
            None => self.images.to_vec::<f32>()?[rows].to_vec(),
        };
        let images = Tensor::from_vec(&[end - start, features], values)?;
        Ok(Examples { images, labels: self.labels[start..end].to_vec() })
    }
}

/// How training examples reach the model.
#[derive(Debug, Clone)]
pub enum TrainInput {
    /// Fed through placeholders, batch `k` starting at example `k * batch % len`, so a resumed run sees
    /// what an uninterrupted one would.
    Feed(Examples),
    /// Batches of `[images f32 [b, features], labels i32 [b]]` from the input pipeline; its end is the end
    /// of training.
    Pipeline(DatasetRef),
}

/// The data of a training run.
#[derive(Debug, Clone)]
pub struct TrainData {
    /// Values per image.
    pub features: usize,
    /// Height and width of an image, when it is square or known (the CNN needs them).
    pub image: Option<(usize, usize)>,
    /// The training examples.
    pub train: TrainInput,
    /// The examples `train_accuracy` is measured on.
    pub train_eval: Examples,
    /// The examples `eval_accuracy` is measured on.
    pub eval: Examples,
}

/// What the pipeline needs to know about the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Examples per batch.
    pub batch_size: usize,
    /// Passes over the files.
    pub epochs: u64,
    /// Shuffle seed.
    pub seed: u64,
}

/// Loads the data source.
///
/// # Errors
/// A usage error naming the path when the files are missing or do not parse.
pub fn load(source: &DataSource, config: PipelineConfig) -> std::result::Result<TrainData, CliError> {
    match source {
        DataSource::Digits => digits(config.seed).map_err(CliError::from),
        DataSource::Idx(dir) => idx(dir, config)
            .map_err(|e| CliError::from_input(&e).context(format!("--data idx:{}", dir.display()))),
        DataSource::TfRecord(pattern) => tfrecord(pattern, config)
            .map_err(|e| CliError::from_input(&e).context(format!("--data tfrecord:{pattern}"))),
    }
}

fn digits(seed: u64) -> Result<TrainData> {
    let (train, eval) = Digits::load()?.split(EVAL_FRACTION, seed);
    let examples = |d: &Digits| -> Result<Examples> {
        let (images, labels) = d.all()?;
        Ok(Examples { images, labels: labels.to_vec::<i32>()? })
    };
    let train = examples(&train)?;
    Ok(TrainData {
        features: 64,
        image: Some((8, 8)),
        train: TrainInput::Feed(train.clone()),
        train_eval: train,
        eval: examples(&eval)?,
    })
}

/// `DIR/name`, or as some copies of MNIST name it (`.gz`, a dot before `idx`), whichever exists.
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    let dotted = name.replacen("-idx", ".idx", 1);
    [name.to_string(), format!("{name}.gz"), dotted.clone(), format!("{dotted}.gz")]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
}

/// The images and labels IDX files of a split as one dataset of `[image u8 [h, w], label u8]`.
fn idx_pair(images: &Path, labels: &Path) -> Result<(DatasetRef, Vec<usize>)> {
    let images = IdxDataset::new(images)?.into_ref();
    let labels = IdxDataset::new(labels)?.into_ref();
    let dims =
        images.element_spec().shapes.first().and_then(PartialShape::to_shape).map(|s| s.dims().to_vec());
    let Some(dims) = dims else {
        return Err(Error::invalid_argument("the images file has no fixed image shape"));
    };
    Ok((zip(&[images, labels])?, dims))
}

fn idx(dir: &Path, config: PipelineConfig) -> Result<TrainData> {
    if !dir.is_dir() {
        return Err(Error::not_found(format!("{} is not a readable directory", dir.display())));
    }
    let pair = |split: &str| -> Result<Option<(PathBuf, PathBuf)>> {
        let images = find(dir, &format!("{split}-images-idx3-ubyte"));
        let labels = find(dir, &format!("{split}-labels-idx1-ubyte"));
        match (images, labels) {
            (Some(i), Some(l)) => Ok(Some((i, l))),
            (None, None) => Ok(None),
            _ => Err(Error::not_found(format!(
                "{split}-images-idx3-ubyte and {split}-labels-idx1-ubyte must both be there"
            ))),
        }
    };
    let Some((train_images, train_labels)) = pair("train")? else {
        return Err(Error::not_found(
            "no train-images-idx3-ubyte and train-labels-idx1-ubyte (optionally .gz) there",
        ));
    };
    let (train, dims) = idx_pair(&train_images, &train_labels)?;
    let features: usize = dims.iter().product();
    let image = match dims.as_slice() {
        [h, w] => Some((*h, *w)),
        _ => None,
    };
    let to_model = move |ds: &DatasetRef| -> Result<DatasetRef> {
        let spec = ElementSpec::new(
            vec![DType::F32, DType::I32],
            vec![PartialShape::known(&[features]), PartialShape::scalar()],
        )?;
        ds.map(spec, move |e| {
            let (Some(img), Some(label)) = (e.first(), e.get(1)) else {
                return Err(Error::invalid_argument("an IDX element needs an image and a label"));
            };
            // Pixels are bytes 0..255, scaled to [0, 1] as the digits are.
            let pixels: Vec<f32> = img.to_vec::<u8>()?.into_iter().map(|p| f32::from(p) / 255.0).collect();
            Ok(vec![
                Tensor::from_vec(&[features], pixels)?,
                label_tensor(i64::from(label.scalar_value::<u8>()?))?,
            ])
        })
    };
    let train = to_model(&train)?;
    let train_eval = collect(&train)?;
    let eval = match pair("t10k")? {
        Some((images, labels)) => collect(&to_model(&idx_pair(&images, &labels)?.0)?)?,
        None => train_eval.clone(),
    };
    Ok(TrainData {
        features,
        image,
        train: TrainInput::Pipeline(pipeline(&train, config)?),
        train_eval,
        eval,
    })
}

fn tfrecord(pattern: &str, config: PipelineConfig) -> Result<TrainData> {
    let paths =
        glob::glob(pattern).map_err(|e| Error::invalid_argument(format!("not a file pattern: {e}")))?;
    let mut files = Vec::new();
    for p in paths {
        files.push(p.map_err(|e| Error::permission_denied(format!("cannot read {e}")))?);
    }
    let Some(first) = files.first() else {
        return Err(Error::not_found("no file matches"));
    };
    let features = image_length(first)?;
    let spec = FeatureSpec::new(vec![
        ("image".to_string(), FixedLenFeature::new(DType::F32, &[features])),
        ("label".to_string(), FixedLenFeature::new(DType::I64, &[])),
    ])?;
    let parsed = parse_example_dataset(&TFRecordDataset::new(files, Compression::None)?.into_ref(), spec)?;
    let out = ElementSpec::new(
        vec![DType::F32, DType::I32],
        vec![PartialShape::known(&[features]), PartialShape::scalar()],
    )?;
    let train = parsed.map(out, |e| {
        let (Some(img), Some(label)) = (e.first(), e.get(1)) else {
            return Err(Error::invalid_argument("an Example needs `image` and `label`"));
        };
        Ok(vec![img.clone(), label_tensor(label.scalar_value::<i64>()?)?])
    })?;
    let side = (1..=features).find(|s| s * s >= features).filter(|s| s * s == features);
    let train_eval = collect(&train)?;
    Ok(TrainData {
        features,
        image: side.map(|s| (s, s)),
        train: TrainInput::Pipeline(pipeline(&train, config)?),
        eval: train_eval.clone(),
        train_eval,
    })
}

/// The number of floats in the `image` feature of the file's first Example: the feature's length, which
/// a fixed-length parse needs to know.
fn image_length(path: &Path) -> Result<usize> {
    let mut reader = RecordReader::open(path, RecordReaderOptions::default())?;
    let record = match reader.read_record()? {
        ReadOutcome::Record(r) => r,
        _ => return Err(Error::invalid_argument(format!("{} holds no record", path.display()))),
    };
    let example = Example::decode(record.as_slice()).map_err(|e| {
        Error::data_loss(format!("{}: the first record is not an Example: {e}", path.display()))
    })?;
    let feature =
        example.features.as_ref().and_then(|f| f.feature.get("image")).and_then(|f| f.kind.as_ref());
    match feature {
        Some(FeatureKind::FloatList(list)) if !list.value.is_empty() => Ok(list.value.len()),
        _ => Err(Error::invalid_argument(format!(
            "{}: the first Example has no non-empty float list feature `image`",
            path.display()
        ))),
    }
}

fn label_tensor(label: i64) -> Result<Tensor> {
    // The cross-entropy kernel would reject it too, but mid-run and without saying which.
    match i32::try_from(label) {
        Ok(l) if (0..CLASSES as i32).contains(&l) => Ok(Tensor::scalar(l)),
        _ => Err(Error::invalid_argument(format!("label {label} is not a digit class 0..{CLASSES}"))),
    }
}

/// Shuffled, repeated for the epochs and batched.
fn pipeline(examples: &DatasetRef, config: PipelineConfig) -> Result<DatasetRef> {
    let seed = (config.seed & (i64::MAX as u64)) as i64;
    examples.shuffle(10_000, (seed, 0), true)?.repeat(Some(config.epochs)).batch(config.batch_size, false)
}

/// The first [`EVAL_LIMIT`] examples of a dataset of `[image f32 [features], label i32]`, in memory.
fn collect(examples: &DatasetRef) -> Result<Examples> {
    let elements = examples.take(EVAL_LIMIT).collect_elements()?;
    let mut images = Vec::new();
    let mut labels = Vec::with_capacity(elements.len());
    let mut features = 0;
    for e in &elements {
        let (Some(img), Some(label)) = (e.first(), e.get(1)) else {
            return Err(Error::internal("an example needs an image and a label"));
        };
        features = img.num_elements();
        images.extend(img.to_vec::<f32>()?);
        labels.push(label.scalar_value::<i32>()?);
    }
    if labels.is_empty() {
        return Err(Error::invalid_argument("no examples"));
    }
    Ok(Examples { images: Tensor::from_vec(&[labels.len(), features], images)?, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_takes_whole_rows_and_clamps_to_the_end() -> Result<()> {
        let images = Tensor::from_vec(&[4, 2], (0..8).map(|v| v as f32).collect::<Vec<_>>())?;
        let examples = Examples { images, labels: vec![0, 1, 2, 3] };
        let mid = examples.slice(1, 2)?;
        assert_eq!(mid.images.shape(), &[2, 2]);
        assert_eq!(mid.images.to_vec::<f32>()?, vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(mid.labels, vec![1, 2]);
        let tail = examples.slice(3, 5)?;
        assert_eq!((tail.images.to_vec::<f32>()?, tail.labels), (vec![6.0, 7.0], vec![3]));
        assert!(examples.slice(9, 2)?.is_empty());
        Ok(())
    }
}
