//! End-to-end tests of `dps::mask` through its public API.
//!
//! Reference values come from two sources: the fastMRI facts quoted in the project's
//! conventions (numpy 2.x `RandomState`, fastMRI `subsample.py`), and, at test time, numpy
//! itself through `tests/reference/fastmri_masks.py`, run with the Python named by
//! `DPS_PYTHON`. All comparisons with numpy are exact (bit patterns for doubles).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use std::io::Write;

use dps::mask::{
    baseline_grid, baseline_lines, center_lines, equispaced_lines, low_pass_disk, random_grid,
    random_lines, uniform_lattice, BaselineKind, DiskCenter, Mask, MaskError, MaskFunc,
    MaskFuncConfig, MaskType, RandomState, Seed,
};
use dps::Complex32;
use ndarray::{Array2, Array3, Array4, ShapeBuilder};
use serde_json::{json, Value};

const KNEE_FILE: &str = "file1000001.h5";

// ---------------------------------------------------------------------------------------
// Python reference harness

fn python() -> PathBuf {
    let path = match std::env::var_os("DPS_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is not set; set DPS_PYTHON instead");
            PathBuf::from(home).join(".cache/dps/libtorch-2.13.0/bin/python")
        }
    };
    assert!(
        path.exists(),
        "Python with numpy not found at {}; run scripts/setup.sh or set DPS_PYTHON",
        path.display()
    );
    path
}

/// Runs the numpy reference script on one request and returns its list of results.
fn numpy_reference(request: &Value) -> Vec<Value> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/fastmri_masks.py"
    );
    let mut child = Command::new(python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to start the Python reference; run scripts/setup.sh or set DPS_PYTHON");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "numpy reference failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("numpy reference printed invalid JSON")
}

fn seed_json(seed: &Seed) -> Value {
    match seed {
        Seed::Int(value) => json!(value),
        Seed::Array(words) => json!(words),
        Seed::Entropy => panic!("entropy seeds have no numpy equivalent"),
    }
}

fn json_usizes(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .expect("expected a JSON array")
        .iter()
        .map(|item| item.as_u64().expect("expected an integer") as usize)
        .collect()
}

fn sample(kind: MaskType, fractions: &[f64], accelerations: &[f64], width: usize) -> Mask {
    MaskFunc::new(kind, fractions.to_vec(), accelerations.to_vec())
        .unwrap()
        .sample(width, &Seed::from_file_name(KNEE_FILE), None)
        .unwrap()
}

