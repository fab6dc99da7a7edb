//! Adam with parameter groups and saveable state, reduce-on-plateau, and early stopping.
//!
//! tch's optimisers keep their moment estimates inside libtorch where they cannot be saved, so a
//! resumed run would restart Adam from zero moments. This Adam keeps `m` and `v` as tensors that
//! checkpoints store. The update is the bias-corrected one of Kingma and Ba (2015), with `eps`
//! added to `sqrt(v_hat)` as in PyTorch's `torch.optim.Adam`:
//! `p -= lr * m_hat / (sqrt(v_hat) + eps)`.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Adam hyper-parameters shared by all groups.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamConfig {
    #[serde(default = "default_beta1")]
    pub beta1: f64,
    #[serde(default = "default_beta2")]
    pub beta2: f64,
    #[serde(default = "default_eps")]
    pub eps: f64,
}

fn default_beta1() -> f64 {
    0.9
}

fn default_beta2() -> f64 {
    0.999
}

fn default_eps() -> f64 {
    1e-7
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            beta1: default_beta1(),
            beta2: default_beta2(),
            eps: default_eps(),
        }
    }
}

impl AdamConfig {
    /// Checks that the betas lie in [0, 1) and eps is positive.
    ///
    /// # Errors
    ///
    /// The name of the invalid field and the reason.
    pub fn validate(&self) -> Result<(), (String, String)> {
        for (name, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err((name.into(), format!("must lie in [0, 1), found {beta}")));
            }
        }
        if self.eps.is_nan() || self.eps <= 0.0 {
            return Err((
                "eps".into(),
                format!("must be positive, found {}", self.eps),
            ));
        }
        Ok(())
    }
}

struct Group {
    name: String,
    learning_rate: f64,
    parameters: Vec<Tensor>,
    first_moments: Vec<Tensor>,
    second_moments: Vec<Tensor>,
}

/// Adam over named groups of parameters, each with its own learning rate.
pub struct Adam {
    config: AdamConfig,
    groups: Vec<Group>,
    step: i64,
}

impl Adam {
    /// Creates an optimiser with no groups.
    pub fn new(config: AdamConfig) -> Self {
        Self {
            config,
            groups: Vec::new(),
            step: 0,
        }
    }

    /// Adds a group of trainable tensors (as from `VarStore::trainable_variables`).
    pub fn add_group(&mut self, name: &str, learning_rate: f64, parameters: Vec<Tensor>) {
        let zeros = |p: &Tensor| p.zeros_like().detach();
        self.groups.push(Group {
            name: name.to_string(),
            learning_rate,
            first_moments: parameters.iter().map(zeros).collect(),
            second_moments: parameters.iter().map(zeros).collect(),
            parameters,
        });
    }

    /// Zeroes the gradients of every parameter.
    pub fn zero_grad(&mut self) {
        for group in &mut self.groups {
            for parameter in &mut group.parameters {
                parameter.zero_grad();
            }
        }
    }

    /// Applies one update from the current gradients. Parameters without a gradient are left
    /// unchanged.
    pub fn step(&mut self) {
        self.step += 1;
        let AdamConfig { beta1, beta2, eps } = self.config;
        let correction1 = 1.0 - beta1.powi(self.step as i32);
        let correction2 = 1.0 - beta2.powi(self.step as i32);
        let _guard = tch::no_grad_guard();
        for group in &mut self.groups {
            let step_size = group.learning_rate / correction1;
            for ((parameter, m), v) in group
                .parameters
                .iter_mut()
                .zip(&mut group.first_moments)
                .zip(&mut group.second_moments)
            {
                let gradient = parameter.grad();
                if !gradient.defined() {
                    continue;
                }
                // In place, with two temporaries per parameter (g^2 and the denominator), as
                // PyTorch's single-tensor Adam: m += (1 - beta1)(g - m), v += (1 - beta2)(g^2 - v),
                // p += m / (-(sqrt(v) / sqrt(c2) + eps) / step_size).
                let _ = m.lerp_(&gradient, 1.0 - beta1);
                let _ = v.lerp_(&gradient.square(), 1.0 - beta2);
                let mut denominator = v.sqrt();
                let _ = denominator
                    .g_div_scalar_(correction2.sqrt())
                    .g_add_scalar_(eps)
                    .g_div_scalar_(-step_size);
                let _ = parameter.addcdiv_(m, &denominator);
            }
        }
    }

