//! Summary kernels: each serializes a `Summary` built by `ferroflow-summary`, the same bytes TF's kernels
//! produce for the same values.

use crate::kernel::{KernelFactory, KernelInit, OpKernel, OpKernelContext};
use ferroflow_core::{Error, Result, Tensor};
use ferroflow_proto::prost::Message;
use ferroflow_proto::Summary;
use std::collections::HashSet;

pub(crate) const KERNELS: &[(&str, KernelFactory)] = &[
    ("ScalarSummary", scalar),
    ("HistogramSummary", histogram),
    ("TextSummary", text),
    ("ImageSummary", image),
    ("MergeSummary", merge),
];

fn as_f64(t: &Tensor, tag: &str) -> Result<Vec<f64>> {
    let t = t.cast(ferroflow_core::DType::F64).map_err(|e| e.context(format!("summary '{tag}'")))?;
    t.to_vec::<f64>()
}

fn serialized(summary: &Summary) -> Tensor {
    Tensor::string(summary.encode_to_vec())
}

enum Kind {
    Scalar,
    Histogram,
    Text,
    Image(usize),
}

struct SummaryKernel {
    tag: String,
    kind: Kind,
}

impl OpKernel for SummaryKernel {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let input = ctx.input(0)?;
        let tag = self.tag.as_str();
        let summary = match self.kind {
            Kind::Scalar => {
                let v = as_f64(input, tag)?;
                if v.len() != 1 {
                    return Err(Error::invalid_argument(format!(
                        "tags and values are not the same shape: scalar summary '{tag}' got {} values",
                        v.len()
                    )));
                }
                ferroflow_summary::scalar(tag, v[0] as f32)
            }
            Kind::Histogram => ferroflow_summary::histogram(tag, &as_f64(input, tag)?)?,
            Kind::Text => ferroflow_summary::text_tensor(tag, input)?,
            Kind::Image(max) => ferroflow_summary::image(tag, input, max)?,
        };
        ctx.output(serialized(&summary));
        Ok(())
    }
}

fn make(init: &KernelInit<'_>, kind: Kind) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(SummaryKernel { tag: init.node.attrs.str("tag")?.to_string(), kind }))
}

fn scalar(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Kind::Scalar)
}

fn histogram(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Kind::Histogram)
}

fn text(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    make(init, Kind::Text)
}

fn image(init: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    let max = usize::try_from(init.node.attrs.int_or("max_images", 3)).unwrap_or(3);
    make(init, Kind::Image(max))
}

struct Merge;

impl OpKernel for Merge {
    fn compute(&self, ctx: &mut OpKernelContext<'_>) -> Result<()> {
        let mut merged = Summary::default();
        let mut tags = HashSet::new();
        for input in ctx.inputs.iter() {
            for bytes in input.array::<Vec<u8>>()?.iter() {
                let s = Summary::decode(bytes.as_slice()).map_err(|e| {
                    Error::invalid_argument(format!("Could not parse one of the summary inputs: {e}"))
                })?;
                for v in s.value {
                    if !tags.insert(v.tag.clone()) {
                        return Err(Error::invalid_argument(format!(
                            "Duplicate tag {} found in summary inputs",
                            v.tag
                        )));
                    }
                    merged.value.push(v);
                }
            }
        }
        ctx.output(serialized(&merged));
        Ok(())
    }
}

fn merge(_: &KernelInit<'_>) -> Result<Box<dyn OpKernel>> {
    Ok(Box::new(Merge))
}