fn sample_at(
    kind: MaskType,
    fractions: &[f64],
    accelerations: &[f64],
    width: usize,
    offset: usize,
) -> Mask {
    MaskFunc::new(kind, fractions.to_vec(), accelerations.to_vec())
        .unwrap()
        .sample_with_offset(width, &Seed::from_file_name(KNEE_FILE), Some(offset), None)
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// numpy RandomState

#[test]
fn file_name_seed_is_code_points() {
    let seed = Seed::from_file_name("file1000001.h5");
    let expected: Vec<u32> = vec![102, 105, 108, 101, 49, 48, 48, 48, 48, 48, 49, 46, 104, 53];
    assert_eq!(seed, Seed::Array(expected));
}

#[test]
fn rng_streams_match_numpy() {
    let long_array: Vec<u32> = (0..700u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
    let seeds = [
        Seed::Int(0),
        Seed::Int(1),
        Seed::Int(12345),
        Seed::Int(u32::MAX),
        Seed::from_file_name(KNEE_FILE),
        Seed::from_file_name("file_brain_AXT2_200_2000019.h5"),
        Seed::Array(vec![0]),
        Seed::Array(vec![u32::MAX, 7, 0]),
        Seed::Array(long_array),
    ];
    let randint_highs: [u64; 14] = [
        1,
        2,
        3,
        5,
        7,
        8,
        100,
        368,
        1 << 31,
        (1 << 31) + 1,
        1 << 32,
        (1 << 32) + 1,
        1 << 40,
        (1 << 62) + 12345,
    ];
    let mut ops = vec![json!(["uniform", 1500])];
    ops.extend(randint_highs.iter().map(|&high| json!(["randint", high])));
    ops.extend([1, 2, 50, 1000].map(|n| json!(["permutation", n])));
    ops.push(json!(["raw", 1300]));
    ops.push(json!(["uniform", 5]));

    let cases: Vec<Value> = seeds
        .iter()
        .map(|seed| json!({"seed": seed_json(seed), "ops": ops}))
        .collect();
    let answers = numpy_reference(&json!({"mode": "rng", "cases": cases}));

    for (seed, answer) in seeds.iter().zip(&answers) {
        let mut rng = RandomState::from_seed(seed).unwrap();
        let outputs = answer.as_array().expect("rng answer is a list");
        let mut outputs = outputs.iter();

        let uniforms: Vec<u64> = rng.uniform(1500).iter().map(|u| u.to_bits()).collect();
        let expected: Vec<u64> = serde_json::from_value(outputs.next().unwrap().clone()).unwrap();
        assert_eq!(uniforms, expected, "uniform stream for {seed:?}");

        for &high in &randint_highs {
            let expected = outputs.next().unwrap().as_u64().unwrap();
            assert_eq!(rng.randint(high), expected, "randint({high}) for {seed:?}");
        }
        for n in [1, 2, 50, 1000] {
            let expected = json_usizes(outputs.next().unwrap());
            assert_eq!(
                rng.permutation(n),
                expected,
                "permutation({n}) for {seed:?}"
            );
        }
        let words: Vec<u64> = (0..1300).map(|_| u64::from(rng.next_u32())).collect();
        let expected: Vec<u64> = serde_json::from_value(outputs.next().unwrap().clone()).unwrap();
        assert_eq!(words, expected, "raw words for {seed:?}");

        let tail: Vec<u64> = rng.uniform(5).iter().map(|u| u.to_bits()).collect();
        let expected: Vec<u64> = serde_json::from_value(outputs.next().unwrap().clone()).unwrap();
        assert_eq!(tail, expected, "uniforms after mixed draws for {seed:?}");
    }
}

// ---------------------------------------------------------------------------------------
// fastMRI mask functions: reference vectors

#[test]
fn random_mask_matches_fastmri_vector() {
    let mask = sample(MaskType::Random, &[0.08], &[4.0], 368);
    let columns = mask.indices();
    assert_eq!(columns.len(), 81);
    assert_eq!(columns[..10], [3, 6, 7, 11, 15, 16, 31, 35, 38, 48]);
    assert_eq!(columns.last(), Some(&354));
    assert_eq!(mask.num_low_frequencies(), Some(29));
    assert!((170..=198).all(|col| mask.is_sampled(0, col)));
    assert_eq!(mask.acceleration(), 368.0 / 81.0);
}

#[test]
fn random_mask_draws_pair_by_randint() {
    let mask = sample(MaskType::Random, &[0.08, 0.04], &[4.0, 8.0], 368);
    let parameters = mask.fastmri_parameters().unwrap();
    assert_eq!(parameters.center_fraction, 0.04);
    assert_eq!(parameters.acceleration, 8.0);
    assert_eq!(mask.num_sampled(), 48);
    assert_eq!(mask.num_low_frequencies(), Some(15));
}

#[test]
fn equispaced_mask_offset_zero_count() {
    let mask = sample_at(MaskType::Equispaced, &[0.08], &[4.0], 368, 0);
    assert_eq!(mask.num_sampled(), 114);
    assert!(mask
        .indices()
        .iter()
        .filter(|&&c| !(170..=198).contains(&c))
        .all(|c| c % 4 == 0));
    assert_eq!(mask.fastmri_parameters().unwrap().offset, Some(0));
}

#[test]
fn equispaced_fraction_width_372_offset_4() {
    let mask = sample_at(MaskType::EquispacedFraction, &[0.08], &[4.0], 372, 4);
    let columns = mask.indices();
    assert_eq!(columns[..6], [4, 9, 15, 20, 26, 31]);
    assert_eq!(columns.len(), 92);
    assert_eq!(mask.num_low_frequencies(), Some(30));
}

#[test]
fn equispaced_fraction_width_320_offset_0() {
    let mask = sample_at(MaskType::EquispacedFraction, &[0.08], &[4.0], 320, 0);
    assert_eq!(mask.num_sampled(), 80);
    assert_eq!(mask.num_low_frequencies(), Some(26));
}

#[test]
fn fastmri_center_band_positions() {
    for (width, first, last) in [(368, 170, 198), (320, 147, 172)] {
        let mask = sample_at(MaskType::Equispaced, &[0.08], &[width as f64], width, width);
        assert_eq!(mask.indices(), (first..=last).collect::<Vec<_>>());
    }
}

#[test]
fn summary_json_lists_columns() {
    let mask = sample(MaskType::Random, &[0.08], &[4.0], 368);
    let summary = serde_json::to_value(mask.summary()).unwrap();
    assert_eq!(summary["kind"], "random");
    assert_eq!(summary["width"], 368);
    assert_eq!(summary["count"], 81);
    assert!(summary.get("height").is_none());
    assert_eq!(summary["fastmri"]["num_low_frequencies"], 29);
    assert_eq!(summary["fastmri"]["center_fraction"], 0.08);
    assert_eq!(json_usizes(&summary["indices"]), mask.indices());
    assert_eq!(summary["acceleration"].as_f64(), Some(368.0 / 81.0));
}

// ---------------------------------------------------------------------------------------
// fastMRI mask functions: numpy reimplementation over many cases

struct MaskCase {
    kind: MaskType,
    fractions: Vec<f64>,
    accelerations: Vec<f64>,
    width: usize,
    seed: Seed,
    offset: Option<usize>,
}

fn mask_cases() -> Vec<MaskCase> {
    let widths = [
        1, 2, 3, 5, 8, 13, 25, 45, 64, 100, 255, 256, 276, 320, 322, 368, 372, 392, 396, 640,
    ];
    let parameter_sets: [(&[f64], &[f64]); 7] = [
        (&[0.08], &[4.0]),
        (&[0.04], &[8.0]),
        (&[0.08, 0.04], &[4.0, 8.0]),
        (&[0.1, 0.05, 0.2], &[3.0, 6.0, 2.0]),
        (&[0.25], &[2.0]),
        (&[0.5], &[4.0]),
        (&[0.07], &[3.5]),
    ];
    let seeds = [
        Seed::from_file_name(KNEE_FILE),
        Seed::from_file_name("file1000002.h5"),
        Seed::from_file_name("file_brain_AXFLAIR_200_6002425.h5"),
        Seed::Int(0),
        Seed::Int(42),
    ];
    let offsets = [None, Some(0), Some(1), Some(2), Some(3)];

    let mut cases = Vec::new();
    for kind in MaskType::ALL {
        for &width in &widths {
            for (fractions, accelerations) in parameter_sets {
                if MaskFunc::new(kind, fractions.to_vec(), accelerations.to_vec()).is_err() {
                    continue;
                }
                for seed in &seeds {
                    for &offset in &offsets {
                        if kind == MaskType::Random && offset.is_some() {
                            continue;
                        }
                        cases.push(MaskCase {
                            kind,
                            fractions: fractions.to_vec(),
                            accelerations: accelerations.to_vec(),
                            width,
                            seed: seed.clone(),
                            offset,
                        });
                    }
                }
            }
        }
    }
    cases
}

#[test]
fn masks_match_numpy_reference() {
    let cases = mask_cases();
    let request: Vec<Value> = cases
        .iter()
        .map(|case| {
            json!({
                "kind": case.kind.name(),
                "center_fractions": case.fractions,
                "accelerations": case.accelerations,
                "width": case.width,
                "seed": seed_json(&case.seed),
                "offset": case.offset,
            })
        })
        .collect();
    let answers = numpy_reference(&json!({"mode": "masks", "cases": request}));
    assert_eq!(answers.len(), cases.len());

    let mut compared = 0;
    let mut center_only = 0;
    for (case, answer) in cases.iter().zip(&answers) {
        let mask = MaskFunc::new(
            case.kind,
            case.fractions.clone(),
            case.accelerations.clone(),
        )
        .unwrap()
        .sample_with_offset(case.width, &case.seed, case.offset, None)
        .unwrap();
        let label = format!(
            "{} W={} cf={:?} acc={:?} seed={:?} offset={:?}",
            case.kind, case.width, case.fractions, case.accelerations, case.seed, case.offset
        );
        if answer.get("error").is_some() {
            // Cases where fastMRI raises: the documented result is the centre band alone.
            let num_low = mask.num_low_frequencies().unwrap();
            let band = match num_low {
                0 => Vec::new(),
                _ => center_lines(case.width, num_low).unwrap().indices(),
            };
            assert_eq!(mask.indices(), band, "{label}");
            center_only += 1;
            continue;
        }
        assert_eq!(mask.indices(), json_usizes(&answer["columns"]), "{label}");
        assert_eq!(
            mask.num_low_frequencies(),
            answer["num_low"].as_u64().map(|n| n as usize),
            "{label}"
        );
        compared += 1;
    }
    assert!(compared > 2000, "only {compared} cases compared");
    assert!(center_only < compared / 5, "{center_only} degenerate cases");
}

#[test]
fn equispaced_fraction_matches_numpy_arange() {
    // numpy's arange builds elements from the third on as start + i * ((start + step) - start),
    // which can round differently from start + i * step: W = 23, cf 0.08, acc 2.5, offset 2
    // is such a case. Offsets 0 to 2 of every width are compared.
    let mut cases = Vec::new();
    for width in 8..260 {
        for fraction in [0.04, 0.08, 0.1] {
            for acceleration in [2.5, 3.0, 3.5, 5.0] {
                let num_low = (width as f64 * fraction).round_ties_even();
                if num_low * acceleration >= width as f64 {
                    continue;
                }
                for offset in 0..3 {
                    cases.push((width, fraction, acceleration, offset));
                }
            }
        }
    }
    let request: Vec<Value> = cases
        .iter()
        .map(|&(width, fraction, acceleration, offset)| {
            json!({
                "kind": "equispaced_fraction",
                "center_fractions": [fraction],
                "accelerations": [acceleration],
                "width": width,
                "seed": 0,
                "offset": offset,
            })
        })
        .collect();
    let answers = numpy_reference(&json!({"mode": "masks", "cases": request}));
    for (&(width, fraction, acceleration, offset), answer) in cases.iter().zip(&answers) {
        let mask = MaskFunc::new(
            MaskType::EquispacedFraction,
            vec![fraction],
            vec![acceleration],
        )
        .unwrap()
        .sample_with_offset(width, &Seed::Int(0), Some(offset), None)
        .unwrap();
        assert_eq!(
            mask.indices(),
            json_usizes(&answer["columns"]),
            "W={width} cf={fraction} acc={acceleration} offset={offset}"
        );
    }
}

#[test]
fn magic_masks_differ_from_equispaced() {
    // Defazio's offsets differ between the two halves of k-space, so for W = 368 and acc 4
    // the magic mask is not the plain equispaced one.
    let magic = sample_at(MaskType::Magic, &[0.08], &[4.0], 368, 0);
    let equispaced = sample_at(MaskType::Equispaced, &[0.08], &[4.0], 368, 0);
    assert_ne!(magic.indices(), equispaced.indices());
}

#[test]
fn magic_fraction_clamps_center_band() {
    // Target round(368 / 4) = 92: a band of round(368 * 0.3) = 110 is clamped to 92 and then
    // covers the target alone. A band of round(0.368) = 0 is raised to 1.
    let wide = sample(MaskType::MagicFraction, &[0.3], &[4.0], 368);
    assert_eq!(wide.num_low_frequencies(), Some(92));
    assert_eq!(wide.indices(), (138..230).collect::<Vec<_>>());
    assert_eq!(wide.fastmri_parameters().unwrap().offset, None);
    let narrow = sample(MaskType::MagicFraction, &[0.001], &[4.0], 368);
    assert_eq!(narrow.num_low_frequencies(), Some(1));
    assert!(narrow.is_sampled(0, 184));
}

// ---------------------------------------------------------------------------------------
// MaskFunc validation and sampling options

#[test]
fn mask_func_rejects_invalid_parameters() {
    let new = |kind, fractions: &[f64], accelerations: &[f64]| {
        MaskFunc::new(kind, fractions.to_vec(), accelerations.to_vec())
    };
    assert!(matches!(
        new(MaskType::Random, &[0.08, 0.04], &[4.0]),
        Err(MaskError::LengthMismatch {
            center_fractions: 2,
            accelerations: 1
        })
    ));
    assert!(matches!(
        new(MaskType::Random, &[], &[]),
        Err(MaskError::NoParameters)
    ));
    for fraction in [0.0, 1.0, -0.1, 1.5, f64::NAN] {
        assert!(
            matches!(
                new(MaskType::Random, &[fraction], &[4.0]),
                Err(MaskError::InvalidCenterFraction { .. })
            ),
            "center fraction {fraction}"
        );
    }
    for acceleration in [0.0, 0.5, -4.0, f64::INFINITY, f64::NAN] {
        assert!(
            matches!(
                new(MaskType::Random, &[0.08], &[acceleration]),
                Err(MaskError::InvalidAcceleration { .. })
            ),
            "acceleration {acceleration}"
        );
    }
    for kind in [MaskType::Equispaced, MaskType::Magic] {
        assert!(matches!(
            new(kind, &[0.08], &[3.5]),
            Err(MaskError::NonIntegerAcceleration { .. })
        ));
    }
    for kind in [
        MaskType::Random,
        MaskType::EquispacedFraction,
        MaskType::MagicFraction,
    ] {
        assert!(new(kind, &[0.08], &[3.5]).is_ok(), "{kind}");
    }
}

#[test]
fn sample_rejects_invalid_requests() {
    let func = MaskFunc::new(MaskType::Random, vec![0.08], vec![4.0]).unwrap();
    let seed = Seed::Int(0);
    assert!(matches!(
        func.sample(0, &seed, None),
        Err(MaskError::ZeroWidth)
    ));
    assert!(matches!(
        func.sample(368, &Seed::Array(Vec::new()), None),
        Err(MaskError::EmptySeed)
    ));
    for padding in [(10, 5), (0, 369), (369, 369)] {
        assert!(
            matches!(
                func.sample(368, &seed, Some(padding)),
                Err(MaskError::InvalidPadding { .. })
            ),
            "padding {padding:?}"
        );
    }
}

#[test]
fn padding_columns_are_never_sampled() {
    let func = MaskFunc::new(MaskType::Random, vec![0.08], vec![4.0]).unwrap();
    let seed = Seed::from_file_name(KNEE_FILE);
    let full = func.sample(368, &seed, None).unwrap();
    let padded = func.sample(368, &seed, Some((20, 340))).unwrap();
    let expected: Vec<usize> = full
        .indices()
        .into_iter()
        .filter(|col| (20..340).contains(col))
        .collect();
    assert_eq!(padded.indices(), expected);
    assert!(padded.num_sampled() < full.num_sampled());
    assert_eq!(padded.num_low_frequencies(), Some(29));
}

#[test]
fn same_seed_gives_same_mask() {
    let func = MaskFunc::new(MaskType::Random, vec![0.08, 0.04], vec![4.0, 8.0]).unwrap();
    let seed = Seed::from_file_name("file1000123.h5");
    let first = func.sample(368, &seed, None).unwrap();
    let second = func.sample(368, &seed, None).unwrap();
    assert_eq!(first, second);
    let other = func
        .sample(368, &Seed::from_file_name("file1000124.h5"), None)
        .unwrap();
    assert_ne!(first.indices(), other.indices());
}

#[test]
fn entropy_seed_varies_between_calls() {
    let func = MaskFunc::new(MaskType::Random, vec![0.08], vec![4.0]).unwrap();
    let masks: BTreeSet<Vec<usize>> = (0..4)
        .map(|_| func.sample(368, &Seed::Entropy, None).unwrap().indices())
        .collect();
    assert!(masks.len() > 1);
}

#[test]
fn mask_func_config_from_yaml() {
    let yaml = "type: equispaced_fraction\ncenter_fractions: [0.08, 0.04]\naccelerations: [4, 8]\n";
    let config: MaskFuncConfig = serde_yaml::from_str(yaml).unwrap();
    let func = MaskFunc::try_from(config).unwrap();
    assert_eq!(func.kind(), MaskType::EquispacedFraction);
    assert_eq!(func.center_fractions(), [0.08, 0.04]);
    assert_eq!(func.accelerations(), [4.0, 8.0]);

    let unknown_key = "type: random\ncenter_fractions: [0.08]\naccelerations: [4]\nseed: 1\n";
    assert!(serde_yaml::from_str::<MaskFuncConfig>(unknown_key).is_err());
    let invalid = "type: magic\ncenter_fractions: [0.08]\naccelerations: [2.5]\n";
    let config: MaskFuncConfig = serde_yaml::from_str(invalid).unwrap();
    assert!(matches!(
        MaskFunc::try_from(config),
        Err(MaskError::NonIntegerAcceleration { .. })
    ));
}

#[test]
fn mask_type_parses_fastmri_names() {
    assert_eq!(
        "equispaced_fraction".parse::<MaskType>().unwrap(),
        MaskType::EquispacedFraction
    );
    let parsed: MaskType = serde_json::from_str("\"magic_fraction\"").unwrap();
    assert_eq!(parsed, MaskType::MagicFraction);
    let error = "poisson".parse::<MaskType>().unwrap_err().to_string();
    assert!(error.contains("random, equispaced"), "{error}");
}

// ---------------------------------------------------------------------------------------
// Mask accessors and application

fn signed_kspace(shape: (usize, usize, usize)) -> Array3<Complex32> {
    // Negative parts and negative zeros everywhere, so that a leaked sign bit shows.
    Array3::from_shape_fn(shape, |(c, r, k)| {
        let value = (c * 31 + r * 7 + k) as f32;
        match (c + r + k) % 3 {
            0 => Complex32::new(-0.0, -value - 1.0),
            1 => Complex32::new(-value - 0.5, -0.0),
            _ => Complex32::new(value, -value),
        }
    })
}

fn positive_zero_bits(sample: Complex32) -> bool {
    sample.re.to_bits() == 0 && sample.im.to_bits() == 0
}

fn without_negative_zero(value: f32) -> u32 {
    (value + 0.0).to_bits()
}

#[test]
fn line_mask_apply_zeroes_with_positive_sign() {
    let mask = Mask::from_columns(6, &[1, 4]).unwrap();
    let original = signed_kspace((2, 3, 6));
    let mut kspace = original.clone();
    mask.apply(&mut kspace).unwrap();
    for ((c, r, k), sample) in kspace.indexed_iter() {
        let before = original[(c, r, k)];
        if k == 1 || k == 4 {
            assert_eq!(
                sample.re.to_bits(),
                without_negative_zero(before.re),
                "({c},{r},{k})"
            );
            assert_eq!(
                sample.im.to_bits(),
                without_negative_zero(before.im),
                "({c},{r},{k})"
            );
        } else {
            assert!(positive_zero_bits(*sample), "({c},{r},{k}) = {sample}");
        }
    }
}

#[test]
fn grid_mask_apply_on_fortran_layout() {
    let mask = Mask::from_grid_indices(3, 4, &[0, 5, 6, 11]).unwrap();
    let original = Array4::from_shape_fn((2, 2, 3, 4).f(), |(s, c, r, k)| {
        Complex32::new(-((s + c + r + k) as f32) - 1.0, -0.0)
    });
    let mut kspace = original.clone();
    mask.apply(&mut kspace).unwrap();
    for ((s, c, r, k), sample) in kspace.indexed_iter() {
        if mask.is_sampled(r, k) {
            assert_eq!(sample.re, original[(s, c, r, k)].re, "({s},{c},{r},{k})");
            assert_eq!(sample.im.to_bits(), 0, "({s},{c},{r},{k})");
        } else {
            assert!(positive_zero_bits(*sample), "({s},{c},{r},{k}) = {sample}");
        }
    }
}

#[test]
fn apply_checks_kspace_shape() {
    let lines = Mask::from_columns(6, &[1]).unwrap();
    let mut wrong = Array3::<Complex32>::zeros((2, 3, 5));
    assert!(matches!(
        lines.apply(&mut wrong),
        Err(MaskError::ShapeMismatch { .. })
    ));
    let grid = Mask::from_grid_indices(3, 5, &[1]).unwrap();
    let mut transposed = Array2::<Complex32>::zeros((5, 3));
    assert!(grid.apply(&mut transposed).is_err());
    let mut fitting = Array3::<Complex32>::zeros((4, 3, 5));
    assert!(grid.apply(&mut fitting).is_ok());
}

#[test]
fn fastmri_mask_apply_on_knee_shape() {
    let mask = sample(MaskType::Random, &[0.08], &[4.0], 368);
    let mut kspace = Array3::from_elem((2, 640, 368), Complex32::new(-1.0, -0.0));
    mask.apply(&mut kspace).unwrap();
    let kept = kspace.iter().filter(|sample| sample.re == -1.0).count();
    assert_eq!(kept, 2 * 640 * 81);
    assert!(kspace.iter().all(|sample| sample.im.to_bits() == 0));
    assert!(kspace
        .iter()
        .filter(|sample| sample.re != -1.0)
        .all(|sample| positive_zero_bits(*sample)));
}

#[test]
fn grid_accessors_use_row_major_indices() {
    let mask = Mask::from_grid_indices(3, 4, &[11, 5, 5, 0]).unwrap();
    assert_eq!(mask.indices(), [0, 5, 11]);
    assert_eq!(mask.num_sampled(), 3);
    assert_eq!(mask.num_candidates(), 12);
    assert_eq!(mask.acceleration(), 4.0);
    assert!(mask.is_sampled(1, 1));
    assert!(mask.is_sampled(2, 3));
    assert!(!mask.is_sampled(0, 1));
    assert_eq!(mask.height(), Some(3));
    assert_eq!(mask.width(), 4);

    let grid = mask.to_grid(3).unwrap();
    assert_eq!(Mask::from_grid(&grid).unwrap().indices(), mask.indices());
    assert!(matches!(
        mask.to_grid(4),
        Err(MaskError::HeightMismatch {
            expected: 3,
            found: 4
        })
    ));
    let summary = serde_json::to_value(mask.summary()).unwrap();
    assert_eq!(summary["height"], 3);
    assert_eq!(summary["kind"], "custom");
    assert!(summary.get("fastmri").is_none());
}

#[test]
fn line_accessors_and_grid_expansion() {
    let mask = Mask::from_columns(5, &[4, 0]).unwrap().with_kind("learned");
    assert_eq!(mask.kind(), "learned");
    assert_eq!(mask.acceleration(), 2.5);
    assert!(mask.is_sampled(1000, 4));
    let grid = mask.to_grid(3).unwrap();
    assert_eq!(grid.dim(), (3, 5));
    for ((_, col), &sampled) in grid.indexed_iter() {
        assert_eq!(sampled, col == 0 || col == 4);
    }
    assert!(matches!(
        Mask::from_columns(5, &[5]),
        Err(MaskError::IndexOutOfRange { index: 5, len: 5 })
    ));
    assert!(Mask::from_columns(0, &[]).is_err());
    assert!(Mask::from_column_flags(Vec::new()).is_err());
}

#[test]
fn empty_mask_has_infinite_acceleration() {
    let mask = Mask::from_columns(8, &[]).unwrap();
    assert_eq!(mask.acceleration(), f64::INFINITY);
    let summary = serde_json::to_value(mask.summary()).unwrap();
    assert!(summary["acceleration"].is_null());
}

// ---------------------------------------------------------------------------------------
// PNG export

#[test]
fn png_shows_sampled_samples_white() {
    let dir = tempfile::tempdir().unwrap();
    let lines = Mask::from_columns(6, &[0, 3]).unwrap();
    let path = dir.path().join("lines.png");
    lines.save_png(&path, Some(4)).unwrap();
    let image = image::open(&path).unwrap().to_luma8();
    assert_eq!(image.dimensions(), (6, 4));
    for (x, y, pixel) in image.enumerate_pixels() {
        let expected = if x == 0 || x == 3 { 255 } else { 0 };
        assert_eq!(pixel.0[0], expected, "pixel ({x}, {y})");
    }

    let strip = dir.path().join("strip.png");
    lines.save_png(&strip, None).unwrap();
    let image = image::open(&strip).unwrap().to_luma8();
    assert_eq!(image.dimensions(), (6, dps::mask::STRIP_HEIGHT as u32));

    let grid = Mask::from_grid_indices(2, 3, &[1, 5]).unwrap();
    let path = dir.path().join("grid.png");
    grid.save_png(&path, None).unwrap();
    let image = image::open(&path).unwrap().to_luma8();
    assert_eq!(image.dimensions(), (3, 2));
    assert_eq!(image.get_pixel(1, 0).0[0], 255);
    assert_eq!(image.get_pixel(2, 1).0[0], 255);
    assert_eq!(image.get_pixel(0, 0).0[0], 0);
    assert!(grid.save_png(&path, Some(3)).is_err());
}

#[test]
fn png_error_names_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing-folder").join("mask.png");
    let mask = Mask::from_columns(4, &[1]).unwrap();
    let error = mask.save_png(&path, Some(2)).unwrap_err();
    assert!(matches!(error, MaskError::Png { .. }));
    let message = error.to_string();
    assert!(message.contains("missing-folder"), "{message}");
    assert!(matches!(
        mask.save_png(dir.path().join("zero.png"), Some(0)),
        Err(MaskError::ZeroImageHeight)
    ));
}

// ---------------------------------------------------------------------------------------
// DPS baselines

const GRID_SIZES: [(usize, usize); 8] = [
    (1, 1),
    (1, 7),
    (5, 1),
    (5, 7),
    (28, 28),
    (32, 32),
    (33, 17),
    (64, 40),
];

fn sample_counts(total: usize) -> Vec<usize> {
    let mut counts: BTreeSet<usize> = [1, 2, 3, total / 16, total / 8, total / 4, total / 2]
        .into_iter()
        .chain([total.saturating_sub(1), total])
        .filter(|&count| count >= 1 && count <= total)
        .collect();
    counts.extend((1..=total).step_by((total / 23).max(1)));
    counts.into_iter().collect()
}

#[test]
fn grid_baselines_have_exact_counts() {
    for (height, width) in GRID_SIZES {
        for count in sample_counts(height * width) {
            for kind in BaselineKind::ALL {
                let mask = baseline_grid(kind, height, width, count, &Seed::Int(3)).unwrap();
                assert_eq!(
                    mask.num_sampled(),
                    count,
                    "{kind} {height}x{width} M={count}"
                );
                assert_eq!(mask.height(), Some(height));
                assert_eq!(mask.width(), width);
            }
            let midpoint = low_pass_disk(height, width, count, DiskCenter::GridMidpoint).unwrap();
            assert_eq!(midpoint.num_sampled(), count);
        }
    }
}

#[test]
fn line_baselines_have_exact_counts() {
    for width in [1, 2, 3, 7, 28, 32, 45, 320, 368] {
        for count in sample_counts(width) {
            for kind in BaselineKind::ALL {
                let mask = baseline_lines(kind, width, count, &Seed::Int(3)).unwrap();
                assert_eq!(mask.num_sampled(), count, "{kind} W={width} M={count}");
                assert_eq!(mask.height(), None);
            }
        }
    }
}

#[test]
fn uniform_lattice_matches_dps_cifar_pattern() {
    let mask = uniform_lattice(32, 32, 32).unwrap();
    let mut expected = Vec::new();
    for set in [[2, 10, 18, 26], [6, 14, 22, 30]] {
        for row in set {
            for col in set {
                expected.push(row * 32 + col);
            }
        }
    }
    expected.sort_unstable();
    assert_eq!(mask.indices(), expected);
    assert_eq!(mask.kind(), "uniform_lattice");
    assert_eq!(mask.acceleration(), 32.0);
}

#[test]
fn uniform_lattice_spreads_rows() {
    let mask = uniform_lattice(64, 40, 100).unwrap();
    let rows: BTreeSet<usize> = mask.indices().iter().map(|index| index / 40).collect();
    let rows: Vec<usize> = rows.into_iter().collect();
    let gaps: BTreeSet<usize> = rows.windows(2).map(|pair| pair[1] - pair[0]).collect();
    assert!(gaps.len() <= 2, "row gaps {gaps:?}");
    let per_row: BTreeSet<usize> = rows
        .iter()
        .map(|&row| (0..40).filter(|&col| mask.is_sampled(row, col)).count())
        .collect();
    assert!(per_row.len() <= 2, "samples per row {per_row:?}");
}

fn squared_distance(index: usize, width: usize, center: (f64, f64)) -> f64 {
    let row = (index / width) as f64 - center.0;
    let col = (index % width) as f64 - center.1;
    row * row + col * col
}

#[test]
fn low_pass_disk_contains_nearest_samples() {
    for (height, width) in GRID_SIZES {
        for count in sample_counts(height * width) {
            for center in [DiskCenter::Dc, DiskCenter::GridMidpoint] {
                let point = match center {
                    DiskCenter::Dc => ((height / 2) as f64, (width / 2) as f64),
                    DiskCenter::GridMidpoint => {
                        ((height as f64 - 1.0) / 2.0, (width as f64 - 1.0) / 2.0)
                    }
                };
                let mask = low_pass_disk(height, width, count, center).unwrap();
                let selected: Vec<f64> = mask
                    .indices()
                    .into_iter()
                    .map(|index| squared_distance(index, width, point))
                    .collect();
                let farthest_selected = selected.iter().cloned().fold(0.0, f64::max);
                let nearest_dropped = (0..height * width)
                    .filter(|&index| !mask.flags()[index])
                    .map(|index| squared_distance(index, width, point))
                    .fold(f64::INFINITY, f64::min);
                assert!(
                    farthest_selected <= nearest_dropped,
                    "{center:?} {height}x{width} M={count}: {farthest_selected} > {nearest_dropped}"
                );
            }
        }
    }
}

#[test]
fn low_pass_disk_matches_dps_cifar_disk() {
    let mask = low_pass_disk(32, 32, 128, DiskCenter::GridMidpoint).unwrap();
    let inside: Vec<usize> = (0..32 * 32)
        .filter(|&index| squared_distance(index, 32, (15.5, 15.5)) < 6.5 * 6.5)
        .collect();
    assert_eq!(inside.len(), 124);
    let mut expected = inside;
    expected.extend([(10, 12), (10, 19), (21, 12), (21, 19)].map(|(r, c)| r * 32 + c));
    expected.sort_unstable();
    assert_eq!(mask.indices(), expected);
}

#[test]
fn low_pass_disk_dc_tie_break() {
    // Around (16, 16) the 121 samples with d^2 <= 37 come first. All of the ring d^2 = 40 is
    // equally far from a diagonal, so the four samples at row offset +-6 go before those at
    // row offset +-2, which follow in row-major order.
    let mask = low_pass_disk(32, 32, 128, DiskCenter::Dc).unwrap();
    let core: Vec<usize> = (0..32 * 32)
        .filter(|&index| squared_distance(index, 32, (16.0, 16.0)) <= 37.0)
        .collect();
    assert_eq!(core.len(), 121);
    let mut expected = core;
    expected.extend(
        [
            (10, 14),
            (10, 18),
            (22, 14),
            (22, 18),
            (14, 10),
            (14, 22),
            (18, 10),
        ]
        .map(|(r, c)| r * 32 + c),
    );
    expected.sort_unstable();
    assert_eq!(mask.indices(), expected);
    assert!(mask.is_sampled(16, 16));
}

#[test]
fn random_baselines_match_numpy_permutation() {
    let cases = [
        (Seed::Int(0), 32usize, 32usize, 100usize),
        (Seed::Int(7), 28, 28, 49),
        (Seed::from_file_name(KNEE_FILE), 5, 7, 35),
        (Seed::Array(vec![1, 2, 3]), 1, 368, 92),
    ];
    let request: Vec<Value> = cases
        .iter()
        .map(|(seed, h, w, _)| json!({"seed": seed_json(seed), "ops": [["permutation", h * w]]}))
        .collect();
    let answers = numpy_reference(&json!({"mode": "rng", "cases": request}));
    for ((seed, height, width, count), answer) in cases.iter().zip(&answers) {
        let permutation = json_usizes(&answer[0]);
        let mut expected = permutation[..*count].to_vec();
        expected.sort_unstable();
        let grid = random_grid(*height, *width, *count, seed).unwrap();
        assert_eq!(grid.indices(), expected, "grid {seed:?}");
        if *height == 1 {
            let lines = random_lines(*width, *count, seed).unwrap();
            assert_eq!(lines.indices(), expected, "lines {seed:?}");
        }
    }
}

#[test]
fn random_baselines_are_deterministic_per_seed() {
    let first = random_grid(32, 32, 64, &Seed::Int(5)).unwrap();
    assert_eq!(first, random_grid(32, 32, 64, &Seed::Int(5)).unwrap());
    assert_ne!(first, random_grid(32, 32, 64, &Seed::Int(6)).unwrap());
    let lines = random_lines(368, 40, &Seed::from_file_name(KNEE_FILE)).unwrap();
    let again = random_lines(368, 40, &Seed::from_file_name(KNEE_FILE)).unwrap();
    assert_eq!(lines, again);
}

#[test]
fn center_lines_match_fastmri_band() {
    for width in [5, 6, 25, 320, 368, 372] {
        for fraction in [0.04, 0.08, 0.1, 0.5] {
            let num_low = (width as f64 * fraction).round_ties_even() as usize;
            if num_low == 0 {
                continue;
            }
            let band = center_lines(width, num_low).unwrap();
            let fastmri = sample_at(
                MaskType::Equispaced,
                &[fraction],
                &[width as f64],
                width,
                width,
            );
            assert_eq!(band.indices(), fastmri.indices(), "W={width} cf={fraction}");
            assert!(band.is_sampled(0, width / 2));
        }
    }
}

#[test]
fn equispaced_lines_include_dc_with_even_gaps() {
    for width in [7, 32, 320, 368] {
        for count in [1, 2, 3, 5, 26, width / 4, width] {
            if count == 0 || count > width {
                continue;
            }
            let mask = equispaced_lines(width, count).unwrap();
            assert!(mask.is_sampled(0, width / 2), "W={width} M={count}");
            let columns = mask.indices();
            let mut gaps: Vec<usize> = columns.windows(2).map(|pair| pair[1] - pair[0]).collect();
            gaps.push(columns[0] + width - columns[columns.len() - 1]);
            let smallest = gaps.iter().min().unwrap();
            let largest = gaps.iter().max().unwrap();
            assert!(largest - smallest <= 1, "W={width} M={count} gaps {gaps:?}");
        }
    }
}

#[test]
fn baselines_reject_bad_counts() {
    assert!(matches!(
        uniform_lattice(32, 32, 0),
        Err(MaskError::ZeroSamples { .. })
    ));
    assert!(matches!(
        random_grid(4, 4, 17, &Seed::Int(0)),
        Err(MaskError::TooManySamples {
            requested: 17,
            available: 16,
            ..
        })
    ));
    assert!(matches!(
        low_pass_disk(0, 4, 1, DiskCenter::Dc),
        Err(MaskError::EmptyGrid { .. })
    ));
    assert!(matches!(
        equispaced_lines(8, 9),
        Err(MaskError::TooManySamples { .. })
    ));
    assert!(matches!(
        random_lines(8, 0, &Seed::Int(0)),
        Err(MaskError::ZeroSamples { .. })
    ));
    assert!(matches!(center_lines(0, 1), Err(MaskError::ZeroWidth)));
    assert!(matches!(
        random_lines(8, 2, &Seed::Array(Vec::new())),
        Err(MaskError::EmptySeed)
    ));
}
