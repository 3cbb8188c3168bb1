//! Gradients of a PPO minibatch: the pieces computed side by side summed into one
//! set ([`sum`]), then clipped by their global L2 norm ([`global_norm`],
//! [`clip_to_norm`]) as
//! PyTorch's `clip_grad_norm_` does in TRL's trainer. (burn's optimiser option
//! clips each parameter tensor by its own norm, which is a different update.)

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;

/// The pieces' gradients summed parameter by parameter (in the pieces' order).
pub fn sum<M: Module>(module: &M, mut pieces: Vec<GradientsParams>) -> GradientsParams {
    struct Sum<'a> {
        pieces: &'a mut [GradientsParams],
        out: GradientsParams,
    }
    impl ModuleVisitor for Sum<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let total = self
                .pieces
                .iter_mut()
                .filter_map(|g| g.remove::<D>(param.id))
                .reduce(|a, b| a + b);
            if let Some(g) = total {
                self.out.register(param.id, g);
            }
        }
    }
    let mut sum = Sum {
        pieces: &mut pieces,
        out: GradientsParams::new(),
    };
    module.visit(&mut sum);
    sum.out
}

/// ‖g‖, the L2 norm of all the gradients together, on the device (no read); None
/// when there are none. Non-finite when any gradient is.
pub fn global_norm<M: Module>(module: &M, grads: &GradientsParams) -> Option<Tensor<1>> {
    struct SumSquares<'a>(&'a GradientsParams, Option<Tensor<1>>);
    impl ModuleVisitor for SumSquares<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.get::<D>(param.id) {
                let s = g.square().sum();
                self.1 = Some(match self.1.take() {
                    Some(total) => total + s,
                    None => s,
                });
            }
        }
    }
    let mut squares = SumSquares(grads, None);
    module.visit(&mut squares);
    squares.1.map(Tensor::sqrt)
}

/// Every gradient times min(1, max_norm / (norm + 1e-6)), `norm` from [`global_norm`]
/// (`torch.nn.utils.clip_grad_norm_`). Computed on the device: no read.
pub fn clip_to_norm<M: Module>(
    module: &M,
    mut grads: GradientsParams,
    norm: Tensor<1>,
    max_norm: f32,
) -> GradientsParams {
    struct Scale<'a>(&'a mut GradientsParams, Tensor<1>);
    impl ModuleVisitor for Scale<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.0.remove::<D>(param.id) {
                let coef = self.1.clone().reshape([1; D]);
                self.0.register(param.id, g * coef);
            }
        }
    }
    let coef = (norm + 1e-6).recip().mul_scalar(max_norm).clamp_max(1.0);
    module.visit(&mut Scale(&mut grads, coef));
    grads
}

/// Every parameter's gradient, in the module's order, as one list (for tests that
/// compare two sets of gradients); panics when a parameter has none.
#[cfg(test)]
pub(crate) fn flat<M: Module>(module: &M, grads: &GradientsParams) -> Vec<f32> {
    struct Flat<'a>(&'a GradientsParams, Vec<f32>);
    impl ModuleVisitor for Flat<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let g = self
                .0
                .get::<D>(param.id)
                .expect("every parameter has a gradient");
            self.1.extend(g.into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut f = Flat(grads, Vec::new());
    module.visit(&mut f);
    f.1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::TensorData;

    fn grads_of(layer: &Linear, w: Vec<f32>, b: Vec<f32>) -> GradientsParams {
        let device = cpu();
        let mut g = GradientsParams::new();
        g.register(
            layer.weight.id,
            Tensor::<2>::from_data(TensorData::new(w, [2, 2]), &device),
        );
        let bias = layer.bias.as_ref().unwrap();
        g.register(
            bias.id,
            Tensor::<1>::from_data(TensorData::new(b, [2]), &device),
        );
        g
    }

    /// [`global_norm`] then [`clip_to_norm`], as the PPO step does.
    fn clip_global_norm(layer: &Linear, g: GradientsParams, max_norm: f32) -> GradientsParams {
        let norm = global_norm(layer, &g).unwrap();
        clip_to_norm(layer, g, norm, max_norm)
    }

    fn values(layer: &Linear, g: &GradientsParams) -> Vec<f32> {
        let mut v = g
            .get::<2>(layer.weight.id)
            .unwrap()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        let bias = layer.bias.as_ref().unwrap();
        v.extend(
            g.get::<1>(bias.id)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap(),
        );
        v
    }

    #[test]
    fn clipping_uses_the_norm_of_all_gradients_together() {
        let layer = LinearConfig::new(2, 2).init(&cpu());
        // ‖(3, 0, 0, 0, 0, 4)‖ = 5: every gradient scales by 1/5 (per tensor, the
        // weight alone would be 3 → 1/3 and the bias 4 → 1/4).
        let g = grads_of(&layer, vec![3.0, 0.0, 0.0, 0.0], vec![0.0, 4.0]);
        let clipped = values(&layer, &clip_global_norm(&layer, g, 1.0));
        let want = [0.6, 0.0, 0.0, 0.0, 0.0, 0.8];
        for (a, b) in clipped.iter().zip(want) {
            assert!((a - b).abs() < 1e-6, "{clipped:?}");
        }
        // Under the limit: unchanged (coefficient clamped at 1).
        let g = grads_of(&layer, vec![0.3, 0.0, 0.0, 0.0], vec![0.0, 0.4]);
        let kept = values(&layer, &clip_global_norm(&layer, g, 1.0));
        assert_eq!(kept, vec![0.3, 0.0, 0.0, 0.0, 0.0, 0.4]);
    }

    #[test]
    fn the_norm_is_that_of_all_gradients_and_not_finite_with_a_nan() {
        let layer = LinearConfig::new(2, 2).init(&cpu());
        let norm = |g: &GradientsParams| {
            global_norm(&layer, g)
                .unwrap()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap()[0]
        };
        // √(1 + 4 + 4 + 16 + 0 + 16) = √41 by hand.
        let g = grads_of(&layer, vec![1.0, 2.0, 2.0, 4.0], vec![0.0, 4.0]);
        assert!((norm(&g) - 41f32.sqrt()).abs() < 1e-6);
        let g = grads_of(&layer, vec![1.0, f32::NAN, 0.0, 0.0], vec![0.0, 0.0]);
        assert!(!norm(&g).is_finite());
        assert!(global_norm(&layer, &GradientsParams::new()).is_none());
    }

    #[test]
    fn pieces_sum_parameter_by_parameter() {
        let layer = LinearConfig::new(2, 2).init(&cpu());
        let a = grads_of(&layer, vec![1.0, 2.0, 3.0, 4.0], vec![0.5, 0.5]);
        let b = grads_of(&layer, vec![10.0, 20.0, 30.0, 40.0], vec![-0.5, 1.5]);
        let s = values(&layer, &sum(&layer, vec![a, b]));
        assert_eq!(s, vec![11.0, 22.0, 33.0, 44.0, 0.0, 2.0]);
    }
}
