//! Criterion benches of `fft2c`, `ifft2c` and multi-coil `MaskedFourier` at fastMRI sizes.
//!
//! `cargo bench --no-default-features --bench fft`. Throughput is in complex samples per
//! second. `scripts/bench_fft.py` compares the same sizes with numpy and torch.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dps::fft::{fft2c, ifft2c};
use dps::operator::{LinearOperator, MaskedFourier};
use dps::Complex32;
use ndarray::{ArrayD, IxDyn};

const SHAPES: [&[usize]; 3] = [&[320, 320], &[640, 368], &[15, 640, 368]];

fn signal(shape: &[usize]) -> ArrayD<Complex32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let re = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
        let im = (state & 0xff_ffff) as f32 / (1u64 << 24) as f32 - 0.5;
        Complex32::new(re, im)
    })
}

fn label(shape: &[usize]) -> String {
    let sizes: Vec<String> = shape.iter().map(usize::to_string).collect();
    sizes.join("x")
}

fn bench_transforms(c: &mut Criterion) {
    let mut group = c.benchmark_group("fft2c");
    for shape in SHAPES {
        let x = signal(shape);
        group.throughput(Throughput::Elements(x.len() as u64));
        group.bench_with_input(BenchmarkId::new("forward", label(shape)), &x, |b, x| {
            b.iter(|| fft2c(black_box(x)))
        });
        group.bench_with_input(BenchmarkId::new("inverse", label(shape)), &x, |b, x| {
            b.iter(|| ifft2c(black_box(x)))
        });
    }
    group.finish();
}

fn bench_masked_fourier(c: &mut Criterion) {
    let shape = [15, 640, 368];
    // Every fourth column plus a centre band of 29: the fastMRI 4x equispaced layout.
    let columns: Vec<bool> = (0..shape[2])
        .map(|j| j % 4 == 0 || (170..199).contains(&j))
        .collect();
    let operator = MaskedFourier::with_column_mask(&shape, &columns).expect("mask fits");
    let x = signal(&shape);
    let y = operator.forward(&x.view()).expect("shape fits");

    let mut group = c.benchmark_group("masked_fourier");
    group.throughput(Throughput::Elements(x.len() as u64));
    group.bench_function(BenchmarkId::new("forward", label(&shape)), |b| {
        b.iter(|| operator.forward(black_box(&x.view())))
    });
    group.bench_function(BenchmarkId::new("adjoint", label(&shape)), |b| {
        b.iter(|| operator.adjoint(black_box(&y.view())))
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_transforms, bench_masked_fourier
}
criterion_main!(benches);
