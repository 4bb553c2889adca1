//! The proto3 JSON mapping of [`DatasetStatistics`] and
//! [`FeatureStatistics`]: a feature's `path` (or legacy `name`) and its one
//! statistics message, and the `DatasetFeatureStatisticsList` envelope (one
//! dataset here, several in sliced statistics).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{
    BytesStatistics, CustomStatistic, DatasetStatistics, FeatureStatistics, NumericStatistics,
    StatisticsType, StringStatistics, ValueStatistics,
};
use crate::proto_json::{double, int64};

#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct FeaturePathWire {
    step: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FeatureWireOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<FeaturePathWire>,
    #[serde(rename = "type")]
    feature_type: StatisticsType,
    #[serde(skip_serializing_if = "Option::is_none")]
    num_stats: Option<&'a NumericStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    string_stats: Option<&'a StringStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_stats: Option<&'a BytesStatistics>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    custom_stats: &'a [CustomStatistic],
    #[serde(flatten)]
    unmodelled: &'a crate::UnmodelledFields,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct FeatureWireIn {
    name: Option<String>,
    path: Option<FeaturePathWire>,
    #[serde(rename = "type")]
    feature_type: StatisticsType,
    num_stats: Option<NumericStatistics>,
    string_stats: Option<StringStatistics>,
    bytes_stats: Option<BytesStatistics>,
    custom_stats: Vec<CustomStatistic>,
    #[serde(flatten)]
    unmodelled: crate::UnmodelledFields,
}

impl Serialize for FeatureStatistics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (num_stats, string_stats, bytes_stats) = match &self.stats {
            ValueStatistics::Numeric(n) => (Some(n), None, None),
            ValueStatistics::String(s) => (None, Some(s), None),
            ValueStatistics::Bytes(b) => (None, None, Some(b)),
            ValueStatistics::None => (None, None, None),
        };
        // A `path` of several steps, or a `name` instead of a path, was
        // kept as read (`unmodelled`); it is written back unless the feature
        // was renamed since.
        let kept_name = match (self.unmodelled.get("path"), self.unmodelled.get("name")) {
            (Some(path), _) => path["step"].as_array().map(|steps| {
                let steps: Vec<&str> = steps.iter().filter_map(|s| s.as_str()).collect();
                steps.join(".")
            }),
            (None, Some(name)) => name.as_str().map(str::to_string),
            (None, None) => None,
        };
        let renamed = kept_name.as_deref() != Some(self.name.as_str());
        let mut unmodelled = std::borrow::Cow::Borrowed(&self.unmodelled);
        if renamed && kept_name.is_some() {
            let fields = unmodelled.to_mut();
            fields.remove("path");
            fields.remove("name");
        }
        FeatureWireOut {
            path: renamed.then(|| FeaturePathWire {
                step: vec![self.name.clone()],
            }),
            feature_type: self.feature_type,
            num_stats,
            string_stats,
            bytes_stats,
            custom_stats: &self.custom_stats,
            unmodelled: &unmodelled,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for FeatureStatistics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = FeatureWireIn::deserialize(deserializer)?;
        let mut unmodelled = wire.unmodelled;
        let name = match (wire.path, wire.name) {
            (Some(path), _) if !path.step.is_empty() => {
                if path.step.len() > 1 {
                    // A nested path: written back as read.
                    unmodelled.insert("path".into(), serde_json::json!({"step": path.step}));
                }
                path.step.join(".")
            }
            (_, Some(name)) => {
                unmodelled.insert("name".into(), name.clone().into());
                name
            }
            _ => {
                return Err(serde::de::Error::custom(
                    "feature statistics without `path` or `name`",
                ));
            }
        };
        let stats = if let Some(n) = wire.num_stats {
            ValueStatistics::Numeric(n)
        } else if let Some(s) = wire.string_stats {
            ValueStatistics::String(s)
        } else if let Some(b) = wire.bytes_stats {
            ValueStatistics::Bytes(b)
        } else {
            ValueStatistics::None
        };
        Ok(FeatureStatistics {
            name,
            feature_type: wire.feature_type,
            stats,
            custom_stats: wire.custom_stats,
            unmodelled,
        })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DatasetWireOut<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(with = "int64")]
    num_examples: u64,
    #[serde(with = "double", skip_serializing_if = "is_zero_f64")]
    weighted_num_examples: f64,
    features: &'a [FeatureStatistics],
    #[serde(flatten)]
    unmodelled: &'a crate::UnmodelledFields,
}

fn is_zero_f64(value: &f64) -> bool {
    *value == 0.0 && value.is_sign_positive()
}

