//! Export to TensorFlow's `GraphDef`, for TensorBoard's graph tab (`FileWriter::add_graph`).

use crate::{AttrValue, Graph, Node};
use ferroflow_proto::prost::Message;
use ferroflow_proto::{
    AttrValueKind, AttrValueProto, GraphDef, ListValue, NodeDef, TensorProto, TensorShapeProto, VersionDef,
};

/// The `producer` version TensorFlow 2.21 writes into graphs.
const GRAPH_DEF_VERSION: i32 = 1994;

fn attr_proto(value: &AttrValue) -> AttrValueProto {
    let kind = match value {
        AttrValue::Int(v) => AttrValueKind::I(*v),
        AttrValue::Float(v) => AttrValueKind::F(*v as f32),
        AttrValue::Bool(v) => AttrValueKind::B(*v),
        AttrValue::Type(d) => AttrValueKind::Type(d.to_proto()),
        AttrValue::Shape(s) => AttrValueKind::Shape(TensorShapeProto::from_partial(s)),
        AttrValue::Str(s) => AttrValueKind::S(s.as_bytes().to_vec()),
        AttrValue::Tensor(t) => AttrValueKind::Tensor(TensorProto::from_tensor(t)),
        AttrValue::Ints(v) => AttrValueKind::List(ListValue { i: v.clone(), ..Default::default() }),
        AttrValue::Floats(v) => {
            AttrValueKind::List(ListValue { f: v.iter().map(|&f| f as f32).collect(), ..Default::default() })
        }
        AttrValue::Types(v) => AttrValueKind::List(ListValue {
            r#type: v.iter().map(|d| d.to_proto()).collect(),
            ..Default::default()
        }),
        AttrValue::Strs(v) => AttrValueKind::List(ListValue {
            s: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..Default::default()
        }),
    };
    AttrValueProto { value: Some(kind) }
}

impl Graph {
    fn node_def(&self, node: &Node) -> NodeDef {
        let mut input: Vec<String> = node
            .inputs
            .iter()
            .map(|o| {
                let name = self.op_name(o.op());
                if o.index() == 0 {
                    name.to_string()
                } else {
                    format!("{name}:{}", o.index())
                }
            })
            .collect();
        // Variable updates name their variable in an attribute; as an input edge TensorBoard draws it.
        if let Ok(var) = node.attrs.str("var") {
            input.insert(0, var.to_string());
        }
        input.extend(node.control_inputs.iter().map(|c| format!("^{}", self.op_name(*c))));
        let mut attr: std::collections::HashMap<String, AttrValueProto> =
            node.attrs.0.iter().map(|(k, v)| (k.clone(), attr_proto(v))).collect();
        if !node.output_shapes.is_empty() {
            attr.insert(
                "_output_shapes".to_string(),
                AttrValueProto {
                    value: Some(AttrValueKind::List(ListValue {
                        shape: node.output_shapes.iter().map(TensorShapeProto::from_partial).collect(),
                        ..Default::default()
                    })),
                },
            );
        }
        NodeDef {
            name: node.name.clone(),
            op: node.op_type.clone(),
            input,
            device: node.device.clone(),
            attr,
        }
    }

    /// The graph as TensorFlow's `GraphDef` message.
    pub fn to_graph_def(&self) -> GraphDef {
        GraphDef {
            node: self.nodes().iter().map(|n| self.node_def(n)).collect(),
            versions: Some(VersionDef {
                producer: GRAPH_DEF_VERSION,
                min_consumer: 0,
                bad_consumers: Vec::new(),
            }),
        }
    }

    /// The serialized `GraphDef`, as `FileWriter::add_graph` takes it.
    pub fn to_graph_def_bytes(&self) -> Vec<u8> {
        self.to_graph_def().encode_to_vec()
    }
}

#[cfg(test)]
mod tests {
    use crate::{GraphBuilder, Initializer, VariableOptions};
    use ferroflow_core::{DType, PartialShape, Result};

    #[test]
    fn nodes_inputs_and_control_edges_are_exported() -> Result<()> {
        let mut g = GraphBuilder::new();
        let x = g.placeholder(DType::F32, PartialShape::new(vec![None, Some(2)]), "x")?;
        let w = g.get_variable("w", &[2, 1], DType::F32, Initializer::Zeros, VariableOptions::default())?;
        let y = g.matmul(x, w.value(), false, false)?;
        let _ = g.with_dependencies(&[w.initializer], y)?;
        let def = g.finalize().to_graph_def();
        let matmul = def.node.iter().find(|n| n.op == "MatMul").expect("MatMul exported");
        assert_eq!(matmul.input, vec!["x".to_string(), "w".to_string()]);
        let assign = def.node.iter().find(|n| n.name == "w/Assign").expect("initializer exported");
        assert_eq!(assign.input[0], "w");
        let ident = def.node.iter().find(|n| n.op == "Identity").expect("identity exported");
        assert!(ident.input.contains(&"^w/Assign".to_string()));
        assert!(def.node.iter().find(|n| n.name == "x").expect("x").attr.contains_key("shape"));
        Ok(())
    }
}
