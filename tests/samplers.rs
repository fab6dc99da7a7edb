//! End-to-end checks of the learned samplers through the public API, on CPU tensors.
//! The samplers need libtorch, so this file is empty without the `torch` feature.
#![cfg(feature = "torch")]

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use dps::learned::export::{
    write_deterministic_mask_png, write_line_probabilities_csv, write_logits_npy, write_map_png,
    LINE_STRIP_HEIGHT,
};
use dps::learned::{
    sample_incidence, Domain, DomainConfig, DpsTop1, EntropyWeightSchedule, FixedSampler, Loupe,
    Method, Mode, Sampler, SamplerConfig, SamplerError, LOGITS_VARIABLE,
};
use ndarray::Array2;
use tch::{Device, Kind, Tensor};

const LEARNED: [Method; 3] = [Method::DpsTop1, Method::DpsTopK, Method::Loupe];
const MODES: [Mode; 3] = [Mode::Train, Mode::Stochastic, Mode::Deterministic];

/// Serialises the tests, because libtorch's generator is global: another test drawing between
/// `tch::manual_seed` and a draw would break the reproducibility checks.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pixel(height: usize, width: usize) -> DomainConfig {
    DomainConfig::Pixel { height, width }
}

fn lines(width: usize, center_lines: usize, counts: bool) -> DomainConfig {
    DomainConfig::Lines {
        height: 6,
        width,
        center_lines,
        center_counts_against_budget: counts,
    }
}

fn build(method: Method, domain: DomainConfig, samples: usize) -> Box<dyn Sampler> {
    SamplerConfig::new(method, domain, samples)
        .build(Device::Cpu, None)
        .expect("valid test config")
}

fn rows(mask: &Tensor) -> Vec<Vec<f32>> {
    Vec::try_from(&mask.detach()).expect("a 2-D float mask")
}

fn set_logits(sampler: &dyn Sampler, values: &Tensor) {
    let mut logits = sampler.logits().expect("a learned sampler");
    tch::no_grad(|| logits.copy_(values));
}

/// Asserts that every row is a 0/1 mask with exactly `samples` ones.
fn assert_hard_masks(mask: &Tensor, samples: usize, context: &str) {
    for (example, row) in rows(mask).iter().enumerate() {
        let ones = row.iter().filter(|&&value| value == 1.0).count();
        let zeros = row.iter().filter(|&&value| value == 0.0).count();
        assert_eq!(
            ones + zeros,
            row.len(),
            "{context}, example {example}: not 0/1"
        );
        assert_eq!(ones, samples, "{context}, example {example}: wrong count");
    }
}

#[test]
fn dps_draws_exactly_m_distinct() {
    let _serial = serial();
    tch::manual_seed(1);
    let sizes = [
        (1, 1, 1),
        (1, 5, 1),
        (1, 5, 5),
        (2, 5, 3),
        (8, 8, 17),
        (10, 10, 50),
    ];
    for method in [Method::DpsTop1, Method::DpsTopK] {
        for (height, width, samples) in sizes {
            let sampler = build(method, pixel(height, width), samples);
            for mode in MODES {
                for draw in 0..15 {
                    let mask = sampler.sample(6, mode);
                    assert_eq!(mask.size(), vec![6, (height * width) as i64]);
                    let context = format!(
                        "{method:?} N={} M={samples} {mode:?} draw {draw}",
                        height * width
                    );
                    assert_hard_masks(&mask, samples, &context);
                }
            }
        }
    }
}

#[test]
fn dps_mask_sizes_at_mnist_scale() {
    let _serial = serial();
    tch::manual_seed(2);
    for method in [Method::DpsTop1, Method::DpsTopK] {
        let sampler = build(method, pixel(28, 28), 25);
        assert_hard_masks(&sampler.sample(32, Mode::Train), 25, &format!("{method:?}"));
    }
}

