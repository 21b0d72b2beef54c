//! Summary ops (TF1's `tf.summary.*`): each outputs a serialized `Summary` string and joins the
//! `summaries` collection; `merge`/`merge_all` concatenate them for a `FileWriter`.

use crate::{AttrValue, CollectionItem, GraphBuilder, GraphKeys, NodeSpec, Output};
use ferroflow_core::{DType, Error, PartialShape, Result};

/// TF's `clean_tag`: characters outside `[-/\w.]` become `_`, leading slashes go.
pub fn clean_tag(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, '-' | '/' | '_' | '.') { c } else { '_' })
        .collect();
    cleaned.trim_start_matches('/').to_string()
}

impl GraphBuilder {
    /// TF's `summary_scope`: opens a unique name scope `[family/]name` and returns (tag, node name). The
    /// tag is the scope (with the family prefixed again, so TensorBoard groups it under the family).
    fn summary_scope(&mut self, name: &str, family: Option<&str>) -> (String, String) {
        let name = clean_tag(name);
        let base = match family {
            Some(f) => format!("{}/{name}", clean_tag(f)),
            None => name,
        };
        let scope = self.push_name_scope(&base);
        self.pop_name_scope();
        let tag = match family {
            Some(f) => format!("{}/{scope}", clean_tag(f)),
            None => scope.clone(),
        };
        (tag, scope)
    }

    fn summary_node(
        &mut self,
        op_type: &str,
        name: &str,
        family: Option<&str>,
        input: Output,
        attrs: &[(&str, AttrValue)],
    ) -> Result<Output> {
        let (tag, node_name) = self.summary_scope(name, family);
        let (dtype, _) = self.input_info(&tag, input)?;
        let mut spec = NodeSpec::new(op_type, vec![input])
            .attr("tag", AttrValue::Str(tag))
            .attr("T", AttrValue::Type(dtype))
            .output(DType::String, PartialShape::scalar());
        for (k, v) in attrs {
            spec = spec.attr(k, v.clone());
        }
        // The scope was opened once to make it unique; the node takes its exact name.
        let op = self.add_node(spec.name(Some(&format!("{node_name}/"))))?;
        let out = op.output(0);
        self.add_to_collection(GraphKeys::SUMMARIES, CollectionItem::Tensor(out))?;
        Ok(out)
    }

    /// `tf.summary.scalar(name, tensor, family)`: a scalar summary of a one-element numeric tensor.
    ///
    /// # Errors
    /// `InvalidArgument` when the tensor is not numeric or has more than one element.
    pub fn scalar_summary(&mut self, name: &str, tensor: Output, family: Option<&str>) -> Result<Output> {
        let (dtype, shape) = self.input_info(name, tensor)?;
        if !dtype.is_numeric() || shape.to_shape().is_some_and(|s| s.num_elements() != 1) {
            return Err(Error::invalid_argument(format!(
                "scalar summary '{name}': tensor '{}' must be a numeric scalar, got {dtype} {shape}",
                self.output_name(tensor)
            )));
        }
        self.summary_node("ScalarSummary", name, family, tensor, &[])
    }

    /// `tf.summary.histogram(name, values, family)` with TF's default buckets.
    ///
    /// # Errors
    /// `InvalidArgument` for non-numeric values.
    pub fn histogram_summary(&mut self, name: &str, values: Output, family: Option<&str>) -> Result<Output> {
        let (dtype, _) = self.input_info(name, values)?;
        if !dtype.is_numeric() {
            return Err(Error::invalid_argument(format!(
                "histogram summary '{name}': values must be numeric, got {dtype}"
            )));
        }
        self.summary_node("HistogramSummary", name, family, values, &[])
    }

    /// `tf.summary.text(name, tensor)`: strings shown by TensorBoard's text plugin.
    ///
    /// # Errors
    /// `InvalidArgument` for a non-string tensor.
    pub fn text_summary(&mut self, name: &str, tensor: Output) -> Result<Output> {
        let (dtype, _) = self.input_info(name, tensor)?;
        if dtype != DType::String {
            return Err(Error::invalid_argument(format!(
                "text summary '{name}': expected a string tensor, got {dtype}"
            )));
        }
        self.summary_node("TextSummary", name, None, tensor, &[])
    }

