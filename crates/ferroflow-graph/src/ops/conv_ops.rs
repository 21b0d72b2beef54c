//! Convolution, pooling, batch normalization and dropout (TF's `nn_ops.py` conv family).