#[derive(Serialize)]
struct ListWireOut<'a> {
    datasets: [DatasetWireOut<'a>; 1],
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct DatasetWireIn {
    name: String,
    #[serde(with = "int64")]
    num_examples: u64,
    #[serde(with = "double")]
    weighted_num_examples: f64,
    features: Vec<FeatureStatistics>,
    #[serde(flatten)]
    unmodelled: crate::UnmodelledFields,
}

#[derive(Deserialize)]
struct ListWireIn {
    #[serde(default)]
    datasets: Vec<DatasetWireIn>,
}

impl Serialize for DatasetStatistics {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ListWireOut {
            datasets: [DatasetWireOut {
                name: &self.name,
                num_examples: self.num_examples,
                weighted_num_examples: self.weighted_num_examples,
                features: &self.features,
                unmodelled: &self.unmodelled,
            }],
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DatasetStatistics {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let datasets = deserialize_dataset_list(deserializer)?;
        let count = datasets.len();
        match <[DatasetStatistics; 1]>::try_from(datasets) {
            Ok([dataset]) => Ok(dataset),
            Err(_) => Err(serde::de::Error::custom(format!(
                "expected exactly one dataset in `datasets`, found {count}"
            ))),
        }
    }
}

/// Serializes several datasets as one `DatasetFeatureStatisticsList`
/// (used by [`SlicedStatistics`](crate::SlicedStatistics)).
pub(crate) fn serialize_dataset_list<S: Serializer>(
    datasets: &[DatasetStatistics],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct ManyWireOut<'a> {
        datasets: Vec<DatasetWireOut<'a>>,
    }
    ManyWireOut {
        datasets: datasets
            .iter()
            .map(|d| DatasetWireOut {
                name: &d.name,
                num_examples: d.num_examples,
                weighted_num_examples: d.weighted_num_examples,
                features: &d.features,
                unmodelled: &d.unmodelled,
            })
            .collect(),
    }
    .serialize(serializer)
}

/// Reads every dataset of a `DatasetFeatureStatisticsList`.
pub(crate) fn deserialize_dataset_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<DatasetStatistics>, D::Error> {
    let list = ListWireIn::deserialize(deserializer)?;
    Ok(list
        .datasets
        .into_iter()
        .map(|d| DatasetStatistics {
            name: d.name,
            num_examples: d.num_examples,
            weighted_num_examples: d.weighted_num_examples,
            features: d.features,
            unmodelled: d.unmodelled,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tfdv_style_json_with_unknown_fields_and_legacy_name() {
        let json = r#"{"datasets":[{"name":"train","numExamples":"10","weightedNumExamples":3.0,
          "features":[
            {"name":"a","numStats":{"commonStats":{"numNonMissing":"9","numMissing":1,"avgNumValues":1.0},
              "mean":"NaN","stdDev":"Infinity","min":"-Infinity","max":2,"median":1.0,
              "histograms":[{"numNan":"2","buckets":[{"lowValue":0,"highValue":1,"sampleCount":3}],"type":"QUANTILES"}]}},
            {"path":{"step":["s","t"]},"type":"STRING","stringStats":{"unique":"2","topValues":[{"value":"x","frequency":2}],
              "weightedStringStats":{}}},
            {"path":{"step":["b"]},"type":"BYTES","bytesStats":{"unique":"1","maxNumBytes":4}},
            {"path":{"step":["st"]},"type":"STRUCT","structStats":{}}
          ],"crossFeatures":[]}]}"#;
        let stats = DatasetStatistics::from_tfmd_json(json).unwrap();
        assert_eq!(stats.name, "train");
        let a = stats.feature("a").unwrap();
        assert_eq!(a.feature_type, StatisticsType::Int); // proto3 omits the default enum value
        let n = a.numeric().unwrap();
        assert!(n.mean.is_nan());
        assert_eq!(n.std_dev, f64::INFINITY);
        assert_eq!(n.min, f64::NEG_INFINITY);
        assert_eq!(n.num_nan(), 2);
        assert_eq!(n.common_stats.num_missing, 1);
        assert_eq!(stats.feature("s.t").unwrap().string().unwrap().unique, 2);
        assert!(matches!(
            stats.feature("b").unwrap().stats,
            ValueStatistics::Bytes(_)
        ));
        assert_eq!(stats.feature("st").unwrap().stats, ValueStatistics::None);

        // Written back and read again: the same value.
        let text = stats.to_tfmd_json().unwrap();
        let again = DatasetStatistics::from_tfmd_json(&text).unwrap();
        assert_eq!(text, again.to_tfmd_json().unwrap());
        assert!(text.contains("\"mean\": \"NaN\""), "{text}");
        assert!(text.contains("\"numExamples\": \"10\""), "{text}");
    }

    #[test]
    fn rejects_several_datasets_and_nameless_features() {
        let two = r#"{"datasets":[{},{}]}"#;
        let err = DatasetStatistics::from_tfmd_json(two).unwrap_err();
        assert!(err.to_string().contains("found 2"), "{err}");
        let nameless = r#"{"datasets":[{"features":[{"type":"INT"}]}]}"#;
        assert!(DatasetStatistics::from_tfmd_json(nameless).is_err());
        let bad_int = r#"{"datasets":[{"numExamples":"ten"}]}"#;
        let err = DatasetStatistics::from_tfmd_json(bad_int).unwrap_err();
        assert!(err.to_string().contains("\"ten\""), "{err}");
    }
}
