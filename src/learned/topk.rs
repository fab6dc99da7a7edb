//! DPS-topK: one logit vector phi of length N shared by all M picks.
//!
//! Forward: the M largest entries of `phi + g` for one Gumbel vector g per example (the Gumbel
//! top-k trick, which samples M candidates without replacement). Backward: the sum of M soft
//! rows, row k being `softmax((phi + g + w_k) / T)` with `w_k = -inf` at the k - 1 earlier picks
//! in descending order of `phi + g`, and the same g for every row.
//!
//! The sum of the M rows is formed from `(batch, N)` and `(batch, M)` tensors without building
//! the rows themselves, so its memory grows with N + M per example, not M x N.

use tch::{nn, Device, Kind, Tensor};
use tracing::info;

use super::domain::CandidateLayout;
use super::gumbel::{gumbel_noise, indices_to_mask, softmax_entropy, straight_through};
use super::{
    acceleration, check_batch, Domain, Method, Mode, Sampler, SamplerConfig, SamplerError,
    TrainingSchedule, LOGITS_NAME, SAMPLER_PATH,
};

/// The DPS-topK sampler.
#[derive(Debug)]
pub struct DpsTopK {
    var_store: nn::VarStore,
    logits: Tensor,
    picks: i64,
    domain: Domain,
    layout: CandidateLayout,
    schedule: TrainingSchedule,
}

impl DpsTopK {
    /// Builds the sampler of `config` (its `method` is not read), with Normal(0,
    /// `logits_init_std`) logits of shape `(N_free)` on `device`.
    ///
    /// # Errors
    ///
    /// The errors of [`SamplerConfig::validate`].
    pub fn new(config: &SamplerConfig, device: Device) -> Result<Self, SamplerError> {
        let domain = config.validate()?;
        let picks = domain.learned_budget(config.samples)? as i64;
        let layout = CandidateLayout::new(&domain, device);
        let var_store = nn::VarStore::new(device);
        let logits = var_store.root().sub(SAMPLER_PATH).f_var(
            LOGITS_NAME,
            &[layout.free()],
            nn::Init::Randn {
                mean: 0.0,
                stdev: config.logits_init_std,
            },
        )?;
        let sampler = Self {
            var_store,
            logits,
            picks,
            domain,
            layout,
            schedule: config.training_schedule(),
        };
        info!(
            method = Method::DpsTopK.name(),
            candidates = sampler.domain.candidates(),
            samples = sampler.samples_per_example(),
            acceleration = acceleration(sampler.domain.candidates(), sampler.samples_per_example()),
            "built sampler"
        );
        Ok(sampler)
    }
}

impl Sampler for DpsTopK {
    fn method(&self) -> Method {
        Method::DpsTopK
    }

    fn domain(&self) -> &Domain {
        &self.domain
    }

    fn samples_per_example(&self) -> usize {
        self.picks as usize + self.domain.center_band().len()
    }

