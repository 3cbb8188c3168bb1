//! The one place that knows about backends. Everything else takes a burn
//! `Device` and runs the same model code on it.
//!
//! - Browser: WebGPU through `Device::wgpu_options().init_async()` (the `webgpu`
//!   feature: the page's full build); when that fails (no adapter, blocked,
//!   unsupported), or in the CPU-only build (pkg/cpu/), the pure-Rust CPU backend
//!   Flex, with the reason kept for the page's badge.
//! - Native: Flex by default; the `gpu` cargo feature adds wgpu (Vulkan, Metal, DX12).

use burn::tensor::{Device, Tensor};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    /// `"webgpu"`, `"wgpu"` or `"cpu"`.
    pub backend: String,
    /// The adapter's name, or the CPU backend's.
    pub name: String,
    /// Why the CPU fallback was taken, when it was.
    pub fallback_reason: Option<String>,
    /// Σ 2·[1, 2, 3] computed on the device (12 when the device works).
    pub check: f32,
}

impl BackendInfo {
    /// How a table names it: `webgpu (adapter)`, or `cpu` with the reason for the fallback.
    pub fn label(&self) -> String {
        match (&self.backend[..], &self.fallback_reason) {
            ("cpu", Some(why)) => format!("{} ({why})", cpu_label()),
            ("cpu", None) => cpu_label(),
            (b, _) => format!("{b} ({})", self.name),
        }
    }
}

/// `cpu`, or `cpu, N threads` where its work runs on a pool of N > 1.
fn cpu_label() -> String {
    match crate::cpu::par::threads() {
        1 => "cpu".into(),
        n => format!("cpu, {n} threads"),
    }
}

/// The CPU backend's name, with its threads where it has a pool of more than one.
fn cpu_name() -> String {
    match crate::cpu::par::threads() {
        1 => "Flex (pure-Rust CPU)".into(),
        n => format!("Flex (pure-Rust CPU, {n} threads)"),
    }
}

/// The CPU backend because the user asked for it (`?backend=cpu`, `--cpu-only`).
pub fn cpu_by_request() -> (Device, BackendInfo) {
    cpu_because("the CPU backend was asked for")
}

/// The CPU backend, for the reason given (shown in the page's badge).
pub fn cpu_because(reason: &str) -> (Device, BackendInfo) {
    (
        cpu(),
        BackendInfo {
            backend: "cpu".into(),
            name: cpu_name(),
            fallback_reason: Some(reason.into()),
            check: 12.0,
        },
    )
}

/// The pure-Rust CPU backend.
pub fn cpu() -> Device {
    Device::flex()
}

/// Whether `device` is the CPU backend (plain or under autodiff).
pub fn is_cpu(device: &Device) -> bool {
    *device == cpu() || device.clone().inner() == cpu()
}

async fn check(device: &Device) -> f32 {
    let t = Tensor::<1>::from_floats([1.0, 2.0, 3.0], device)
        .mul_scalar(2.0)
        .sum();
    t.into_scalar_async::<f32>().await.unwrap_or(f32::NAN)
}

/// Pick the best backend: wgpu (WebGPU in a browser) when built in and available, else the CPU.
pub async fn detect() -> (Device, BackendInfo) {
    #[cfg(any(feature = "webgpu", feature = "gpu"))]
    let reason = match Device::wgpu_options().init_with_setup_async().await {
        Ok((device, setup)) => {
            let a = setup.adapter.get_info();
            // Browsers may hide the adapter's name; say what is known instead.
            let name = [a.name.clone(), a.driver.clone(), a.driver_info.clone()]
                .into_iter()
                .find(|s| !s.trim().is_empty())
                .unwrap_or_else(|| {
                    format!(
                        "{:?} adapter, name not exposed by the browser",
                        a.device_type
                    )
                });
            let backend = if cfg!(target_arch = "wasm32") {
                "webgpu"
            } else {
                "wgpu"
            };
            let check = check(&device).await;
            return (
                device,
                BackendInfo {
                    backend: backend.into(),
                    name,
                    fallback_reason: None,
                    check,
                },
            );
        }
        Err(e) => Some(e.to_string()),
    };
    #[cfg(all(not(any(feature = "webgpu", feature = "gpu")), target_arch = "wasm32"))]
    let reason = Some("this build has no WebGPU backend (the page's CPU-only build)".to_string());
    #[cfg(all(
        not(any(feature = "webgpu", feature = "gpu")),
        not(target_arch = "wasm32")
    ))]
    let reason: Option<String> = None;
    let device = cpu();
    let check = check(&device).await;
    (
        device,
        BackendInfo {
            backend: "cpu".into(),
            name: cpu_name(),
            fallback_reason: reason,
            check,
        },
    )
}

/// Read a tensor's values back from its device, asynchronously (the only way that
/// works on WebGPU in a browser; on the CPU the future is ready at once).
pub async fn read<const D: usize>(x: Tensor<D>) -> crate::Result<Vec<f32>> {
    x.into_data_async()
        .await
        .map_err(|e| crate::Error::Invalid(format!("reading from the device: {e:?}")))?
        .try_to_vec::<f32>()
        .map_err(|e| crate::Error::Invalid(format!("reading from the device: {e:?}")))
}

/// The first value of a tensor (a loss), NaN when it cannot be read.
pub async fn read_scalar<const D: usize>(x: Tensor<D>) -> f32 {
    read(x)
        .await
        .ok()
        .and_then(|v| v.first().copied())
        .unwrap_or(f32::NAN)
}

/// Run a future to completion on this thread (native code over burn's async reads:
/// the CPU backend's futures are ready at once; a GPU read is waited for).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_backend_computes() {
        let (_, info) = super::block_on(super::detect());
        assert_eq!(info.check, 12.0);
    }
}
