//! Metric identities: which metric, which SSIM variant, which data range.
//!
//! Every metric has a key that states its variant and data range, such as `ssim_fastmri` or
//! `ssim_gaussian11_dr1`. Tables and JSON reports use these keys, so values of two variants
//! never share a column.

use std::fmt;
use std::str::FromStr;

use ndarray::ArrayView3;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ssim::{ssim, SsimVariant};
use super::volume::{mse, nmse, psnr};
use super::MetricsError;

/// Source of the data range `L` in PSNR (`10 log10(L^2 / MSE)`) and SSIM (`C1 = (K1 L)^2`,
/// `C2 = (K2 L)^2`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DataRange {
    /// The maximum of the whole target volume, as fastMRI's evaluator uses (`gt.max()`).
    VolumeMax,
    /// A fixed value, such as 1 for images in [0, 1] or 10 for the lines-and-circles images.
    Fixed(f64),
}

impl DataRange {
    /// Returns the data range for a given target volume.
    ///
    /// # Errors
    ///
    /// [`MetricsError::InvalidDataRange`] when the range is zero, negative or not finite.
    pub fn resolve(self, target: ArrayView3<f32>) -> Result<f64, MetricsError> {
        let (value, origin) = match self {
            DataRange::VolumeMax => {
                let max = target.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                (f64::from(max), "maximum of the target volume")
            }
            DataRange::Fixed(value) => (value, "fixed data range"),
        };
        check_data_range(value, origin)
    }

    /// Returns the key suffix: `volmax` or `dr` followed by the value.
    fn suffix(self) -> String {
        match self {
            DataRange::VolumeMax => "volmax".to_owned(),
            DataRange::Fixed(value) => format!("dr{value}"),
        }
    }
}

pub(crate) fn check_data_range(value: f64, origin: &'static str) -> Result<f64, MetricsError> {
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(MetricsError::InvalidDataRange { value, origin })
    }
}

/// One image quality metric, computed per volume `(slices, h, w)`.
///
/// | key | metric |
/// |---|---|
/// | `mse` | mean squared error over the volume |
/// | `nmse` | `‖gt − pred‖² / ‖gt‖²` over the volume |
/// | `psnr_fastmri` | PSNR with `L` = maximum of the target volume |
/// | `psnr_dr{L}` | PSNR with a fixed `L` |
/// | `ssim_fastmri` | SSIM, uniform 7x7 window, sample covariance, `L` = volume maximum |
/// | `ssim_uniform7_dr{L}` | the same window with a fixed `L` |
/// | `ssim_gaussian11_dr{L}` | SSIM, Gaussian 11x11 window (sigma 1.5), population covariance |
/// | `ssim_gaussian11_volmax` | the Gaussian window with `L` = volume maximum |
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetricKind {
    /// Mean squared error.
    Mse,
    /// Normalised mean squared error.
    Nmse,
    /// Peak signal-to-noise ratio in dB.
    Psnr(DataRange),
    /// Structural similarity, mean over slices.
    Ssim {
        /// Window and covariance estimator.
        variant: SsimVariant,
        /// Data range `L`.
        data_range: DataRange,
    },
}

impl MetricKind {
    /// The four metrics of fastMRI's evaluator: MSE, NMSE, PSNR and SSIM, each as fastMRI
    /// computes it.
    pub const FASTMRI: [MetricKind; 4] = [
        MetricKind::Mse,
        MetricKind::Nmse,
        MetricKind::Psnr(DataRange::VolumeMax),
        MetricKind::Ssim {
            variant: SsimVariant::Uniform7,
            data_range: DataRange::VolumeMax,
        },
    ];

    /// Computes the metric on one volume `(slices, h, w)`.
    ///
    /// # Errors
    ///
    /// See [`mse`], [`nmse`], [`psnr`] and [`ssim`].
    pub fn compute(
        &self,
        target: ArrayView3<f32>,
        prediction: ArrayView3<f32>,
    ) -> Result<f64, MetricsError> {
        match *self {
            MetricKind::Mse => mse(target, prediction),
            MetricKind::Nmse => nmse(target, prediction),
            MetricKind::Psnr(data_range) => psnr(target, prediction, data_range),
            MetricKind::Ssim {
                variant,
                data_range,
            } => ssim(target, prediction, variant, data_range),
        }
    }