    fn sample(&self, batch: i64, mode: Mode) -> Tensor {
        check_batch(batch);
        let device = self.logits.device();
        let free = self.layout.free();
        let free_mask = match mode {
            Mode::Train => {
                let noise = gumbel_noise(&[batch, free], device);
                select_top_k(&self.logits, &noise, self.picks, Some(self.temperature()))
            }
            Mode::Stochastic => tch::no_grad(|| {
                let noise = gumbel_noise(&[batch, free], device);
                select_top_k(&self.logits, &noise, self.picks, None)
            }),
            Mode::Deterministic => tch::no_grad(|| {
                let noise = Tensor::zeros([1, free], (Kind::Float, device));
                select_top_k(&self.logits, &noise, self.picks, None).repeat([batch, 1])
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
        Some(tch::no_grad(|| self.logits.softmax(-1, Kind::Float)))
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

/// Selects the `picks` largest entries of `logits + noise` per example, `noise` being
/// `(batch, n)`, and returns the `(batch, n)` mask.
///
/// With a temperature the mask carries the straight-through gradient of the summed soft rows.
fn select_top_k(logits: &Tensor, noise: &Tensor, picks: i64, temperature: Option<f64>) -> Tensor {
    let (batch, free) = noise.size2().expect("topK noise is (batch, N)");
    let device = noise.device();
    let perturbed = logits.unsqueeze(0) + noise;
    let (_, indices) = perturbed.topk(picks, -1, true, true);
    let hard = indices_to_mask(&indices, batch, free, device);
    let Some(temperature) = temperature else {
        return hard;
    };

    // Row k of the relaxation is softmax(z / T) over the candidates that the first k picks
    // left, z = logits + g. Summed over the M rows, candidate n gets e_n times the sum of 1 / D_k
    // over the rows that still offer it, with e = exp(z / T) and D_k the sum of e over what row
    // k offers. Every row offers a candidate that was never picked, and only rows 0..=r offer
    // the pick of rank r. The sum of the rows thus needs (B, M) and (B, N) tensors, not the
    // (B, M, N) of forming each row. D_k is summed from positive terms (the unpicked mass plus
    // the picks of rank k and later), so it does not lose precision when the picks hold nearly
    // all the mass.
    let scaled = &perturbed / temperature;
    let e = (&scaled - scaled.amax([-1], true).detach()).exp();
    let picked = e.gather(1, &indices, false);
    let unpicked = (&e * (-&hard + 1.0)).sum_dim_intlist(1, true, Kind::Float);
    let later_picks = picked.flip([1]).cumsum(1, Kind::Float).flip([1]);
    let offered = later_picks + unpicked;
    let row_weights = offered.reciprocal().cumsum(1, Kind::Float);
    let every_row = row_weights
        .narrow(1, picks - 1, 1)
        .expand([batch, free], false);
    let soft = e * every_row.scatter(1, &indices, &row_weights);
    straight_through(&hard, &soft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradient_matches_row_by_row_relaxation() {
        // Independent path: rebuild each soft row with an explicit loop over the picks.
        // At scale 30 the picks carry nearly all the softmax mass, where a sum formed by
        // subtraction would lose precision. With picks == free no candidate stays unpicked.
        for (scale, picks) in [(1.0, 4i64), (30.0, 4), (1.0, 9)] {
            check_against_rows(scale, picks);
        }
    }

    fn check_against_rows(scale: f64, picks: i64) {
        tch::manual_seed(5);
        let (free, batch, temperature) = (9i64, 3i64, 2.0);
        let logits =
            (Tensor::randn([free], (Kind::Float, Device::Cpu)) * scale).set_requires_grad(true);
        let noise = gumbel_noise(&[batch, free], Device::Cpu);
        let weights = Tensor::randn([batch, free], (Kind::Float, Device::Cpu));

        let mask = select_top_k(&logits, &noise, picks, Some(temperature));
        (&mask * &weights).sum(Kind::Float).backward();
        let straight = logits.grad().copy();
        let _ = logits.grad().zero_();

        let mut terms = Vec::new();
        for b in 0..batch {
            let perturbed = &logits + noise.get(b);
            let mut blocked = vec![false; free as usize];
            for _ in 0..picks {
                let masked =
                    perturbed.masked_fill(&Tensor::from_slice(&blocked), f64::NEG_INFINITY);
                let soft = (&masked / temperature).softmax(0, Kind::Float);
                terms.push((soft * weights.get(b)).sum(Kind::Float));
                let pick = masked.argmax(0, false).int64_value(&[]) as usize;
                assert_eq!(mask.double_value(&[b, pick as i64]), 1.0);
                blocked[pick] = true;
            }
        }
        Tensor::stack(&terms, 0).sum(Kind::Float).backward();
        let reference = logits.grad();
        assert!(
            straight.allclose(&reference, 1e-4, 1e-6, false),
            "scale {scale}, {picks} picks: {straight:?} against {reference:?}"
        );
        assert!(reference.abs().max().double_value(&[]) > 0.0);
    }

    #[test]
    fn deterministic_mask_is_top_logits() {
        let logits = Tensor::from_slice(&[0.1f32, 3.0, -1.0, 2.0, 0.5]);
        let noise = Tensor::zeros([1, 5], (Kind::Float, Device::Cpu));
        let mask = select_top_k(&logits, &noise, 2, None);
        let values: Vec<f32> = Vec::try_from(mask.get(0)).unwrap();
        assert_eq!(values, vec![0., 1., 0., 1., 0.]);
    }
}
