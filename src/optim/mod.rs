//! One training step for every trainer in the lab (SFT, both reward models, PPO,
//! and the page's live runs): Adam ([`adam::FusedAdam`]: burn's Adam, one kernel
//! per parameter on the CPU), gradients clipped by their global L2 norm as
//! PyTorch's `clip_grad_norm_` in TRL ([`grads`]), and a step that is skipped, and
//! counted, when the loss or any gradient is not finite.

pub mod adam;
pub mod grads;

use crate::error::Result;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

/// The optimiser and its bookkeeping.
pub struct Stepper {
    optim: ModuleOptimizer,
    /// Gradients are scaled to this global norm when theirs is larger (TRL 1.0).
    pub max_grad_norm: f32,
    /// Steps taken, and steps skipped for a non-finite loss or gradient.
    pub steps: usize,
    pub skipped: usize,
}

/// What one call of [`Stepper::step`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Stepped {
    /// Whether the update was applied (false: skipped, the model unchanged).
    pub applied: bool,
    /// The gradients' global norm before clipping.
    pub grad_norm: f32,
    /// The values of the `extra` tensors, in order.
    pub values: Vec<f32>,
}

impl Stepper {
    pub fn new(max_grad_norm: f32) -> Self {
        Self {
            optim: adam::FusedAdam::default().init(),
            max_grad_norm,
            steps: 0,
            skipped: 0,
        }
    }

    /// One update of `model` by `grads` at learning rate `lr`. `extra` (plain, not
    /// autodiff, tensors: the loss, statistics) are read back with the gradient norm
    /// in one read; any non-finite value among them or in the norm skips the step.
    pub async fn step<M: Module>(
        &mut self,
        model: M,
        grads: GradientsParams,
        lr: f64,
        extra: Vec<Tensor<1>>,
    ) -> Result<(M, Stepped)> {
        let norm = grads::global_norm(&model, &grads);
        let read: Vec<Tensor<1>> = norm.iter().cloned().chain(extra).collect();
        let values = if read.is_empty() {
            Vec::new()
        } else {
            crate::backend::read(Tensor::cat(read, 0)).await?
        };
        let (grad_norm, values) = match norm {
            Some(_) => (values[0], values[1..].to_vec()),
            None => (0.0, values),
        };
        if !(grad_norm.is_finite() && values.iter().all(|v| v.is_finite())) {
            self.skipped += 1;
            return Ok((
                model,
                Stepped {
                    applied: false,
                    grad_norm,
                    values,
                },
            ));
        }
        let grads = match norm {
            Some(n) => grads::clip_to_norm(&model, grads, n, self.max_grad_norm),
            None => grads,
        };
        let model = self.optim.step(lr, model, grads);
        self.steps += 1;
        Ok((
            model,
            Stepped {
                applied: true,
                grad_norm,
                values,
            },
        ))
    }
}