#[test]
fn training_masks_differ_between_examples() {
    let _serial = serial();
    tch::manual_seed(3);
    for method in LEARNED {
        let sampler = build(method, pixel(10, 10), 10);
        let masks = rows(&sampler.sample(16, Mode::Train));
        let distinct: HashSet<Vec<u32>> = masks
            .iter()
            .map(|row| row.iter().map(|value| value.to_bits()).collect())
            .collect();
        assert!(
            distinct.len() > 1,
            "{method:?}: all 16 examples share one mask"
        );
    }
}

#[test]
fn task_loss_gradient_reaches_logits() {
    let _serial = serial();
    tch::manual_seed(4);
    for method in LEARNED {
        let sampler = build(method, pixel(6, 6), 8);
        let input = Tensor::randn([5, 36], (Kind::Float, Device::Cpu));
        let target = Tensor::randn([5, 36], (Kind::Float, Device::Cpu));
        let mask = sampler.sample(5, Mode::Train);
        let loss = (mask * &input - &target).square().mean(Kind::Float);
        loss.backward();

        let grad = sampler.logits().unwrap().grad();
        assert!(grad.defined(), "{method:?}: no gradient");
        let finite = grad.isfinite().all().int64_value(&[]) == 1;
        assert!(finite, "{method:?}: gradient not finite");
        let norm = grad.norm().double_value(&[]);
        assert!(norm > 0.0, "{method:?}: gradient is zero");
    }
}

#[test]
fn learned_samplers_own_one_variable() {
    let _serial = serial();
    for method in LEARNED {
        let sampler = build(method, pixel(4, 4), 3);
        let variables = sampler.var_store().unwrap().variables();
        assert_eq!(variables.len(), 1, "{method:?}");
        assert!(variables.contains_key(LOGITS_VARIABLE), "{method:?}");
        let trainable = sampler.trainable_variables();
        assert_eq!(trainable.len(), 1, "{method:?}");
        assert!(trainable[0].requires_grad(), "{method:?}");
    }
}

#[test]
fn pixel_image_mask_is_row_major() {
    let _serial = serial();
    tch::manual_seed(17);
    let sampler = build(Method::DpsTopK, pixel(3, 4), 5);
    let image = sampler.sample_image_mask(2, Mode::Deterministic);
    assert_eq!(image.size(), vec![2, 3, 4]);
    let flat = &rows(&sampler.sample(1, Mode::Deterministic))[0];
    for row in 0..3 {
        for column in 0..4 {
            let value = image.double_value(&[1, row, column]) as f32;
            assert_eq!(value, flat[(row * 4 + column) as usize]);
        }
    }
}

#[test]
fn evaluation_masks_carry_no_gradient() {
    let _serial = serial();
    for method in LEARNED {
        let sampler = build(method, pixel(4, 4), 3);
        for mode in [Mode::Stochastic, Mode::Deterministic] {
            let mask = sampler.sample(2, mode);
            assert!(
                !mask.requires_grad(),
                "{method:?} {mode:?} tracks gradients"
            );
        }
        assert!(
            sampler.sample(2, Mode::Train).requires_grad(),
            "{method:?} train"
        );
    }
}

#[test]
fn entropy_penalty_gradient_reaches_top1_logits() {
    let _serial = serial();
    let mut config = SamplerConfig::new(Method::DpsTop1, pixel(4, 4), 3);
    config.entropy_weight = EntropyWeightSchedule::Constant(2e-4);
    let sampler = config.build(Device::Cpu, None).unwrap();
    tch::manual_seed(5);
    set_logits(
        &*sampler,
        &Tensor::randn([3, 16], (Kind::Float, Device::Cpu)),
    );
    sampler.entropy_penalty().backward();
    let norm = sampler.logits().unwrap().grad().norm().double_value(&[]);
    assert!(norm > 0.0, "entropy gradient is zero");
    assert!(norm.is_finite(), "entropy gradient is not finite");
}

