//! Trains an MLP on the embedded digits with a plain Session loop; expect eval accuracy of about 0.97.

fn main() -> ferroflow::core::Result<()> {
    let config = ferroflow::DigitsConfig::default();
    let start = std::time::Instant::now();
    let report = ferroflow::train_digits_mlp(&config)?;
    println!(
        "{{\"steps\":{},\"loss\":{:.4},\"train_accuracy\":{:.4},\"eval_accuracy\":{:.4},\"seconds\":{:.2}}}",
        config.steps,
        report.final_loss,
        report.train_accuracy,
        report.eval_accuracy,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