    /// Learning rates by group name.
    pub fn learning_rates(&self) -> Vec<(String, f64)> {
        self.groups
            .iter()
            .map(|g| (g.name.clone(), g.learning_rate))
            .collect()
    }

    /// Multiplies every group's learning rate by `factor`, but not below `floor`, as PyTorch's
    /// `ReduceLROnPlateau` with `min_lr`. Returns whether any rate changed.
    pub fn reduce_learning_rates(&mut self, factor: f64, floor: f64) -> bool {
        let mut changed = false;
        for group in &mut self.groups {
            let reduced = (group.learning_rate * factor).max(floor);
            if reduced < group.learning_rate {
                group.learning_rate = reduced;
                changed = true;
            }
        }
        changed
    }

    /// Multiplies every group's learning rate by `factor`.
    pub fn scale_learning_rates(&mut self, factor: f64) {
        for group in &mut self.groups {
            group.learning_rate *= factor;
        }
    }

    /// Named state tensors for a checkpoint: the moments of every parameter, the step count and
    /// the learning rates.
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut state = vec![("adam.step".to_string(), Tensor::from_slice(&[self.step]))];
        for group in &self.groups {
            state.push((
                format!("adam.{}.learning_rate", group.name),
                Tensor::from_slice(&[group.learning_rate]),
            ));
            for (index, (m, v)) in group
                .first_moments
                .iter()
                .zip(&group.second_moments)
                .enumerate()
            {
                state.push((format!("adam.{}.m.{index}", group.name), m.shallow_clone()));
                state.push((format!("adam.{}.v.{index}", group.name), v.shallow_clone()));
            }
        }
        state
    }

    /// Restores state written by [`Adam::state`] into an optimiser with the same groups.
    ///
    /// # Errors
    ///
    /// A message naming the missing or mis-shaped entry.
    pub fn load_state(&mut self, state: &[(String, Tensor)]) -> Result<(), String> {
        let find = |name: &str| {
            state
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, tensor)| tensor)
                .ok_or_else(|| format!("optimiser state has no entry `{name}`"))
        };
        self.step = find("adam.step")?.int64_value(&[0]);
        let _guard = tch::no_grad_guard();
        for group in &mut self.groups {
            let rate = format!("adam.{}.learning_rate", group.name);
            group.learning_rate = find(&rate)?.to_kind(Kind::Double).double_value(&[0]);
            for index in 0..group.parameters.len() {
                for (kind, moments) in [
                    ("m", &mut group.first_moments),
                    ("v", &mut group.second_moments),
                ] {
                    let name = format!("adam.{}.{kind}.{index}", group.name);
                    let saved = find(&name)?;
                    if saved.size() != moments[index].size() {
                        return Err(format!(
                            "optimiser state `{name}` has shape {:?}, expected {:?}",
                            saved.size(),
                            moments[index].size()
                        ));
                    }
                    moments[index].copy_(saved);
                }
            }
        }
        Ok(())
    }
}

/// Reduce-on-plateau settings: multiply the learning rates by `factor` when the validation loss
/// has not improved by more than `threshold` (relative) for `patience` epochs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateauConfig {
    pub factor: f64,
    pub patience: usize,
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    #[serde(default)]
    pub min_learning_rate: f64,
}

fn default_threshold() -> f64 {
    1e-4
}

/// Tracks the validation loss for reduce-on-plateau and early stopping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlateauTracker {
    pub best: f64,
    pub epochs_without_improvement: usize,
    pub epochs_since_reduction: usize,
}

impl Default for PlateauTracker {
    fn default() -> Self {
        Self {
            best: f64::INFINITY,
            epochs_without_improvement: 0,
            epochs_since_reduction: 0,
        }
    }
}

impl PlateauTracker {
    /// Records an epoch's validation loss; returns whether it is a new best (by more than the
    /// relative `threshold`).
    pub fn observe(&mut self, loss: f64, threshold: f64) -> bool {
        let improved = loss < self.best * (1.0 - threshold);
        if improved {
            self.best = loss;
            self.epochs_without_improvement = 0;
        } else {
            self.epochs_without_improvement += 1;
        }
        self.epochs_since_reduction += 1;
        improved
    }