#[test]
fn seeded_draws_are_reproducible() {
    let _serial = serial();
    for method in LEARNED {
        let draw = || {
            tch::manual_seed(42);
            let sampler = build(method, pixel(8, 8), 6);
            let train = rows(&sampler.sample(4, Mode::Train));
            let stochastic = rows(&sampler.sample(4, Mode::Stochastic));
            (train, stochastic)
        };
        assert_eq!(draw(), draw(), "{method:?}");
    }
}

#[test]
fn top1_row_order_follows_its_seed() {
    let _serial = serial();
    let order_for = |seed| {
        let mut config = SamplerConfig::new(Method::DpsTop1, pixel(8, 8), 20);
        config.row_order_seed = seed;
        DpsTop1::new(&config, Device::Cpu)
            .unwrap()
            .row_order()
            .to_vec()
    };
    assert_eq!(order_for(9), order_for(9));
    assert_ne!(order_for(9), order_for(10));
    let mut sorted = order_for(9);
    sorted.sort_unstable();
    assert_eq!(sorted, (0..20).collect::<Vec<i64>>());
}

#[test]
fn dominant_logit_is_picked_nearly_always() {
    let _serial = serial();
    tch::manual_seed(6);
    let (candidates, favourite) = (50, 17usize);

    let topk = build(Method::DpsTopK, pixel(5, 10), 3);
    let logits = Tensor::zeros([candidates], (Kind::Float, Device::Cpu));
    let _ = logits.get(favourite as i64).fill_(10.0);
    set_logits(&*topk, &logits);

    let top1 = build(Method::DpsTop1, pixel(5, 10), 3);
    let logits = Tensor::zeros([3, candidates], (Kind::Float, Device::Cpu));
    let _ = logits.get(1).get(favourite as i64).fill_(10.0);
    set_logits(&*top1, &logits);

    for (name, sampler) in [("topK", &topk), ("top1", &top1)] {
        for mode in [Mode::Train, Mode::Stochastic] {
            let picked = rows(&sampler.sample(1000, mode))
                .iter()
                .filter(|row| row[favourite] == 1.0)
                .count();
            assert!(
                picked > 990,
                "{name} {mode:?}: picked in {picked} of 1000 draws"
            );
        }
    }

    // With equal logits the favourite is only one of 50 candidates, so the check can fail.
    set_logits(
        &*topk,
        &Tensor::zeros([candidates], (Kind::Float, Device::Cpu)),
    );
    let picked = rows(&topk.sample(1000, Mode::Stochastic))
        .iter()
        .filter(|row| row[favourite] == 1.0)
        .count();
    assert!(
        picked < 200,
        "uniform logits picked the favourite {picked} times"
    );
}

#[test]
fn loupe_rescaled_mean_equals_rate() {
    let _serial = serial();
    let config = SamplerConfig::new(Method::Loupe, pixel(8, 8), 10);
    let loupe = Loupe::new(&config, Device::Cpu).unwrap();
    let rate = 10.0 / 64.0;
    assert_eq!(loupe.sampling_rate(), rate);

    let initial = loupe.probabilities();
    assert!(initial.min().double_value(&[]) >= 0.0099);
    assert!(initial.max().double_value(&[]) <= 0.9901);

    tch::manual_seed(7);
    let spread = Tensor::randn([64], (Kind::Float, Device::Cpu)) * 0.3;
    for (offset, above) in [(0.8, true), (-0.8, false), (0.0, true)] {
        set_logits(&loupe, &(&spread + offset));
        let mean_p = loupe.probabilities().mean(Kind::Double).double_value(&[]);
        assert_eq!(mean_p > rate, above, "offset {offset}: mean(p) = {mean_p}");
        let rescaled = loupe.rescaled_probabilities().to_kind(Kind::Double);
        let mean = rescaled.mean(Kind::Double).double_value(&[]);
        assert!(
            (mean - rate).abs() < 1e-6,
            "offset {offset}: mean(p') = {mean}"
        );
        assert!(rescaled.min().double_value(&[]) >= 0.0);
        assert!(rescaled.max().double_value(&[]) <= 1.0);
    }
}

