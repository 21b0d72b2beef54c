//! Trains a small CNN on the digits data.
