//! The MLP example reaches the accuracy the core issue promises.

use ferroflow::{train_digits_mlp, DigitsConfig};

#[test]
fn mlp_on_digits_reaches_95_percent_held_out() -> ferroflow::core::Result<()> {
    let report = train_digits_mlp(&DigitsConfig::default())?;
    assert!(report.eval_accuracy >= 0.95, "held-out accuracy {report:?}");
    assert!(report.final_loss.is_finite());
    Ok(())
}