#[test]
fn loupe_modes_follow_their_scores() {
    let _serial = serial();
    tch::manual_seed(8);
    let loupe = build(Method::Loupe, pixel(4, 5), 4);
    let train = rows(&loupe.sample(8, Mode::Train));
    assert!(train
        .iter()
        .flatten()
        .all(|&value| value > 0.0 && value < 1.0));
    assert_hard_masks(&loupe.sample(8, Mode::Stochastic), 4, "LOUPE stochastic");

    // Deterministic: the 4 largest p', which are the 4 largest logits.
    let logits: Vec<f32> = Vec::try_from(&loupe.logits().unwrap().detach()).unwrap();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let mask = &rows(&loupe.sample(1, Mode::Deterministic))[0];
    let chosen: Vec<usize> = (0..mask.len()).filter(|&i| mask[i] == 1.0).collect();
    let mut expected = order[..4].to_vec();
    expected.sort_unstable();
    assert_eq!(chosen, expected);
}

#[test]
fn deterministic_mask_never_changes() {
    let _serial = serial();
    tch::manual_seed(9);
    for method in LEARNED {
        let sampler = build(method, pixel(6, 7), 9);
        let first = rows(&sampler.sample(3, Mode::Deterministic));
        let _ = sampler.sample(5, Mode::Train);
        let second = rows(&sampler.sample(4, Mode::Deterministic));
        for row in first.iter().chain(&second) {
            assert_eq!(row, &first[0], "{method:?}");
        }
    }
}

#[test]
fn topk_deterministic_mask_is_top_logits() {
    let _serial = serial();
    tch::manual_seed(10);
    let sampler = build(Method::DpsTopK, pixel(5, 6), 7);
    let logits: Vec<f32> = Vec::try_from(&sampler.logits().unwrap().detach()).unwrap();
    let mut order: Vec<usize> = (0..30).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    let mask = &rows(&sampler.sample(1, Mode::Deterministic))[0];
    for (rank, &index) in order.iter().enumerate() {
        let expected = if rank < 7 { 1.0 } else { 0.0 };
        assert_eq!(mask[index], expected, "candidate {index} of rank {rank}");
    }
}

#[test]
fn center_lines_always_sampled_within_budget() {
    let _serial = serial();
    tch::manual_seed(11);
    let (width, center) = (40, 6);
    let band = Domain::lines(6, width, center, false)
        .unwrap()
        .center_band();
    assert_eq!(band, 17..23);
    for counts in [false, true] {
        let expected = if counts { 10 } else { 10 + center };
        for method in LEARNED {
            let sampler = build(method, lines(width, center, counts), 10);
            assert_eq!(sampler.samples_per_example(), expected, "{method:?}");
            for mode in MODES {
                let mask = sampler.sample(12, mode);
                for row in rows(&mask) {
                    assert!(
                        band.clone().all(|column| row[column] == 1.0),
                        "{method:?} {mode:?}"
                    );
                }
                if method != Method::Loupe || mode != Mode::Train {
                    let context = format!("{method:?} {mode:?} counts={counts}");
                    assert_hard_masks(&mask, expected, &context);
                }
            }
            let image = sampler.sample_image_mask(2, Mode::Stochastic);
            assert_eq!(image.size(), vec![2, 6, width as i64]);
        }
    }
}

#[test]
fn line_logits_cover_free_columns_only() {
    let _serial = serial();
    let sampler = build(Method::DpsTop1, lines(30, 4, false), 5);
    assert_eq!(sampler.logits().unwrap().size(), vec![5, 26]);
    let free = sampler.domain().free_candidates();
    assert_eq!(free.len(), 26);
    assert!(free.iter().all(|column| !(13..17).contains(column)));
}

