//! Host-side builders of `Summary` protos: what TF1's summary ops compute (`tf.compat.v1.summary.*`).
//!
//! They are pure functions of their inputs so the graph's summary kernels can call them and serialize
//! the result into their string output, and tests can compare them with TF's protos directly.

use crate::Histogram;
use ferroflow_core::{DType, Error, Result, Tensor};
use ferroflow_proto::{
    HistogramProto, PluginData, Summary, SummaryImage, SummaryMetadata, SummaryValue, SummaryValueKind,
    TensorProto,
};

/// The text plugin's name, as TF's text summary writes it.
pub const TEXT_PLUGIN_NAME: &str = "text";

/// A TF1-style scalar: `simple_value`, no metadata.
///
/// Mirrors `tf.compat.v1.summary.scalar` (the `ScalarSummary` op).
///
/// # Examples
///
/// ```
/// use ferroflow_proto::SummaryValueKind;
/// let summary = ferroflow_summary::scalar("loss", 0.25);
/// assert_eq!(summary.value[0].tag, "loss");
/// assert_eq!(summary.value[0].value, Some(SummaryValueKind::SimpleValue(0.25)));
/// ```
pub fn scalar(tag: &str, value: f32) -> Summary {
    Summary {
        value: vec![SummaryValue {
            tag: tag.to_owned(),
            value: Some(SummaryValueKind::SimpleValue(value)),
            ..Default::default()
        }],
    }
}

/// The `HistogramProto` TF's `HistogramSummary` op produces for these values (default buckets, empty
/// runs collapsed).
///
/// # Errors
/// `InvalidArgument` naming the tag if a value is NaN or infinite, as TF.
pub fn histogram_proto(tag: &str, values: &[f64]) -> Result<HistogramProto> {
    let mut h = Histogram::new();
    for &v in values {
        if !v.is_finite() {
            let what = if v.is_nan() { "Nan" } else { "Infinity" };
            return Err(Error::invalid_argument(format!("{what} in summary histogram for: {tag}")));
        }
        h.add(v);
    }
    Ok(h.encode_to_proto(false))
}

/// A TF1-style histogram: `histo` over TF's default buckets, no metadata.
///
/// Mirrors `tf.compat.v1.summary.histogram` (the `HistogramSummary` op): for the same values (in
/// the same order, since sums are accumulated in order) the proto is equal to TF's. Pass `f32` data
/// converted with `f64::from`, as TF does.
///
/// # Errors
/// `InvalidArgument` naming the tag if a value is NaN or infinite.
///
/// # Examples
///
/// ```
/// use ferroflow_proto::SummaryValueKind;
/// # fn main() -> ferroflow_core::Result<()> {
/// let summary = ferroflow_summary::histogram("weights", &[0.5, 1.0, 1.0])?;
/// let Some(SummaryValueKind::Histo(h)) = &summary.value[0].value else { unreachable!() };
/// assert_eq!((h.num, h.sum, h.min, h.max), (3.0, 2.5, 0.5, 1.0));
/// # Ok(())
/// # }
/// ```
pub fn histogram(tag: &str, values: &[f64]) -> Result<Summary> {
    let histo = histogram_proto(tag, values)?;
    Ok(Summary {
        value: vec![SummaryValue {
            tag: tag.to_owned(),
            value: Some(SummaryValueKind::Histo(histo)),
            ..Default::default()
        }],
    })
}

/// A text summary of a rank-1 string tensor, as `tf.compat.v1.summary.text(tag, strings)` writes it.
///
/// # Examples
///
/// ```
/// # fn main() -> ferroflow_core::Result<()> {
/// let summary = ferroflow_summary::text("notes", &["hello", "world"])?;
/// let meta = summary.value[0].metadata.as_ref().and_then(|m| m.plugin_data.as_ref());
/// assert_eq!(meta.map(|p| p.plugin_name.as_str()), Some("text"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// None in practice; the `Result` is that of [`text_tensor`].
pub fn text<S: AsRef<str>>(tag: &str, strings: &[S]) -> Result<Summary> {
    let values: Vec<Vec<u8>> = strings.iter().map(|s| s.as_ref().as_bytes().to_vec()).collect();
    text_tensor(tag, &Tensor::from_vec(&[values.len()], values)?)
}