    /// Returns the key naming metric, variant and data range, such as `ssim_gaussian11_dr1`.
    pub fn key(&self) -> String {
        match *self {
            MetricKind::Mse => "mse".to_owned(),
            MetricKind::Nmse => "nmse".to_owned(),
            MetricKind::Psnr(DataRange::VolumeMax) => "psnr_fastmri".to_owned(),
            MetricKind::Psnr(range) => format!("psnr_{}", range.suffix()),
            MetricKind::Ssim {
                variant: SsimVariant::Uniform7,
                data_range: DataRange::VolumeMax,
            } => "ssim_fastmri".to_owned(),
            MetricKind::Ssim {
                variant,
                data_range,
            } => format!("ssim_{}_{}", variant.key(), data_range.suffix()),
        }
    }

    /// Returns the name used in the summary line.
    ///
    /// fastMRI's four metrics keep fastMRI's names (`MSE`, `NMSE`, `PSNR`, `SSIM`) so that the
    /// line reads like the one fastMRI prints. Other variants carry their key suffix, such as
    /// `SSIM_gaussian11_dr1`.
    pub fn summary_name(&self) -> String {
        let key = self.key();
        match key.split_once('_') {
            Some((metric, "fastmri")) => metric.to_uppercase(),
            Some((metric, variant)) => format!("{}_{variant}", metric.to_uppercase()),
            None => key.to_uppercase(),
        }
    }
}

impl fmt::Display for MetricKind {
    /// Writes a label such as `SSIM (Gaussian 11x11, sigma 1.5, data range 1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = |range: DataRange| match range {
            DataRange::VolumeMax => "data range = volume max".to_owned(),
            DataRange::Fixed(value) => format!("data range {value}"),
        };
        match *self {
            MetricKind::Mse => write!(f, "MSE"),
            MetricKind::Nmse => write!(f, "NMSE"),
            MetricKind::Psnr(data_range) => write!(f, "PSNR ({})", range(data_range)),
            MetricKind::Ssim {
                variant,
                data_range,
            } => write!(f, "SSIM ({variant}, {})", range(data_range)),
        }
    }
}

impl FromStr for MetricKind {
    type Err = MetricsError;

    /// Parses a key as [`MetricKind::key`] writes it.
    fn from_str(key: &str) -> Result<Self, Self::Err> {
        let unknown = || MetricsError::UnknownMetric {
            name: key.to_owned(),
            valid: VALID_KEYS.to_owned(),
        };
        let parse_range = |suffix: &str| -> Result<DataRange, MetricsError> {
            if suffix == "volmax" {
                return Ok(DataRange::VolumeMax);
            }
            let value = suffix.strip_prefix("dr").ok_or_else(unknown)?;
            let value: f64 = value.parse().map_err(|_| unknown())?;
            check_data_range(value, "metric key")?;
            Ok(DataRange::Fixed(value))
        };

        match key {
            "mse" => return Ok(MetricKind::Mse),
            "nmse" => return Ok(MetricKind::Nmse),
            "psnr_fastmri" => return Ok(MetricKind::Psnr(DataRange::VolumeMax)),
            "ssim_fastmri" => return Ok(MetricKind::FASTMRI[3]),
            _ => {}
        }
        if let Some(suffix) = key.strip_prefix("psnr_") {
            return Ok(MetricKind::Psnr(parse_range(suffix)?));
        }
        let rest = key.strip_prefix("ssim_").ok_or_else(unknown)?;
        let (variant, suffix) = rest.split_once('_').ok_or_else(unknown)?;
        let variant = SsimVariant::from_key(variant).ok_or_else(unknown)?;
        Ok(MetricKind::Ssim {
            variant,
            data_range: parse_range(suffix)?,
        })
    }
}

