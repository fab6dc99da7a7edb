//! The stage registry: stage names mapped to constructors and parameter documentation.
//!
//! Built-in stages register through [`Registry::register`] exactly as a user's stage does, so a
//! crate that depends on `dps` adds stages without changing it:
//!
//! ```
//! use dps::pipeline::{Data, ParamInfo, Registry, Stage, StageInfo};
//!
//! struct Identity;
//! impl Stage for Identity {
//!     fn accepts(&self) -> &'static [Data] {
//!         &[Data::KSpace, Data::MaskedKSpace]
//!     }
//! }
//!
//! let mut registry = Registry::with_builtins();
//! registry
//!     .register(StageInfo {
//!         name: "identity",
//!         summary: "Passes k-space on unchanged.",
//!         params: &[],
//!         build: |_params| Ok(Box::new(Identity)),
//!     })
//!     .unwrap();
//! assert!(registry.get("identity").is_some());
//! ```

use std::collections::BTreeMap;

use super::stage::{ParamError, Stage, StageParams};

/// Documentation of one stage parameter, for `dps stages`.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ParamInfo {
    /// Key in the pipeline file.
    pub name: &'static str,
    /// Expected type, in YAML terms (`number`, `[number]`, `string`, ...).
    pub kind: &'static str,
    /// Default value as YAML text, or `required`.
    pub default: &'static str,
    /// Effect of the parameter, with its unit.
    pub help: &'static str,
}

/// Constructor of a stage from its parameters.
pub type BuildStage = fn(&StageParams) -> Result<Box<dyn Stage>, ParamError>;

/// A registered stage: name, documentation and constructor.
#[derive(Clone, Copy)]
pub struct StageInfo {
    /// Name used in the `stage` key of pipeline files.
    pub name: &'static str,
    /// One-line description.
    pub summary: &'static str,
    /// Parameters and their defaults.
    pub params: &'static [ParamInfo],
    /// Checks the parameters and builds the stage.
    pub build: BuildStage,
}

/// A name that is registered twice.
#[derive(Debug, thiserror::Error)]
#[error("a stage named `{0}` is already registered")]
pub struct DuplicateStage(pub String);

/// Stage names mapped to their [`StageInfo`].
#[derive(Clone, Default)]
pub struct Registry {
    stages: BTreeMap<&'static str, StageInfo>,
}

impl Registry {
    /// Creates a registry with no stages.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates a registry holding the built-in stages of [`crate::stages`].
    pub fn with_builtins() -> Self {
        let mut registry = Self::new();
        crate::stages::register_builtins(&mut registry);
        registry
    }

    /// Adds a stage.
    ///
    /// # Errors
    ///
    /// [`DuplicateStage`] when the name is taken.
    pub fn register(&mut self, info: StageInfo) -> Result<(), DuplicateStage> {
        if self.stages.contains_key(info.name) {
            return Err(DuplicateStage(info.name.to_string()));
        }
        self.stages.insert(info.name, info);
        Ok(())
    }

    /// Looks a stage up by name.
    pub fn get(&self, name: &str) -> Option<&StageInfo> {
        self.stages.get(name)
    }

    /// Registered stages in name order.
    pub fn iter(&self) -> impl Iterator<Item = &StageInfo> {
        self.stages.values()
    }

    /// Registered stage names in order.
    pub fn names(&self) -> Vec<String> {
        self.stages.keys().map(|name| name.to_string()).collect()
    }
}
