//! Whether a run has stopped changing: the check the 30-epoch experiments were planned with
//! (docs/results.md), applied to every sweep whose runs are long enough for it.

use serde::{Deserialize, Serialize};

use crate::results::TrainResults;

/// Epochs the check looks back over: the last record against the one this many epochs before.
pub const CONVERGENCE_WINDOW: usize = 5;

/// The largest change of training accuracy over the window of a converged run (a fraction:
/// 0.1 points).
pub const CONVERGED_TRAIN_ACCURACY_CHANGE: f64 = 0.001;

/// The largest change of validation loss over the window of a converged run.
pub const CONVERGED_VALID_LOSS_CHANGE: f64 = 0.005;

/// How many runs of a configuration pass the convergence check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    /// Runs that pass.
    pub passed: usize,
    /// The seeds of the runs that do not.
    pub failed_seeds: Vec<u64>,
}

impl Convergence {
    /// The check over `runs`: a run passes when, between the epoch [`CONVERGENCE_WINDOW`]
    /// epochs before its last and its last, training accuracy changes by less than
    /// [`CONVERGED_TRAIN_ACCURACY_CHANGE`] and validation loss by less than
    /// [`CONVERGED_VALID_LOSS_CHANGE`]. `None` unless every run has more epochs than the window.
    pub fn of(runs: &[TrainResults]) -> Option<Self> {
        if runs.iter().any(|r| r.history.len() <= CONVERGENCE_WINDOW) {
            return None;
        }
        let (passing, failing): (Vec<&TrainResults>, Vec<&TrainResults>) =
            runs.iter().partition(|r| settled(r));
        Some(Self {
            passed: passing.len(),
            failed_seeds: failing
                .iter()
                .map(|r| r.config["seed"].as_u64().unwrap_or(u64::MAX))
                .collect(),
        })
    }
}

/// Whether `run`'s last [`CONVERGENCE_WINDOW`] epochs moved training accuracy and validation
/// loss less than the thresholds.
fn settled(run: &TrainResults) -> bool {
    let last = &run.history[run.history.len() - 1];
    let before = &run.history[run.history.len() - 1 - CONVERGENCE_WINDOW];
    (last.train_accuracy - before.train_accuracy).abs() < CONVERGED_TRAIN_ACCURACY_CHANGE
        && (last.valid_loss - before.valid_loss).abs() < CONVERGED_VALID_LOSS_CHANGE
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn_mhe_train::EpochRecord;

    fn run(seed: u64, curve: &[(f64, f64)]) -> TrainResults {
        let history = curve
            .iter()
            .enumerate()
            .map(|(e, &(train_accuracy, valid_loss))| EpochRecord {
                epoch: e + 1,
                train_loss: 0.0,
                train_accuracy,
                valid_loss,
                valid_accuracy: 0.0,
                hidden_energy: 0.0,
                output_energy: 0.0,
                seconds: 1.0,
            })
            .collect();
        TrainResults::of_history(seed, history)
    }

    #[test]
    fn runs_are_converged_when_the_last_five_epochs_barely_move() {
        // Epoch 2 is five before the last (7): 0.9000 -> 0.9009 and 0.300 -> 0.296 pass.
        let flat = [
            (0.5, 0.9),
            (0.9, 0.3),
            (0.95, 0.1),
            (0.9, 0.3),
            (0.9, 0.3),
            (0.9, 0.3),
            (0.9009, 0.296),
        ];
        // Training accuracy moves 0.12 points, or validation loss 0.006: not converged.
        let rising = flat.map(|(a, l)| (if a == 0.9009 { 0.9012 } else { a }, l));
        let falling = flat.map(|(a, l)| (a, if l == 0.296 { 0.294 } else { l }));
        let check = Convergence::of(&[run(3, &flat), run(4, &rising), run(5, &falling)]).unwrap();
        assert_eq!(check.passed, 1);
        assert_eq!(check.failed_seeds, [4, 5]);
        // Five epochs are too few to check: the window needs one more.
        assert_eq!(Convergence::of(&[run(0, &flat[..5])]), None);
    }
}
