//! The built-in stages. Each module has an `info()` with the stage's name, parameters and
//! constructor, registered by [`register_builtins`] the same way a user's stage is.
//!
//! | stage | takes | gives |
//! |---|---|---|
//! | `load` | nothing | k-space |
//! | `mask` | k-space | masked k-space |
//! | `zero_filled` | k-space or masked k-space | image |
//! | `metrics` | image | image (scores in the report) |
//! | `write` | image | image (files) |

pub mod load;
pub mod mask;
pub mod metrics;
pub mod write;
pub mod zero_filled;

use crate::pipeline::Registry;

/// Adds the built-in stages to `registry`.
///
/// # Panics
///
/// When a built-in name is already registered, which only a user registering a stage of the
/// same name before calling this can cause.
pub fn register_builtins(registry: &mut Registry) {
    for info in [
        load::info(),
        mask::info(),
        zero_filled::info(),
        metrics::info(),
        write::info(),
    ] {
        registry
            .register(info)
            .expect("built-in stage names are unique");
    }
}
