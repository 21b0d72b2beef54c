//! Activations, softmax and losses (TF's `nn_ops.py`).