#[test]
fn fixed_sampler_passes_mask_unchanged() {
    let _serial = serial();
    tch::manual_seed(12);
    let mask: Vec<bool> = (0..35).map(|i| (i * 7 + 3) % 5 < 2).collect();
    let expected: Vec<f32> = mask
        .iter()
        .map(|&kept| if kept { 1.0 } else { 0.0 })
        .collect();
    let config = SamplerConfig::new(Method::Fixed, pixel(5, 7), 3);
    let sampler = config.build(Device::Cpu, Some(&mask)).unwrap();
    for mode in MODES {
        for row in rows(&sampler.sample(4, mode)) {
            assert_eq!(row, expected, "{mode:?}");
        }
    }
    assert!(sampler.trainable_variables().is_empty());
    assert!(sampler.var_store().is_none());
    assert!(sampler.logits().is_none());
    assert_eq!(sampler.samples_per_example(), 14);
    assert_eq!(sampler.entropy_penalty().double_value(&[]), 0.0);
}

#[test]
fn fixed_sampler_from_grid_and_indices() {
    let _serial = serial();
    let domain = Domain::pixel(3, 4).unwrap();
    let mut grid = Array2::from_elem((3, 4), false);
    grid[[0, 1]] = true;
    grid[[2, 3]] = true;
    let from_grid = FixedSampler::from_grid(domain.clone(), &grid, Device::Cpu).unwrap();
    let from_indices = FixedSampler::from_indices(domain.clone(), &[1, 11], Device::Cpu).unwrap();
    let grid_rows = rows(&from_grid.sample(1, Mode::Train));
    assert_eq!(grid_rows, rows(&from_indices.sample(1, Mode::Train)));
    assert_eq!(grid_rows[0][1], 1.0);
    assert_eq!(grid_rows[0][11], 1.0);

    let wrong = Array2::from_elem((4, 3), false);
    assert!(matches!(
        FixedSampler::from_grid(domain.clone(), &wrong, Device::Cpu),
        Err(SamplerError::MaskLength { .. })
    ));
    assert!(matches!(
        FixedSampler::new(domain, &[true; 5], Device::Cpu),
        Err(SamplerError::MaskLength {
            expected: 12,
            found: 5,
            ..
        })
    ));
}

#[test]
fn one_yaml_line_switches_method() {
    let _serial = serial();
    let base = "domain: {kind: lines, height: 6, width: 32, center_lines: 4}\nsamples: 6\n\
                temperature: 5.0\nentropy_weight: 2.0e-4\n";
    let rest = format!("{base}fixed_indices: [0, 5, 14, 15, 16, 17]\n");
    for (line, method) in [
        ("method: dps_top1", Method::DpsTop1),
        ("method: dps_topk", Method::DpsTopK),
        ("method: loupe", Method::Loupe),
        ("method: fixed", Method::Fixed),
    ] {
        let config = SamplerConfig::from_yaml_str(&format!("{line}\n{rest}")).unwrap();
        let sampler = config.build(Device::Cpu, None).unwrap();
        assert_eq!(sampler.method(), method);
        assert_eq!(sampler.sample(2, Mode::Stochastic).size(), vec![2, 32]);
    }
    let config = SamplerConfig::from_yaml_str(&format!("method: fixed\n{base}")).unwrap();
    assert!(matches!(
        config.build(Device::Cpu, None),
        Err(SamplerError::MissingFixedMask)
    ));
}

#[test]
fn schedules_follow_epochs() {
    let _serial = serial();
    let text = "method: dps_top1\ndomain: {kind: pixel, height: 4, width: 4}\nsamples: 2\n\
                temperature: {start: 5.0, end: 1.0, epochs: 4}\n\
                entropy_weight: {start: 0.0, per_epoch: 1.0e-5}\nlogits_lr_multiplier: 5.0\n";
    let mut sampler = SamplerConfig::from_yaml_str(text)
        .unwrap()
        .build(Device::Cpu, None)
        .unwrap();
    assert_eq!(sampler.temperature(), 5.0);
    assert_eq!(sampler.entropy_weight(), 0.0);
    assert_eq!(sampler.logits_lr_multiplier(), 5.0);
    sampler.set_epoch(2);
    assert_eq!(sampler.temperature(), 3.0);
    assert!((sampler.entropy_weight() - 2e-5).abs() < 1e-18);

    // Uniform logits: each of the 2 rows has entropy ln 16.
    set_logits(
        &*sampler,
        &Tensor::zeros([2, 16], (Kind::Float, Device::Cpu)),
    );
    let entropy = sampler.entropy().double_value(&[]);
    assert!(
        (entropy - 2.0 * 16f64.ln()).abs() < 1e-5,
        "entropy {entropy}"
    );
    let penalty = sampler.entropy_penalty().double_value(&[]);
    assert!((penalty - 2e-5 * entropy).abs() < 1e-9, "penalty {penalty}");
}

