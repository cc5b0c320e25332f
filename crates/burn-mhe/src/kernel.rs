//! The pair kernel `f(cos)` and its derivative `f'(cos)`, elementwise on a matrix of cosines.
//!
//! Every energy is a function of the cosine `c = <u_i, u_j>` between two normalized neurons,
//! so one kernel serves the energy (`f`) and the closed-form gradient (`f'`).

use core::f64::consts::PI;

use burn::tensor::{DType, Tensor};

use crate::config::{Convention, Distance};

/// Smallest squared chord distance fed to `d^-s` or `log`: near-duplicates whose `2 - 2c`
/// rounds to zero or below give a large but finite energy instead of `inf` or NaN.
pub const D2_FLOOR: f64 = 1e-6;
/// Smallest `1 - c^2` under the square root of `acos`'s derivative: cosines that round to
/// `+-1` (or past it, as float32 does for a large neuron and its negation) stay finite.
pub const SIN2_FLOOR: f64 = 1e-12;
/// Smallest normalized angle `t` fed to `t^-s` or `log` when `angle_eps` is zero.
pub const T_FLOOR: f64 = 1e-12;

/// The energy of one pair as a function of its cosine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairKernel {
    distance: Distance,
    s: f64,
    /// Factor of the log energy: `-log_factor * log(d^2)` (1 official, 1/2 paper).
    log_factor: f64,
    angle_eps: f64,
}

impl PairKernel {
    /// The kernel of power `s` in `distance`; `angle_eps` is added to the angular distance.
    pub fn new(distance: Distance, convention: Convention, s: f64, angle_eps: f64) -> Self {
        let log_factor = match (distance, convention) {
            (Distance::Euclidean, Convention::Paper) => 0.5,
            _ => 1.0,
        };
        Self {
            distance,
            s,
            log_factor,
            angle_eps,
        }
    }

    /// The closed form of this pair function: the branch a host loop or a compiled kernel takes.
    #[cfg_attr(not(any(feature = "flex", feature = "wgpu")), allow(dead_code))]
    pub(crate) fn form(&self) -> PairForm {
        match (self.distance, self.s) {
            (Distance::Euclidean, 0.0) => PairForm::EuclideanLog,
            (Distance::Euclidean, 2.0) => PairForm::EuclideanInverse,
            (Distance::Euclidean, 1.0) => PairForm::EuclideanInverseRoot,
            (Distance::Euclidean, _) => PairForm::EuclideanPower,
            (Distance::Angular, 0.0) => PairForm::AngularLog,
            (Distance::Angular, _) => PairForm::AngularPower,
        }
    }

