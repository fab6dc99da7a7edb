//! YAML pipelines and stages.
