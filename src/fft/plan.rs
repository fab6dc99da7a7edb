//! Process-wide cache of 1-D FFT plans, and per-thread work buffers.
//!
//! Planning a rustfft transform costs far more than running one row, so every length and
//! direction is planned once and shared (`Arc<dyn Fft>` is `Send + Sync`). The planner picks the
//! AVX back end at run time where the CPU has it, and lengths with a factor that rustfft computes
//! with scalar code get a [`PrimeSplitFft`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use rustfft::{Fft, FftDirection, FftPlanner};

use super::prime::PrimeSplitFft;
use crate::Complex32;

/// Direction of a transform, with the sign convention of numpy: `Forward` is `exp(-2 pi i jk/n)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    Forward,
    Inverse,
}

impl From<Direction> for FftDirection {
    fn from(direction: Direction) -> Self {
        match direction {
            Direction::Forward => FftDirection::Forward,
            Direction::Inverse => FftDirection::Inverse,
        }
    }
}

struct PlanCache {
    planner: FftPlanner<f32>,
    plans: HashMap<(usize, Direction), Arc<dyn Fft<f32>>>,
}

fn cache() -> &'static RwLock<PlanCache> {
    static CACHE: OnceLock<RwLock<PlanCache>> = OnceLock::new();
    CACHE.get_or_init(|| {
        RwLock::new(PlanCache {
            planner: FftPlanner::new(),
            plans: HashMap::new(),
        })
    })
}

/// Returns the shared plan for a 1-D transform of `len` points.
pub(crate) fn plan(len: usize, direction: Direction) -> Arc<dyn Fft<f32>> {
    let key = (len, direction);
    // A panic while the lock was held cannot leave the map half-written (insertion is the last
    // step), so a poisoned lock is still safe to use.
    if let Some(plan) = cache()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .plans
        .get(&key)
    {
        return Arc::clone(plan);
    }
    let mut guard = cache()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let PlanCache { planner, plans } = &mut *guard;
    let plan = plans.entry(key).or_insert_with(|| {
        match PrimeSplitFft::try_new(len, direction.into(), planner) {
            Some(split) => Arc::new(split),
            None => planner.plan_fft(len, direction.into()),
        }
    });
    Arc::clone(plan)
}

/// Reusable buffers of one thread: `block` for gathered data and `scratch` for rustfft.
pub(crate) struct Workspace {
    pub(crate) block: Vec<Complex32>,
    pub(crate) scratch: Vec<Complex32>,
}

thread_local! {
    static WORKSPACE: RefCell<Workspace> = const {
        RefCell::new(Workspace { block: Vec::new(), scratch: Vec::new() })
    };
}

/// Runs `f` with this thread's workspace, grown to at least `block_len` and `scratch_len`.
///
/// `f` must not call back into this function (nor start rayon work that could), because the
/// workspace is borrowed for the whole call.
pub(crate) fn with_workspace<R>(
    block_len: usize,
    scratch_len: usize,
    f: impl FnOnce(&mut [Complex32], &mut [Complex32]) -> R,
) -> R {
    WORKSPACE.with(|cell| {
        let mut workspace = cell.borrow_mut();
        let Workspace { block, scratch } = &mut *workspace;
        if block.len() < block_len {
            block.resize(block_len, Complex32::new(0.0, 0.0));
        }
        if scratch.len() < scratch_len {
            scratch.resize(scratch_len, Complex32::new(0.0, 0.0));
        }
        f(&mut block[..block_len], &mut scratch[..scratch_len])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_reused() {
        let first = plan(12, Direction::Forward);
        let second = plan(12, Direction::Forward);
        assert!(Arc::ptr_eq(&first, &second));
    }

    #[test]
    fn plan_direction_is_part_of_key() {
        let forward = plan(12, Direction::Forward);
        let inverse = plan(12, Direction::Inverse);
        assert_eq!(forward.fft_direction(), FftDirection::Forward);
        assert_eq!(inverse.fft_direction(), FftDirection::Inverse);
    }
}
