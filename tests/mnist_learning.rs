//! Reduced MNIST runs that check learning happens: DPS-topK, trained jointly with the classifier
//! on 5000 images for 8 epochs, beats a fixed random mask with the same budget (25 of 784
//! pixels), and both are far above chance (10 %).
//!
//! Needs the MNIST files in `data/mnist` (or `DPS_MNIST_DIR`); `scripts/fetch_mnist.sh` puts
//! them there.
#![cfg(feature = "torch")]

use std::path::{Path, PathBuf};

use dps::experiments::{evaluate_document, read_document, run_document, ExperimentResult};

fn mnist_dir() -> PathBuf {
    let dir = std::env::var_os("DPS_MNIST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"));
    assert!(
        dir.join("train-images-idx3-ubyte").is_file(),
        "MNIST not found in {}; run scripts/fetch_mnist.sh or set DPS_MNIST_DIR",
        dir.display()
    );
    dir
}

/// Trains one repository pipeline with reduced settings and returns its test accuracy.
fn reduced_accuracy(pipeline: &str, output: &Path) -> f64 {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/mnist")
        .join(pipeline);
    let overrides = [
        format!("data.dir={}", mnist_dir().display()),
        "data.train_subset=5000".into(),
        "train.epochs=8".into(),
        "train.batch_size=64".into(),
        "train.learning_rate=1.0e-3".into(),
        "evaluation.passes=5".into(),
        format!("output={}", output.display()),
    ];
    let document = read_document(&path, &overrides).unwrap();
    match run_document(&path, document, false).unwrap() {
        ExperimentResult::Mnist(result) => {
            assert_eq!(result.metric, "accuracy");
            assert_eq!(result.samples, 25);
            result.test_value
        }
    }
}

#[test]
fn dps_topk_beats_random_mask() {
    let dir = tempfile::tempdir().unwrap();
    let dps = reduced_accuracy("dps_topk_pixel.yaml", &dir.path().join("dps"));
    let random = reduced_accuracy("random_pixel.yaml", &dir.path().join("random"));
    assert!(dps > 0.3, "DPS-topK accuracy {dps} is near chance");
    assert!(random > 0.2, "random-mask accuracy {random} is near chance");
    assert!(
        dps > random + 0.05,
        "DPS-topK ({dps}) should beat the random mask ({random}) by 5 points"
    );
    for file in [
        "best.ot",
        "last.ot",
        "metrics.jsonl",
        "metrics.csv",
        "config.yaml",
        "mask.png",
        "incidence.png",
        "logits.npy",
        "mask.json",
        "result.json",
    ] {
        assert!(
            dir.path().join("dps").join(file).is_file(),
            "{file} missing"
        );
    }
}

#[test]
fn resume_continues_from_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/mnist/dps_topk_pixel.yaml");
    let overrides = |epochs: usize| {
        vec![
            format!("data.dir={}", mnist_dir().display()),
            "data.train_subset=500".into(),
            format!("train.epochs={epochs}"),
            "evaluation.mode=deterministic".into(),
            format!("output={}", dir.path().display()),
        ]
    };
    let first = read_document(&path, &overrides(2)).unwrap();
    run_document(&path, first, false).unwrap();
    let second = read_document(&path, &overrides(3)).unwrap();
    let ExperimentResult::Mnist(result) = run_document(&path, second, true).unwrap();
    assert_eq!(result.epochs_run, 3);
    let log = std::fs::read_to_string(dir.path().join("metrics.jsonl")).unwrap();
    let epochs: Vec<u64> = log
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["epoch"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(epochs, vec![0, 1, 2]);

    // Scoring the best checkpoint again reproduces the run's deterministic test accuracy.
    let again = read_document(&path, &overrides(3)).unwrap();
    let ExperimentResult::Mnist(evaluated) =
        evaluate_document(&path, again, &dir.path().join("best.ot")).unwrap();
    assert_eq!(evaluated.test_value, result.test_value);
    assert_eq!(evaluated.best_epoch, result.best_epoch);
}