/// A text summary of a string tensor of any shape: a `DT_STRING` tensor value with the text plugin's
/// metadata (`plugin_name = "text"`, empty content: `TextPluginData{version: 0}` serializes to nothing).
///
/// Mirrors `tf.compat.v1.summary.text`.
///
/// # Errors
/// `InvalidArgument` naming the tag if the tensor is not a string tensor.
pub fn text_tensor(tag: &str, strings: &Tensor) -> Result<Summary> {
    if strings.dtype() != DType::String {
        return Err(Error::invalid_argument(format!(
            "text summary {tag}: expected a string tensor, got {}",
            strings.dtype()
        )));
    }
    Ok(Summary {
        value: vec![SummaryValue {
            tag: tag.to_owned(),
            metadata: Some(SummaryMetadata {
                plugin_data: Some(PluginData {
                    plugin_name: TEXT_PLUGIN_NAME.to_owned(),
                    content: Vec::new(),
                }),
                ..Default::default()
            }),
            value: Some(SummaryValueKind::Tensor(TensorProto::from_tensor(strings))),
            ..Default::default()
        }],
    })
}

/// PNG image summaries of a `[batch, height, width, channels]` tensor, at most `max_outputs` of them.
///
/// Mirrors `tf.compat.v1.summary.image` (the `ImageSummary` op):
/// - channels 1 (gray), 3 (RGB) or 4 (RGBA), stored in `colorspace`;
/// - `u8` pixels are written as they are; `f32`/`f64` pixels are rescaled per image: without
///   negative values the maximum maps to 255, otherwise 0 maps to 128 and the largest magnitude to
///   127 away from it; pixels with a non-finite channel become red (TF's default `bad_color`);
/// - tags are `tag/image` when `max_outputs == 1`, else `tag/image/0`, `tag/image/1`, ...
///
/// Difference: `f64` images are converted to `f32` before rescaling.
///
/// # Errors
/// `InvalidArgument` naming the tag for another rank, channel count or dtype, for `max_outputs == 0`,
/// or for an image too large for TF's int32 sizes; `Internal` if PNG encoding fails.
///
/// # Examples
///
/// ```
/// use ferroflow_core::Tensor;
/// # fn main() -> ferroflow_core::Result<()> {
/// let batch = Tensor::from_vec(&[2, 4, 4, 3], vec![0.5f32; 2 * 4 * 4 * 3])?;
/// let summary = ferroflow_summary::image("input", &batch, 3)?;
/// let tags: Vec<&str> = summary.value.iter().map(|v| v.tag.as_str()).collect();
/// assert_eq!(tags, ["input/image/0", "input/image/1"]);
/// # Ok(())
/// # }
/// ```
pub fn image(tag: &str, images: &Tensor, max_outputs: usize) -> Result<Summary> {
    let bad = |what: String| Error::invalid_argument(format!("image summary {tag}: {what}"));
    if max_outputs == 0 {
        return Err(bad("max_outputs must be at least 1".into()));
    }
    let &[batch, height, width, channels] = images.shape() else {
        return Err(bad(format!(
            "expected a 4-D tensor [batch, height, width, channels], got shape {:?}",
            images.shape()
        )));
    };
    if !matches!(channels, 1 | 3 | 4) {
        return Err(bad(format!("the last dimension must be 1, 3 or 4 channels, got {channels}")));
    }
    let (Ok(h32), Ok(w32)) = (u32::try_from(height), u32::try_from(width)) else {
        return Err(bad(format!("image of {height}x{width} is too large")));
    };
    if i32::try_from(h32).is_err() || i32::try_from(w32).is_err() {
        return Err(bad(format!("image of {height}x{width} is too large")));
    }
    let pixels = height * width;
    let per_image = pixels * channels;
    let pixels_u8: Vec<u8> = match images.dtype() {
        DType::U8 => images.to_vec::<u8>()?,
        DType::F32 => normalize_float_images(&images.to_vec::<f32>()?, per_image, channels),
        DType::F64 => {
            let as_f32: Vec<f32> = images.to_vec::<f64>()?.into_iter().map(|v| v as f32).collect();
            normalize_float_images(&as_f32, per_image, channels)
        }
        other => return Err(bad(format!("unsupported dtype {other} (expected uint8, float32 or float64)"))),
    };
    let mut value = Vec::new();
    for i in 0..batch.min(max_outputs) {
        let data = pixels_u8.get(i * per_image..(i + 1) * per_image).ok_or_else(|| {
            Error::internal(format!("image summary {tag}: image {i} is outside the {batch}-image tensor"))
        })?;
        let encoded = encode_png(data, w32, h32, channels)
            .map_err(|e| Error::internal(format!("image summary {tag}: PNG encoding failed: {e}")))?;
        let value_tag = if max_outputs == 1 { format!("{tag}/image") } else { format!("{tag}/image/{i}") };
        value.push(SummaryValue {
            tag: value_tag,
            value: Some(SummaryValueKind::Image(SummaryImage {
                height: h32 as i32,
                width: w32 as i32,
                colorspace: channels as i32,
                encoded_image_string: encoded,
            })),
            ..Default::default()
        });
    }
    Ok(Summary { value })
}

