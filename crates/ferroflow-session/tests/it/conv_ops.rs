//! Forward values, shape inference, batch normalization updates and dropout.