#[test]
fn incidence_counts_realisations() {
    let _serial = serial();
    tch::manual_seed(13);
    let mask: Vec<bool> = (0..20).map(|i| i % 3 == 0).collect();
    let fixed = SamplerConfig::new(Method::Fixed, pixel(4, 5), 1)
        .build(Device::Cpu, Some(&mask))
        .unwrap();
    let incidence = sample_incidence(&*fixed, 300, Mode::Stochastic).unwrap();
    assert_eq!(incidence.shape(), &[4, 5]);
    for (index, &value) in incidence.iter().enumerate() {
        assert_eq!(value, if mask[index] { 1.0 } else { 0.0 });
    }

    let top1 = build(Method::DpsTop1, pixel(4, 5), 6);
    let incidence = sample_incidence(&*top1, 300, Mode::Stochastic).unwrap();
    let total: f32 = incidence.iter().sum();
    assert!((total - 6.0).abs() < 1e-4, "incidence sums to {total}");
    assert!(incidence.iter().filter(|&&value| value > 0.0).count() > 6);

    let line = build(Method::DpsTopK, lines(24, 4, false), 5);
    let incidence = sample_incidence(&*line, 300, Mode::Stochastic).unwrap();
    assert_eq!(incidence.shape(), &[24]);
    assert!((10..14).all(|column| incidence[[column]] == 1.0));
    assert!(sample_incidence(&*line, 0, Mode::Stochastic).is_err());
}

#[test]
fn incidence_png_is_scaled_to_max() {
    let _serial = serial();
    tch::manual_seed(14);
    let folder = tempfile::tempdir().unwrap();
    let sampler = build(Method::DpsTopK, pixel(6, 8), 5);
    let incidence = sample_incidence(&*sampler, 200, Mode::Stochastic).unwrap();
    let path = folder.path().join("incidence.png");
    write_map_png(&path, &incidence).unwrap();
    let image = image::open(&path).unwrap().to_luma8();
    assert_eq!(image.dimensions(), (8, 6));
    let max = incidence.iter().copied().fold(0f32, f32::max);
    for ((column, row, pixel), value) in image.enumerate_pixels().zip(incidence.iter()) {
        let expected = (value / max * 255.0).round() as u8;
        assert_eq!(pixel.0[0], expected, "pixel ({row}, {column})");
    }

    let line = build(Method::DpsTopK, lines(30, 4, false), 6);
    let path = folder.path().join("lines.png");
    write_deterministic_mask_png(&path, &*line).unwrap();
    let image = image::open(&path).unwrap().to_luma8();
    assert_eq!(image.dimensions(), (30, LINE_STRIP_HEIGHT));
    let mask = &rows(&line.sample(1, Mode::Deterministic))[0];
    for row in 0..LINE_STRIP_HEIGHT {
        for column in 0..30 {
            let expected = if mask[column as usize] == 1.0 { 255 } else { 0 };
            assert_eq!(image.get_pixel(column, row).0[0], expected);
        }
    }
}

fn python() -> PathBuf {
    let path = std::env::var_os("DPS_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").expect("HOME is set");
            PathBuf::from(home).join(".cache/dps/libtorch-2.13.0/bin/python")
        });
    assert!(
        path.exists(),
        "Python with numpy not found at {}: run scripts/setup.sh or set DPS_PYTHON",
        path.display()
    );
    path
}

