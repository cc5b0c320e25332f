//! The device an example runs on, by name: `cpu` (the default), `ndarray` or `wgpu`.

use burn::tensor::Device;

/// The autodiff device named by `name`; panics on a name that is unknown or not compiled in.
pub fn autodiff_device(name: Option<&str>) -> Device {
    match name {
        None | Some("cpu") => Device::flex(),
        #[cfg(feature = "ndarray")]
        #[allow(deprecated)] // burn 0.22 deprecates ndarray; it stays selectable.
        Some("ndarray") => Device::ndarray(),
        #[cfg(feature = "wgpu")]
        Some("wgpu") => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
        Some(other) => panic!("unknown or not compiled-in device {other}"),
    }
    .autodiff()
}

/// The example's two optional arguments: a count (`what` names it in the error) defaulting to
/// `default`, then the device name.
pub fn count_and_device(what: &str, default: usize) -> (usize, Device) {
    let mut args = std::env::args().skip(1);
    let count = args.next().map_or(default, |s| {
        s.parse()
            .unwrap_or_else(|_| panic!("{what}: a count, got {s}"))
    });
    (count, autodiff_device(args.next().as_deref()))
}