    /// `(s, log_factor, angle_eps)`: the numbers a compiled kernel's [`form`](Self::form) reads.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn parameters(&self) -> (f64, f64, f64) {
        (self.s, self.log_factor, self.angle_eps)
    }

    /// `f(c)` and `f'(c) = df/dc` for every cosine in `cosines` (any shape).
    pub fn eval<const D: usize>(&self, cosines: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        match self.distance {
            Distance::Euclidean => self.euclidean(cosines),
            Distance::Angular => self.angular(cosines),
        }
    }

    /// `d2 = 2 - 2c`; `f = d2^(-s/2)`, or `-k log d2` for `s = 0`.
    fn euclidean<const D: usize>(&self, cosines: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        let d2 = cosines.mul_scalar(-2.0).add_scalar(2.0).clamp_min(D2_FLOOR);
        if self.s == 0.0 {
            let value = d2.clone().log().mul_scalar(-self.log_factor);
            let slope = d2.recip().mul_scalar(2.0 * self.log_factor);
            (value, slope)
        } else {
            // The common powers without `powf` (an exp and a log per element); the slope is
            // `s d2^(-s/2 - 1) = s f / d2` from the value.
            let half = self.s / 2.0;
            let value = if half == 1.0 {
                d2.clone().recip()
            } else if half == 0.5 {
                d2.clone().sqrt().recip()
            } else {
                d2.clone().powf_scalar(-half)
            };
            let slope = value.clone().div(d2).mul_scalar(self.s);
            (value, slope)
        }
    }

    /// Runs `body` with this kernel's pair function `c -> (f(c), f'(c))` in float32, one
    /// closure per form (the branches on the form are taken here, once, so that the loop in
    /// `body` can be vectorized). `acos` is taken in float64, as `eval` does for float64.
    pub(crate) fn host_loop<L: HostLoop>(&self, body: L) -> L::Output {
        let s = self.s as f32;
        let floor = D2_FLOOR as f32;
        match self.form() {
            PairForm::EuclideanLog => {
                let k = self.log_factor as f32;
                body.run(move |c| {
                    let d2 = (2.0 - 2.0 * c).max(floor);
                    (-k * d2.ln(), 2.0 * k / d2)
                })
            }
            // The slope is `s f / d2` from the value, as in `eval`.
            PairForm::EuclideanInverse => body.run(move |c| {
                let d2 = (2.0 - 2.0 * c).max(floor);
                let value = 1.0 / d2;
                (value, 2.0 * value / d2)
            }),
            PairForm::EuclideanInverseRoot => body.run(move |c| {
                let d2 = (2.0 - 2.0 * c).max(floor);
                let value = 1.0 / d2.sqrt();
                (value, value / d2)
            }),
            PairForm::EuclideanPower => body.run(move |c| {
                let d2 = (2.0 - 2.0 * c).max(floor);
                let value = d2.powf(-s / 2.0);
                (value, s * value / d2)
            }),
            form @ (PairForm::AngularLog | PairForm::AngularPower) => {
                let (angle_eps, log) = (self.angle_eps, form == PairForm::AngularLog);
                body.run(move |c| {
                    let c = c.clamp(-1.0, 1.0);
                    let sine = (1.0 - c * c).max(SIN2_FLOOR as f32).sqrt();
                    let t = ((f64::from(c).acos() / PI + angle_eps) as f32).max(T_FLOOR as f32);
                    let (value, dvalue_dt) = if log {
                        (-t.ln(), -1.0 / t)
                    } else {
                        (t.powf(-s), -s * t.powf(-s - 1.0))
                    };
                    (value, -dvalue_dt / (PI as f32 * sine))
                })
            }
        }
    }

    /// `t = acos(c)/pi + angle_eps`; `f = t^-s`, or `-log t` for `s = 0`.
    fn angular<const D: usize>(&self, cosines: Tensor<D>) -> (Tensor<D>, Tensor<D>) {
        let c = cosines.clamp(-1.0, 1.0);
        let sine = c
            .clone()
            .powi_scalar(2)
            .neg()
            .add_scalar(1.0)
            .clamp_min(SIN2_FLOOR)
            .sqrt();
        let t = accurate_acos(c)
            .div_scalar(PI)
            .add_scalar(self.angle_eps)
            .clamp_min(T_FLOOR);
        // dt/dc = -1 / (pi sin), so df/dc = -f'(t) / (pi sin).
        let (value, dvalue_dt) = if self.s == 0.0 {
            (t.clone().log().neg(), t.recip().neg())
        } else {
            let value = t.clone().powf_scalar(-self.s);
            let slope = t.powf_scalar(-self.s - 1.0).mul_scalar(-self.s);
            (value, slope)
        };
        let slope = dvalue_dt.neg().div(sine.mul_scalar(PI));
        (value, slope)
    }
}

/// The closed forms of the pair function (`eval`'s branches): one host loop and one compiled
/// kernel each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(not(any(feature = "flex", feature = "wgpu")), allow(dead_code))]
pub(crate) enum PairForm {
    /// `-k log d2`.
    EuclideanLog,
    /// `1 / d2` (`s = 2`).
    EuclideanInverse,
    /// `1 / sqrt(d2)` (`s = 1`).
    EuclideanInverseRoot,
    /// `d2^(-s/2)`.
    EuclideanPower,
    /// `-log t`.
    AngularLog,
    /// `t^-s`.
    AngularPower,
}

impl PairForm {
    /// Whether the form is a function of the angle rather than the chord.
    #[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
    pub(crate) fn is_angular(self) -> bool {
        matches!(self, Self::AngularLog | Self::AngularPower)
    }
}