const VALID_KEYS: &str = "mse, nmse, psnr_fastmri, psnr_dr<L>, psnr_volmax, ssim_fastmri, \
     ssim_uniform7_dr<L>, ssim_uniform7_volmax, ssim_gaussian11_dr<L>, ssim_gaussian11_volmax";

impl Serialize for MetricKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.key())
    }
}

impl<'de> Deserialize<'de> for MetricKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = String::deserialize(deserializer)?;
        key.parse().map_err(de::Error::custom)
    }
}

/// A metric as a pipeline configuration names it.
///
/// In YAML, either a bare name or a map with `name` and `data_range`:
///
/// ```yaml
/// metrics:
///   - nmse
///   - psnr                 # data range = target volume maximum, as fastMRI
///   - ssim                 # fastMRI's SSIM
///   - name: ssim_gaussian  # TensorFlow's SSIM, as the DPS paper reports it
///     data_range: 1
///   - name: psnr
///     data_range: 10
/// ```
///
/// Names are `mse`, `nmse`, `psnr`, `ssim`, `ssim_gaussian`, or any key of [`MetricKind`].
/// `psnr` and `ssim` take an optional `data_range`, `ssim_gaussian` requires one.
/// [`MetricKind::try_from`] checks the combination.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricConfig {
    /// Metric name.
    pub name: String,
    /// Fixed data range, where the metric takes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_range: Option<f64>,
}

const CONFIG_NAMES: &str = "mse, nmse, psnr, ssim, ssim_gaussian";

impl TryFrom<&MetricConfig> for MetricKind {
    type Error = MetricsError;

    fn try_from(config: &MetricConfig) -> Result<Self, Self::Error> {
        let name = config.name.as_str();
        let fixed = config
            .data_range
            .map(|value| check_data_range(value, "data_range option"))
            .transpose()?
            .map(DataRange::Fixed);
        let no_range = || -> Result<(), MetricsError> {
            match fixed {
                Some(_) => Err(MetricsError::UnexpectedDataRange {
                    name: name.to_owned(),
                }),
                None => Ok(()),
            }
        };

        match name {
            "mse" | "nmse" => no_range()?,
            "psnr" => return Ok(MetricKind::Psnr(fixed.unwrap_or(DataRange::VolumeMax))),
            "ssim" => {
                return Ok(MetricKind::Ssim {
                    variant: SsimVariant::Uniform7,
                    data_range: fixed.unwrap_or(DataRange::VolumeMax),
                })
            }
            "ssim_gaussian" => {
                let data_range = fixed.ok_or_else(|| MetricsError::MissingDataRange {
                    name: name.to_owned(),
                })?;
                return Ok(MetricKind::Ssim {
                    variant: SsimVariant::Gaussian11,
                    data_range,
                });
            }
            _ => no_range()?,
        }
        name.parse().map_err(|_| MetricsError::UnknownMetric {
            name: name.to_owned(),
            valid: format!("{CONFIG_NAMES} or a full key ({VALID_KEYS})"),
        })
    }
}

impl<'de> Deserialize<'de> for MetricConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MetricConfigVisitor)
    }
}

struct MetricConfigVisitor;

