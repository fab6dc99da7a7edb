//! DPS-top1: M categorical distributions over the N candidates, one per acquired sample.
//!
//! Row m of the `(M, N)` logits Phi draws one candidate by the Gumbel-max trick,
//! `argmax_n (w_{m-1,n} + phi_{m,n} + g_{m,n})`, where `w_{m-1}` is `-inf` at the candidates
//! picked by earlier rows. The mask is the sum of the M one-hot picks, so it has exactly M ones.
//! The gradient of each pick is that of `softmax((w_{m-1} + phi_m + g_m) / T)`.
//!
//! Rows are processed in one seeded random order fixed at construction, as in the authors' code.

use tch::{nn, Device, Kind, Tensor};
use tracing::info;

use super::domain::CandidateLayout;
use super::gumbel::{gumbel_noise, softmax_entropy, straight_through};
use super::row_order::shuffled_rows;
use super::{
    acceleration, check_batch, Domain, Method, Mode, Sampler, SamplerConfig, SamplerError,
    TrainingSchedule, LOGITS_NAME, SAMPLER_PATH,
};

/// The DPS-top1 sampler.
#[derive(Debug)]
pub struct DpsTop1 {
    var_store: nn::VarStore,
    logits: Tensor,
    row_order: Vec<i64>,
    domain: Domain,
    layout: CandidateLayout,
    schedule: TrainingSchedule,
}

impl DpsTop1 {
    /// Builds the sampler of `config` (its `method` is not read), with Normal(0,
    /// `logits_init_std`) logits of shape `(M, N_free)` on `device`.
    ///
    /// # Errors
    ///
    /// The errors of [`SamplerConfig::validate`].
    pub fn new(config: &SamplerConfig, device: Device) -> Result<Self, SamplerError> {
        let domain = config.validate()?;
        let rows = domain.learned_budget(config.samples)?;
        let layout = CandidateLayout::new(&domain, device);
        let var_store = nn::VarStore::new(device);
        let logits = var_store.root().sub(SAMPLER_PATH).f_var(
            LOGITS_NAME,
            &[rows as i64, layout.free()],
            nn::Init::Randn {
                mean: 0.0,
                stdev: config.logits_init_std,
            },
        )?;
        let sampler = Self {
            var_store,
            logits,
            row_order: shuffled_rows(rows, config.row_order_seed),
            domain,
            layout,
            schedule: config.training_schedule(),
        };
        info!(
            method = Method::DpsTop1.name(),
            candidates = sampler.domain.candidates(),
            samples = sampler.samples_per_example(),
            acceleration = acceleration(sampler.domain.candidates(), sampler.samples_per_example()),
            "built sampler"
        );
        Ok(sampler)
    }

    /// Order in which the rows of the logits draw their picks.
    pub fn row_order(&self) -> &[i64] {
        &self.row_order
    }
}

impl Sampler for DpsTop1 {
    fn method(&self) -> Method {
        Method::DpsTop1
    }

    fn domain(&self) -> &Domain {
        &self.domain
    }

    fn samples_per_example(&self) -> usize {
        self.row_order.len() + self.domain.center_band().len()
    }

    fn sample(&self, batch: i64, mode: Mode) -> Tensor {
        check_batch(batch);
        let device = self.logits.device();
        let (rows, free) = (self.row_order.len() as i64, self.layout.free());
        let free_mask = match mode {
            Mode::Train => {
                let noise = gumbel_noise(&[batch, rows, free], device);
                select_rows(
                    &self.logits,
                    &noise,
                    &self.row_order,
                    Some(self.temperature()),
                )
            }
            Mode::Stochastic => tch::no_grad(|| {
                let noise = gumbel_noise(&[batch, rows, free], device);
                select_rows(&self.logits, &noise, &self.row_order, None)
            }),
            Mode::Deterministic => tch::no_grad(|| {
                let noise = Tensor::zeros([1, rows, free], (Kind::Float, device));
                select_rows(&self.logits, &noise, &self.row_order, None).repeat([batch, 1])
            }),
        };
        self.layout.embed(&free_mask)
    }

    fn entropy(&self) -> Tensor {
        softmax_entropy(&self.logits)
    }

    fn logits(&self) -> Option<Tensor> {
        Some(self.logits.shallow_clone())
    }