/// A loop over float32 cosines on the host, given the kernel's pair function by
/// [`PairKernel::host_loop`].
pub(crate) trait HostLoop {
    /// What the loop returns.
    type Output;
    /// Runs the loop with `pair: c -> (f(c), f'(c))`.
    fn run(self, pair: impl Fn(f32) -> (f32, f32) + Copy + Send + Sync) -> Self::Output;
}

/// Coefficients of `acos(x) ~ sqrt(1 - x) * P(x)` on `[0, 1]`, absolute error below `2e-8`
/// (Abramowitz and Stegun 4.4.46), highest degree first.
pub(crate) const ACOS_POLYNOMIAL: [f64; 8] = [
    -0.0012624911,
    0.0066700901,
    -0.0170881256,
    0.0308918810,
    -0.0501743046,
    0.0889789874,
    -0.2145988016,
    1.5707963050,
];

/// `acos` of cosines in `[-1, 1]`. float64 uses the backend's `acos`; lower precisions use a
/// polynomial accurate to `2e-8` built from additions, multiplications and a square root,
/// because some GPU drivers' float32 `acos` is off by `1e-5` relative (seen on Mesa's
/// software Vulkan driver), which is more than the energy may differ between backends.
pub(crate) fn accurate_acos<const D: usize>(cosines: Tensor<D>) -> Tensor<D> {
    if cosines.dtype() == DType::F64 {
        return cosines.acos();
    }
    let negative = cosines.clone().lower_elem(0.0);
    let x = cosines.abs();
    let polynomial = ACOS_POLYNOMIAL[1..]
        .iter()
        .fold(x.zeros_like().add_scalar(ACOS_POLYNOMIAL[0]), |acc, &a| {
            acc.mul(x.clone()).add_scalar(a)
        });
    let positive = x
        .neg()
        .add_scalar(1.0)
        .clamp_min(0.0)
        .sqrt()
        .mul(polynomial);
    let mirrored = positive.clone().neg().add_scalar(PI);
    positive.mask_where(negative, mirrored)
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Device, Tensor};

    use super::*;

    /// Cosines across `[-1, 1]`, at and just past both ends, and where the floors act.
    const COSINES: [f32; 11] = [
        -1.000_000_1,
        -1.0,
        -0.999_9,
        -0.5,
        0.0,
        0.3,
        0.9,
        0.999_9,
        0.999_999_5,
        1.0,
        1.000_000_1,
    ];

    /// `(f(c), f'(c))` of every cosine of `COSINES`.
    struct EveryCosine;

    impl HostLoop for EveryCosine {
        type Output = Vec<(f32, f32)>;
        fn run(self, pair: impl Fn(f32) -> (f32, f32) + Copy + Send + Sync) -> Self::Output {
            COSINES.iter().map(|&c| pair(c)).collect()
        }
    }

    #[test]
    fn the_host_kernel_matches_the_tensor_kernel() {
        let device = Device::flex();
        let cosines = Tensor::<1>::from_floats(COSINES, &device);
        for distance in [Distance::Euclidean, Distance::Angular] {
            for convention in [Convention::Official, Convention::Paper] {
                for s in [0.0, 0.5, 1.0, 2.0, 3.0] {
                    let kernel = PairKernel::new(distance, convention, s, 1e-4);
                    let host = kernel.host_loop(EveryCosine);
                    let (values, slopes) = kernel.eval(cosines.clone());
                    let values = values.into_data().try_to_vec::<f32>().unwrap();
                    let slopes = slopes.into_data().try_to_vec::<f32>().unwrap();
                    for (i, &c) in COSINES.iter().enumerate() {
                        let (value, slope) = host[i];
                        for (what, host, tensor) in
                            [("f", value, values[i]), ("f'", slope, slopes[i])]
                        {
                            let scale = host.abs().max(tensor.abs()).max(1e-6);
                            assert!(
                                (host - tensor).abs() <= 2e-5 * scale,
                                "{distance:?} {convention:?} s={s} c={c}: {what} {host} vs {tensor}"
                            );
                        }
                    }
                }
            }
        }
    }
}