    /// `tf.summary.image(name, tensor, max_outputs, family)`: PNG images of a `[batch, h, w, c]` tensor.
    ///
    /// # Errors
    /// `InvalidArgument` for a tensor that is not 4-D or `max_outputs` of 0.
    pub fn image_summary(
        &mut self,
        name: &str,
        tensor: Output,
        max_outputs: usize,
        family: Option<&str>,
    ) -> Result<Output> {
        let (_, shape) = self.input_info(name, tensor)?;
        if shape.rank().is_some_and(|r| r != 4) || max_outputs == 0 {
            return Err(Error::invalid_argument(format!(
                "image summary '{name}': expected a [batch, height, width, channels] tensor and max_outputs >= 1, got {shape} and {max_outputs}"
            )));
        }
        self.summary_node(
            "ImageSummary",
            name,
            family,
            tensor,
            &[("max_images", AttrValue::Int(max_outputs as i64))],
        )
    }

    /// `tf.summary.merge(inputs)`: one `Summary` holding every value of the inputs.
    ///
    /// # Errors
    /// `InvalidArgument` for no inputs or a non-string input.
    pub fn merge_summary(&mut self, inputs: &[Output]) -> Result<Output> {
        if inputs.is_empty() {
            return Err(Error::invalid_argument("merge_summary needs at least one input"));
        }
        for &i in inputs {
            if self.dtype(i)? != DType::String {
                return Err(Error::invalid_argument(format!(
                    "merge_summary: '{}' is not a string tensor",
                    self.output_name(i)
                )));
            }
        }
        let spec = NodeSpec::new("MergeSummary", inputs.to_vec())
            .attr("N", AttrValue::Int(inputs.len() as i64))
            .output(DType::String, PartialShape::scalar());
        Ok(self.add_node(spec)?.output(0))
    }

    /// `tf.summary.merge_all(key)`: merges the collection (`summaries` when `None`), or `None` when it is
    /// empty, as in TF.
    ///
    /// # Errors
    /// As [`merge_summary`](Self::merge_summary).
    pub fn merge_all_summaries(&mut self, key: Option<&str>) -> Result<Option<Output>> {
        let items: Vec<Output> = self
            .collection(key.unwrap_or(GraphKeys::SUMMARIES))
            .iter()
            .filter_map(CollectionItem::as_tensor)
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        self.merge_summary(&items).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflow_core::Tensor;

    #[test]
    fn tags_follow_tf_scope_and_family_rules() -> Result<()> {
        let mut g = GraphBuilder::new();
        let x = g.constant(Tensor::scalar(1.0f32))?;
        let a = g.scalar_summary("loss", x, None)?;
        let b = g.scalar_summary("loss", x, None)?;
        let c = g.with_name_scope("train", |g| g.scalar_summary("lr rate", x, None))?;
        let d = g.scalar_summary("acc", x, Some("eval"))?;
        let tag =
            |g: &GraphBuilder, o: Output| g.node(o.op()).map(|n| n.attrs.str("tag").map(str::to_string));
        assert_eq!(tag(&g, a)??, "loss");
        assert_eq!(tag(&g, b)??, "loss_1");
        assert_eq!(tag(&g, c)??, "train/lr_rate");
        assert_eq!(tag(&g, d)??, "eval/eval/acc");
        assert_eq!(g.op_name(a.op()), "loss");
        assert_eq!(g.op_name(d.op()), "eval/acc");
        assert_eq!(g.collection(GraphKeys::SUMMARIES).len(), 4);
        assert!(g.merge_all_summaries(None)?.is_some());
        assert!(g.merge_all_summaries(Some("other"))?.is_none());
        let v = g.constant(Tensor::vector(vec![1.0f32, 2.0]))?;
        assert_eq!(
            g.scalar_summary("bad", v, None).unwrap_err().code(),
            ferroflow_core::Code::InvalidArgument
        );
        Ok(())
    }
}
