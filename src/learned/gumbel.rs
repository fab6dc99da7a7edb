//! Gumbel noise and the straight-through estimator shared by the DPS samplers.

use tch::{Device, Kind, Tensor};

/// Draws standard Gumbel noise `g = -log(-log(u))`, `u ~ U(0, 1)`, from libtorch's generator.
///
/// `u` is clamped to the smallest normal `f32` because `torch.rand` can return exactly 0, which
/// would give `g = -inf`.
pub(crate) fn gumbel_noise(shape: &[i64], device: Device) -> Tensor {
    let uniform =
        Tensor::rand(shape, (Kind::Float, device)).clamp_min(f64::from(f32::MIN_POSITIVE));
    -(-uniform.log()).log()
}

/// Returns `hard` in the forward pass with the gradient of `soft` (`hard + soft - sg(soft)`).
///
/// The difference `soft - sg(soft)` is computed first, so it is exactly 0 in the forward pass
/// and the result equals `hard` bit for bit, whereas `(hard + soft) - soft` would round.
pub(crate) fn straight_through(hard: &Tensor, soft: &Tensor) -> Tensor {
    hard + (soft - soft.detach())
}

/// Sets `mask[b, index[b, k]] = 1` in a `(batch, n)` float mask of zeros.
pub(crate) fn indices_to_mask(indices: &Tensor, batch: i64, n: i64, device: Device) -> Tensor {
    Tensor::zeros([batch, n], (Kind::Float, device)).scatter_value(1, indices, 1.0)
}

/// Entropy in nats of each row of softmax(`logits`), summed over rows.
pub(crate) fn softmax_entropy(logits: &Tensor) -> Tensor {
    let log_probabilities = logits.log_softmax(-1, Kind::Float);
    -(log_probabilities.exp() * log_probabilities).sum(Kind::Float)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gumbel_noise_has_standard_moments() {
        // Standard Gumbel: mean = Euler-Mascheroni constant 0.5772, variance = pi^2 / 6.
        tch::manual_seed(3);
        let noise = gumbel_noise(&[200_000], Device::Cpu);
        let mean = noise.mean(Kind::Double).double_value(&[]);
        let variance = noise.var(true).double_value(&[]);
        assert!((mean - 0.577_215_7).abs() < 0.01, "mean {mean}");
        assert!(
            (variance - std::f64::consts::PI.powi(2) / 6.0).abs() < 0.03,
            "var {variance}"
        );
        assert!(noise.isfinite().all().int64_value(&[]) == 1);
    }

    #[test]
    fn straight_through_forward_is_exactly_hard() {
        let hard = Tensor::from_slice(&[1f32, 0.0, 0.0]);
        let soft = Tensor::from_slice(&[0.3f32, 0.6, 0.1]).set_requires_grad(true);
        let output = straight_through(&hard, &soft);
        let values: Vec<f32> = Vec::try_from(&output).unwrap();
        assert_eq!(values, vec![1.0, 0.0, 0.0]);
        (output * Tensor::from_slice(&[1f32, 2.0, 3.0]))
            .sum(Kind::Float)
            .backward();
        let grad: Vec<f32> = Vec::try_from(soft.grad()).unwrap();
        assert_eq!(grad, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn entropy_of_uniform_rows() {
        let logits = Tensor::zeros([3, 8], (Kind::Float, Device::Cpu));
        let entropy = softmax_entropy(&logits).double_value(&[]);
        assert!((entropy - 3.0 * 8f64.ln()).abs() < 1e-5);
    }
}
