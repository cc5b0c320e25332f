//! Solves the Thomson problem (N electrons on the unit sphere, energy sum 1/r) for a range of N
//! with the crate's own energy and gradient, and prints a table.
//!
//! ```sh
//! cargo run --all-features --example thomson -- [max_points] [restarts]
//! ```

use burn::tensor::Device;
use burn_mhe::SphereConfig;

fn main() {
    let mut args = std::env::args().skip(1);
    let max_points: usize = args
        .next()
        .map_or(12, |s| s.parse().expect("max_points: a count"));
    let restarts: usize = args
        .next()
        .map_or(8, |s| s.parse().expect("restarts: a count"));
    let device = Device::flex();
    println!(
        "{:>3} {:>16} {:>14} {:>6}",
        "N", "energy", "min angle", "hits"
    );
    for points in 2..=max_points {
        let solution = SphereConfig::new(points, 3)
            .with_restarts(restarts)
            .solve(&device)
            .expect("a valid problem");
        println!(
            "{points:>3} {:>16.9} {:>14.7} {:>3}/{restarts}",
            solution.energy,
            solution.min_angle_deg.unwrap_or(f64::NAN),
            solution.hits
        );
    }
}
