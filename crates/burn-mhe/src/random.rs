//! Deterministic standard normal values from a seed, identical on every platform and device.

/// `len` independent standard normal values: a SplitMix64 stream through the Box-Muller
/// transform. The same seed gives the same values everywhere.
pub(crate) fn gaussian_values(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed;
    let mut uniform = move || ((split_mix64(&mut state) >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    (0..len)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * core::f64::consts::PI * v).cos()
        })
        .collect()
}

/// The next value of a SplitMix64 stream whose state is `state` (Steele, Lea and Flood 2014):
/// a fast, statistically sound 64-bit generator with no dependencies, the same everywhere.
///
/// ```
/// let mut state = 0;
/// assert_eq!(burn_mhe::split_mix64(&mut state), 0xE220_A839_7B1D_CDAF);
/// ```
pub fn split_mix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_values_are_standard_normal_and_repeatable() {
        let values = gaussian_values(10_000, 7);
        let mean = values.iter().sum::<f64>() / 1e4;
        let variance = values.iter().map(|x| x * x).sum::<f64>() / 1e4;
        assert!(mean.abs() < 0.05 && (variance - 1.0).abs() < 0.05);
        assert_eq!(values, gaussian_values(10_000, 7));
        assert_ne!(values, gaussian_values(10_000, 8));
    }
}