/// TF's `NormalizeFloatImage`, applied to each image of the batch separately.
fn normalize_float_images(values: &[f32], per_image: usize, channels: usize) -> Vec<u8> {
    const BAD_COLOR: [u8; 4] = [255, 0, 0, 255];
    const ZERO_THRESHOLD: f32 = 1e-6;
    let mut out = Vec::with_capacity(values.len());
    for img in values.chunks(per_image.max(1)) {
        let finite_pixels = || img.chunks(channels).filter(|px| px.iter().all(|v| v.is_finite()));
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for px in finite_pixels() {
            for &v in px {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        let (scale, offset) = if lo < 0.0 {
            let max_val = lo.abs().max(hi.abs());
            (if max_val < ZERO_THRESHOLD { 0.0 } else { 127.0 / max_val }, 128.0)
        } else {
            (if hi < ZERO_THRESHOLD { 0.0 } else { 255.0 / hi }, 0.0)
        };
        for px in img.chunks(channels) {
            if px.iter().all(|v| v.is_finite()) {
                // `as u8` truncates like Eigen's cast; the affine map keeps values inside 0..=255.
                out.extend(px.iter().map(|&v| (v * scale + offset) as u8));
            } else {
                out.extend_from_slice(&BAD_COLOR[..channels]);
            }
        }
    }
    out
}

fn encode_png(
    data: &[u8],
    width: u32,
    height: u32,
    channels: usize,
) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(match channels {
            1 => png::ColorType::Grayscale,
            3 => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        });
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(data)?;
        writer.finish()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_core::Code;

    #[test]
    fn histogram_rejects_non_finite() {
        for v in [f64::NAN, f64::INFINITY] {
            let err = histogram("w", &[1.0, v]).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument);
            assert!(err.message().ends_with("summary histogram for: w"), "{err}");
        }
    }

    #[test]
    fn float_images_are_rescaled_like_tf() {
        // (pixels of one 1x2 gray image, expected bytes, reason)
        let rows: [(&[f32], [u8; 2], &str); 4] = [
            (&[0.0, 2.0], [0, 255], "non-negative: max maps to 255"),
            (&[-1.0, 0.5], [1, 191], "negatives: 0 -> 128, scale 127 / max |v|, truncated"),
            (&[0.0, 0.0], [0, 0], "all zero: scale 0"),
            (&[f32::NAN, 1.0], [255, 255], "non-finite pixel: bad color red channel"),
        ];
        for (pixels, want, why) in rows {
            assert_eq!(normalize_float_images(pixels, 2, 1), want, "{why}");
        }
    }

    #[test]
    fn image_tags_and_png() {
        let t = Tensor::from_vec(&[3, 2, 5, 4], vec![7u8; 3 * 2 * 5 * 4]).unwrap();
        let one = image("x", &t, 1).unwrap();
        assert_eq!(one.value.len(), 1);
        assert_eq!(one.value[0].tag, "x/image");
        let Some(SummaryValueKind::Image(img)) = &one.value[0].value else { panic!("not an image") };
        assert_eq!((img.height, img.width, img.colorspace), (2, 5, 4));
        assert_eq!(&img.encoded_image_string[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(img.encoded_image_string.as_slice());
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        reader.next_frame(&mut buf).unwrap();
        assert_eq!(buf, vec![7u8; 2 * 5 * 4]);
        assert_eq!(image("x", &t, 10).unwrap().value.len(), 3);
    }

    #[test]
    fn image_rejects_bad_shapes() {
        // (tensor, max_outputs, reason)
        let rows = [
            (Tensor::zeros(DType::U8, &[2, 2, 2]), 1, "rank 3"),
            (Tensor::zeros(DType::U8, &[1, 2, 2, 2]), 1, "2 channels"),
            (Tensor::zeros(DType::I32, &[1, 2, 2, 1]), 1, "int32"),
            (Tensor::zeros(DType::U8, &[1, 2, 2, 1]), 0, "max_outputs 0"),
        ];
        for (t, max_outputs, why) in rows {
            let err = image("img", &t, max_outputs).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{why}");
            assert!(err.message().contains("img"), "{why}: {err}");
        }
    }

    #[test]
    fn text_requires_strings() {
        assert_eq!(text_tensor("t", &Tensor::scalar(1.0f32)).unwrap_err().code(), Code::InvalidArgument);
        let s = text("t", &["a"]).unwrap();
        let Some(SummaryValueKind::Tensor(t)) = &s.value[0].value else { panic!("not a tensor") };
        assert_eq!(t.string_val, [b"a".to_vec()]);
    }
}