impl<'de> Visitor<'de> for MetricConfigVisitor {
    type Value = MetricConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a metric name or a map with `name` and `data_range`")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(MetricConfig {
            name: name.to_owned(),
            data_range: None,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        const FIELDS: &[&str] = &["name", "data_range"];
        let mut name = None;
        let mut data_range = None;
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "name" if name.is_none() => name = Some(map.next_value::<String>()?),
                "data_range" if data_range.is_none() => data_range = Some(map.next_value::<f64>()?),
                "name" | "data_range" => return Err(de::Error::duplicate_field("metric field")),
                other => return Err(de::Error::unknown_field(other, FIELDS)),
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        Ok(MetricConfig { name, data_range })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let kinds = [
            MetricKind::Mse,
            MetricKind::Nmse,
            MetricKind::Psnr(DataRange::VolumeMax),
            MetricKind::Psnr(DataRange::Fixed(10.0)),
            MetricKind::FASTMRI[3],
            MetricKind::Ssim {
                variant: SsimVariant::Uniform7,
                data_range: DataRange::Fixed(0.5),
            },
            MetricKind::Ssim {
                variant: SsimVariant::Gaussian11,
                data_range: DataRange::Fixed(1.0),
            },
            MetricKind::Ssim {
                variant: SsimVariant::Gaussian11,
                data_range: DataRange::VolumeMax,
            },
        ];
        for kind in kinds {
            let parsed: MetricKind = kind.key().parse().unwrap();
            assert_eq!(parsed, kind, "key {}", kind.key());
        }
    }

    #[test]
    fn keys_name_variant_and_range() {
        let gaussian = MetricKind::Ssim {
            variant: SsimVariant::Gaussian11,
            data_range: DataRange::Fixed(1.0),
        };
        assert_eq!(gaussian.key(), "ssim_gaussian11_dr1");
        assert_eq!(gaussian.summary_name(), "SSIM_gaussian11_dr1");
        assert_eq!(
            gaussian.to_string(),
            "SSIM (Gaussian 11x11, sigma 1.5, data range 1)"
        );
        assert_eq!(MetricKind::FASTMRI[3].key(), "ssim_fastmri");
        assert_eq!(MetricKind::FASTMRI[3].summary_name(), "SSIM");
        assert_eq!(
            MetricKind::FASTMRI[3].to_string(),
            "SSIM (uniform 7x7, data range = volume max)"
        );
        assert_eq!(MetricKind::Psnr(DataRange::Fixed(10.0)).key(), "psnr_dr10");
        assert_eq!(MetricKind::Nmse.summary_name(), "NMSE");
    }

    #[test]
    fn bad_keys_rejected() {
        for key in [
            "ssim",
            "psnr_dr0",
            "psnr_dr-1",
            "ssim_box_dr1",
            "ssim_gaussian11",
            "rmse",
        ] {
            assert!(key.parse::<MetricKind>().is_err(), "{key}");
        }
    }

    #[test]
    fn config_from_yaml() {
        let yaml = "- nmse\n- psnr\n- ssim\n- name: ssim_gaussian\n  data_range: 10\n\
                    - name: psnr\n  data_range: 1\n- ssim_uniform7_dr2\n";
        let configs: Vec<MetricConfig> = serde_yaml::from_str(yaml).unwrap();
        let keys: Vec<String> = configs
            .iter()
            .map(|config| MetricKind::try_from(config).unwrap().key())
            .collect();
        assert_eq!(
            keys,
            [
                "nmse",
                "psnr_fastmri",
                "ssim_fastmri",
                "ssim_gaussian11_dr10",
                "psnr_dr1",
                "ssim_uniform7_dr2"
            ]
        );
    }

    #[test]
    fn config_errors_name_the_problem() {
        let unknown_field = serde_yaml::from_str::<MetricConfig>("name: ssim\nrange: 1\n");
        let message = unknown_field.unwrap_err().to_string();
        assert!(message.contains("range"), "{message}");

        let gaussian = MetricConfig {
            name: "ssim_gaussian".into(),
            data_range: None,
        };
        assert!(matches!(
            MetricKind::try_from(&gaussian),
            Err(MetricsError::MissingDataRange { .. })
        ));

        let nmse = MetricConfig {
            name: "nmse".into(),
            data_range: Some(1.0),
        };
        assert!(matches!(
            MetricKind::try_from(&nmse),
            Err(MetricsError::UnexpectedDataRange { .. })
        ));

        let unknown = MetricConfig {
            name: "lpips".into(),
            data_range: None,
        };
        let message = MetricKind::try_from(&unknown).unwrap_err().to_string();
        assert!(message.contains("ssim_gaussian"), "{message}");

        let negative = MetricConfig {
            name: "psnr".into(),
            data_range: Some(-1.0),
        };
        assert!(matches!(
            MetricKind::try_from(&negative),
            Err(MetricsError::InvalidDataRange { .. })
        ));
    }
}
