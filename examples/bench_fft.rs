//! Times `fft2c` and `ifft2c` at fastMRI sizes and prints the medians as one JSON object.
//!
//! `scripts/bench_fft.py` runs this beside numpy and torch so that all three are measured on
//! the same machine in the same session:
//!
//! ```text
//! cargo run --release --no-default-features --example bench_fft -- [repeats]
//! ```
//!
//! Output: `{"threads": 2, "results": [{"shape": [320, 320], "fft2c_ms": ..., ...}, ...]}`,
//! each time the median of `repeats` runs (default 21) after two warm-up runs.

use std::time::Instant;

use dps::fft::{fft2c, ifft2c};
use dps::Complex32;
use ndarray::{ArrayD, IxDyn};

const SHAPES: [&[usize]; 3] = [&[320, 320], &[640, 368], &[15, 640, 368]];

fn median_ms(repeats: usize, mut run: impl FnMut()) -> f64 {
    run();
    run();
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let repeats = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .expect("the repeat count must be a positive integer"),
        None => 21,
    };
    let mut results = Vec::new();
    for shape in SHAPES {
        // A fixed pseudo-random signal: the timing of an FFT does not depend on the values.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let x = ArrayD::from_shape_simple_fn(IxDyn(shape), || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let re = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let im = (state & 0xff_ffff) as f32 / (1u64 << 24) as f32 - 0.5;
            Complex32::new(re, im)
        });
        let forward = median_ms(repeats, || drop(std::hint::black_box(fft2c(&x))));
        let inverse = median_ms(repeats, || drop(std::hint::black_box(ifft2c(&x))));
        results.push(serde_json::json!({
            "shape": shape,
            "fft2c_ms": forward,
            "ifft2c_ms": inverse,
        }));
    }
    let report = serde_json::json!({
        "threads": rayon::current_num_threads(),
        "repeats": repeats,
        "results": results,
    });
    println!("{report}");
}