/// Loads an `.npy` file with numpy and returns its shape and values.
fn numpy_load(path: &std::path::Path) -> (Vec<usize>, Vec<f32>) {
    let script = "import sys, json, numpy as np\n\
                  a = np.load(sys.argv[1])\n\
                  assert a.dtype == np.float32, a.dtype\n\
                  print(json.dumps({'shape': list(a.shape), 'values': a.ravel().tolist()}))\n";
    let output = Command::new(python())
        .args(["-c", script])
        .arg(path)
        .output()
        .expect("Python runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let shape = parsed["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|size| size.as_u64().unwrap() as usize)
        .collect();
    let values = parsed["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|value| value.as_f64().unwrap() as f32)
        .collect();
    (shape, values)
}

#[test]
fn logits_npy_loads_in_numpy() {
    let _serial = serial();
    tch::manual_seed(15);
    let folder = tempfile::tempdir().unwrap();
    let cases = [
        (Method::DpsTop1, pixel(3, 5), 4, vec![4, 3, 5]),
        (Method::DpsTopK, pixel(3, 5), 4, vec![3, 5]),
        (Method::Loupe, lines(20, 4, false), 4, vec![16]),
    ];
    for (method, domain, samples, shape) in cases {
        let sampler = build(method, domain, samples);
        let path = folder.path().join(format!("{}.npy", method.name()));
        write_logits_npy(&path, &*sampler).unwrap();
        let (loaded_shape, loaded) = numpy_load(&path);
        assert_eq!(loaded_shape, shape, "{method:?}");
        let logits = sampler.logits().unwrap().detach().reshape([-1]);
        let expected: Vec<f32> = Vec::try_from(&logits).unwrap();
        assert_eq!(loaded, expected, "{method:?}");
    }
    let fixed = SamplerConfig::new(Method::Fixed, pixel(2, 2), 1)
        .build(Device::Cpu, Some(&[true, false, false, true]))
        .unwrap();
    let path = folder.path().join("fixed.npy");
    assert!(matches!(
        write_logits_npy(&path, &*fixed),
        Err(SamplerError::NoLogits { method: "fixed" })
    ));
}

#[test]
fn line_probabilities_csv() {
    let _serial = serial();
    tch::manual_seed(16);
    let folder = tempfile::tempdir().unwrap();
    for method in LEARNED {
        let sampler = build(method, lines(24, 4, false), 5);
        let path = folder.path().join(format!("{}.csv", method.name()));
        write_line_probabilities_csv(&path, &*sampler).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("column,center,probability,inclusion"));
        let records: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
        assert_eq!(records.len(), 24);
        let mut sum = 0.0;
        let mut inclusion_sum = 0.0;
        for (column, record) in records.iter().enumerate() {
            assert_eq!(record[0], column.to_string());
            let in_band = (10..14).contains(&column);
            assert_eq!(record[1], if in_band { "1" } else { "0" });
            let inclusion: f64 = record[3].parse().unwrap();
            if in_band {
                assert_eq!(record[2], "");
                assert_eq!(inclusion, 1.0);
            } else {
                sum += record[2].parse::<f64>().unwrap();
                inclusion_sum += inclusion;
            }
        }
        // Every stochastic mask acquires exactly 5 of the 20 free columns.
        assert!(
            (inclusion_sum - 5.0).abs() < 1e-4,
            "{method:?}: inclusion {inclusion_sum}"
        );
        // A softmax sums to 1, and LOUPE's p' averages to 5 / 20 over the 20 free columns.
        let expected = if method == Method::Loupe { 5.0 } else { 1.0 };
        assert!((sum - expected).abs() < 1e-4, "{method:?}: sum {sum}");
    }
    let grid = build(Method::DpsTopK, pixel(4, 4), 2);
    let path = folder.path().join("grid.csv");
    assert!(write_line_probabilities_csv(&path, &*grid).is_err());
}