    /// Returns whether the learning rates should drop now, and restarts the count if so.
    pub fn should_reduce(&mut self, patience: usize) -> bool {
        if self.epochs_without_improvement >= patience && self.epochs_since_reduction >= patience {
            self.epochs_since_reduction = 0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adam_matches_reference_update() {
        // Two steps on f(p) = sum(p^2) from p = [1, -2], computed by hand from the update rule.
        let p = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let mut adam = Adam::new(AdamConfig::default());
        adam.add_group("net", 0.1, vec![p.shallow_clone()]);
        let mut expected = [1.0f64, -2.0];
        let (mut m, mut v) = ([0.0f64; 2], [0.0f64; 2]);
        for step in 1..=2 {
            adam.zero_grad();
            p.square().sum(Kind::Float).backward();
            adam.step();
            for i in 0..2 {
                let g = 2.0 * expected[i];
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                let m_hat = m[i] / (1.0 - 0.9f64.powi(step));
                let v_hat = v[i] / (1.0 - 0.999f64.powi(step));
                expected[i] -= 0.1 * m_hat / (v_hat.sqrt() + 1e-7);
            }
        }
        for (i, value) in expected.iter().enumerate() {
            let found = p.double_value(&[i as i64]);
            assert!(
                (found - value).abs() < 1e-6,
                "p[{i}] = {found}, expected {value}"
            );
        }
    }

    #[test]
    fn adam_state_round_trips() {
        let p = Tensor::from_slice(&[0.5f32, 0.25]).set_requires_grad(true);
        let mut adam = Adam::new(AdamConfig::default());
        adam.add_group("net", 0.01, vec![p.shallow_clone()]);
        p.square().sum(Kind::Float).backward();
        adam.step();
        adam.scale_learning_rates(0.5);
        let state = adam.state();

        let q = Tensor::from_slice(&[0.5f32, 0.25]).set_requires_grad(true);
        let mut restored = Adam::new(AdamConfig::default());
        restored.add_group("net", 0.01, vec![q.shallow_clone()]);
        restored.load_state(&state).unwrap();
        assert_eq!(restored.step, 1);
        assert_eq!(restored.learning_rates(), vec![("net".to_string(), 0.005)]);
        let m_saved = &state.iter().find(|(k, _)| k == "adam.net.m.0").unwrap().1;
        assert!(restored.groups[0].first_moments[0].allclose(m_saved, 0.0, 0.0, false));
        assert!(restored.load_state(&state[..1]).is_err());
    }

    #[test]
    fn reduction_stops_at_the_floor() {
        let mut adam = Adam::new(AdamConfig::default());
        adam.add_group(
            "net",
            1e-3,
            vec![Tensor::zeros([1], (Kind::Float, tch::Device::Cpu))],
        );
        adam.add_group(
            "logits",
            1e-2,
            vec![Tensor::zeros([1], (Kind::Float, tch::Device::Cpu))],
        );
        assert!(adam.reduce_learning_rates(0.5, 4e-4));
        assert_eq!(adam.learning_rates()[0].1, 5e-4);
        assert_eq!(adam.learning_rates()[1].1, 5e-3);
        // The network group reaches the floor and stays there, while the logits go on.
        assert!(adam.reduce_learning_rates(0.5, 4e-4));
        assert_eq!(adam.learning_rates()[0].1, 4e-4);
        assert_eq!(adam.learning_rates()[1].1, 2.5e-3);
        let mut floor_only = Adam::new(AdamConfig::default());
        floor_only.add_group(
            "net",
            4e-4,
            vec![Tensor::zeros([1], (Kind::Float, tch::Device::Cpu))],
        );
        assert!(!floor_only.reduce_learning_rates(0.5, 4e-4));
    }

    #[test]
    fn plateau_reduces_after_patience() {
        let mut tracker = PlateauTracker::default();
        assert!(tracker.observe(1.0, 1e-4));
        assert!(!tracker.should_reduce(2));
        assert!(!tracker.observe(1.0, 1e-4));
        assert!(!tracker.should_reduce(2));
        assert!(!tracker.observe(0.99999, 1e-4));
        assert!(tracker.should_reduce(2));
        assert!(!tracker.should_reduce(2));
        assert!(tracker.observe(0.5, 1e-4));
        assert_eq!(tracker.epochs_without_improvement, 0);
    }
}
