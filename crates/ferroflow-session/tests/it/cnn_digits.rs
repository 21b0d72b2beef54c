//! Trains the digits CNN of the `cnn_digits` example with a fixed seed and checks held-out accuracy.

#[path = "../../examples/support/digits_cnn.rs"]
#[allow(dead_code)]
mod digits_cnn;

#[test]
fn cnn_reaches_97_percent_on_held_out_digits() -> ferroflow_core::Result<()> {
    let data = digits_cnn::load_digits(&digits_cnn::default_data_path())?;
    assert_eq!(data.len(), 1797);
    let report = digits_cnn::train(&data, &digits_cnn::TrainConfig::default())?;
    assert!(report.test_accuracy >= 0.97, "{report:?}");
    Ok(())
}
