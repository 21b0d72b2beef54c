//! Expected outcome: a small CNN trained for 30 epochs on the 8x8 digits reaches at least 97% held-out
//! accuracy, printed with the final loss (a few seconds in release).
//!
//! Run with `cargo run --release -p ferroflow-session --example cnn_digits`.

#[path = "support/digits_cnn.rs"]
mod digits_cnn;

fn main() -> ferroflow_core::Result<()> {
    let data = digits_cnn::load_digits(&digits_cnn::default_data_path())?;
    let cfg = digits_cnn::TrainConfig::default();
    let start = std::time::Instant::now();
    let report = digits_cnn::train(&data, &cfg)?;
    println!(
        "{} examples, {} steps in {:.2?}: final loss {:.4}, train accuracy {:.4}, held-out accuracy {:.4}",
        data.len(),
        report.steps,
        start.elapsed(),
        report.final_loss,
        report.train_accuracy,
        report.test_accuracy
    );
    Ok(())
}