    fn candidate_probabilities(&self) -> Option<Tensor> {
        Some(tch::no_grad(|| {
            self.logits
                .softmax(-1, Kind::Float)
                .mean_dim(0, false, Kind::Float)
        }))
    }

    fn var_store(&self) -> Option<&nn::VarStore> {
        Some(&self.var_store)
    }

    fn schedule(&self) -> &TrainingSchedule {
        &self.schedule
    }

    fn schedule_mut(&mut self) -> &mut TrainingSchedule {
        &mut self.schedule
    }
}

/// Draws one pick per logit row, rows in `order`, from `logits` `(M, n)` perturbed by `noise`
/// `(batch, M, n)`, and returns the `(batch, n)` mask.
///
/// With a temperature the picks carry the straight-through gradient of the tempered softmax.
/// Without one the hard mask is returned alone, for draws that need no gradient.
fn select_rows(logits: &Tensor, noise: &Tensor, order: &[i64], temperature: Option<f64>) -> Tensor {
    let (batch, _, free) = noise.size3().expect("top1 noise is (batch, M, N)");
    let device = noise.device();
    let mut taken = Tensor::zeros([batch, free], (Kind::Bool, device));
    let mut mask = Tensor::zeros([batch, free], (Kind::Float, device));
    for &row in order {
        let perturbed = (logits.get(row).unsqueeze(0) + noise.select(1, row))
            .masked_fill(&taken, f64::NEG_INFINITY);
        let pick = perturbed.argmax(-1, true);
        let hard = Tensor::zeros([batch, free], (Kind::Float, device)).scatter_value(1, &pick, 1.0);
        taken = taken.scatter_value(1, &pick, 1);
        mask = match temperature {
            Some(temperature) => {
                let soft = (perturbed / temperature).softmax(-1, Kind::Float);
                mask + straight_through(&hard, &soft)
            }
            None => mask + hard,
        };
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_sum_of_row_softmaxes() {
        // Independent path: recompute each row's tempered softmax from the forward picks.
        tch::manual_seed(11);
        let (rows, free, batch, temperature) = (3i64, 7i64, 2i64, 1.5);
        let logits =
            Tensor::randn([rows, free], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let noise = gumbel_noise(&[batch, rows, free], Device::Cpu);
        let order = [2i64, 0, 1];
        let weights = Tensor::randn([batch, free], (Kind::Float, Device::Cpu));

        let mask = select_rows(&logits, &noise, &order, Some(temperature));
        (&mask * &weights).sum(Kind::Float).backward();
        let straight = logits.grad().copy();
        let _ = logits.grad().zero_();

        let mask_values: Vec<Vec<f32>> = Vec::try_from(&mask).unwrap();
        let mut terms = Vec::new();
        for b in 0..batch {
            let mut taken = vec![false; free as usize];
            for &row in &order {
                let perturbed = logits.get(row) + noise.get(b).get(row);
                let blocked: Vec<bool> = taken.clone();
                let blocked = Tensor::from_slice(&blocked);
                let masked = perturbed.masked_fill(&blocked, f64::NEG_INFINITY);
                let pick = masked.argmax(0, false).int64_value(&[]) as usize;
                assert_eq!(mask_values[b as usize][pick], 1.0);
                taken[pick] = true;
                let soft = (masked / temperature).softmax(0, Kind::Float);
                terms.push((soft * weights.get(b)).sum(Kind::Float));
            }
        }
        Tensor::stack(&terms, 0).sum(Kind::Float).backward();
        let reference = logits.grad();
        assert!(straight.allclose(&reference, 1e-5, 1e-6, false));
    }

    #[test]
    fn deterministic_picks_follow_row_order() {
        // Rows 0 and 1 both prefer candidate 2. Row 1 comes first, so row 0 falls back to 4.
        let logits = Tensor::from_slice2(&[[0f32, 0., 5., 0., 4.], [0., 3., 6., 0., 0.]]);
        let noise = Tensor::zeros([1, 2, 5], (Kind::Float, Device::Cpu));
        let mask = select_rows(&logits, &noise, &[1, 0], None);
        let values: Vec<f32> = Vec::try_from(mask.get(0)).unwrap();
        assert_eq!(values, vec![0., 0., 1., 0., 1.]);
    }
}
