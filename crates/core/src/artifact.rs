//! Versioned, fingerprinted files: [`Artifact`], [`Fingerprint`], [`Stored`].

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::atomic_file::write_atomic;
use crate::{Error, Result};

/// A content hash, written `sha256:<64 hex digits>`.
///
/// ```
/// use mlrig_core::Fingerprint;
/// let f = Fingerprint::of_bytes(b"abc");
/// assert_eq!(f.as_str(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of raw bytes.
    ///
    /// ```
    /// # use mlrig_core::Fingerprint;
    /// assert_eq!(Fingerprint::of_bytes(b"x"), Fingerprint::of_bytes(b"x"));
    /// ```
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Self::from_digest(&Sha256::digest(bytes))
    }

    /// The fingerprint of a value's compact JSON serialization.
    ///
    /// ```
    /// # use mlrig_core::Fingerprint;
    /// assert_eq!(Fingerprint::of_json(&[1, 2]).unwrap(), Fingerprint::of_bytes(b"[1,2]"));
    /// ```
    pub fn of_json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value).map_err(|source| Error::Json {
            context: "fingerprint".into(),
            source,
        })?;
        Ok(Self::of_bytes(&bytes))
    }

    /// The fingerprint of a file's bytes, read in a stream (memory stays flat).
    ///
    /// ```
    /// # use mlrig_core::Fingerprint;
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("d.csv");
    /// std::fs::write(&path, b"a,b\n").unwrap();
    /// assert_eq!(Fingerprint::of_file(&path).unwrap(), Fingerprint::of_bytes(b"a,b\n"));
    /// ```
    pub fn of_file(path: &Path) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
        Ok(Self::from_digest(&hasher.finalize()))
    }

    fn from_digest(digest: &[u8]) -> Self {
        let mut text = String::with_capacity(7 + 64);
        text.push_str("sha256:");
        for byte in digest {
            text.push_str(&format!("{byte:02x}"));
        }
        Fingerprint(text)
    }

    /// The text form, `sha256:<hex>`.
    ///
    /// ```
    /// # use mlrig_core::Fingerprint;
    /// assert!(Fingerprint::of_bytes(b"").as_str().starts_with("sha256:e3b0"));
    /// ```
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The metadata block of an artifact file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ArtifactHeader {
    /// What the body is, e.g. `mlrig.train.model`.
    pub kind: String,
    /// The body's format version.
    pub format_version: u32,
    /// Fingerprint of the body's compact JSON.
    pub fingerprint: Fingerprint,
    /// Fingerprints of the artifacts and data this one was made from.
    #[serde(default)]
    pub inputs: Vec<Fingerprint>,
    /// The crate and version that wrote the file.
    pub created_by: String,
}

/// An artifact read back from a file: its header and its value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stored<T> {
    /// The file's metadata.
    pub header: ArtifactHeader,
    /// The artifact itself.
    pub value: T,
}

#[derive(Serialize)]
struct EnvelopeRef<'a, T> {
    mlrig_artifact: &'a ArtifactHeader,
    body: &'a T,
}

#[derive(Deserialize)]
struct EnvelopeOwned {
    mlrig_artifact: ArtifactHeader,
    body: serde_json::Value,
}

/// Something fitted or computed that is saved, versioned and traced:
/// statistics, schemas, feature pipelines, models, evaluations.
///
/// [`Artifact`]: versioned, fingerprinted files for everything that is fitted.
///
/// On disk an artifact is one JSON document:
///
/// ```json
/// {
///   "mlrig_artifact": {
///     "kind": "mlrig.features.pipeline",
///     "format_version": 1,
///     "fingerprint": "sha256:…",
///     "inputs": ["sha256:…"],
///     "created_by": "mlrig-core 0.1.0"
///   },
///   "body": { … }
/// }
/// ```
///
/// `fingerprint` is the SHA-256 of the body's compact JSON, so it identifies the
/// content whatever the file's formatting; `inputs` are the fingerprints of what
/// the artifact was made from (lineage). Types that are artifacts keep map
/// fields in `BTreeMap`s so their JSON, and so their fingerprint, is stable.
///
/// ```
/// use mlrig_core::{Artifact, Fingerprint};
/// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Threshold { value: f64 }
/// impl Artifact for Threshold {
///     const KIND: &'static str = "example.threshold";
///     const FORMAT_VERSION: u32 = 1;
/// }
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("threshold.json");
/// let data = Fingerprint::of_bytes(b"training data");
/// Threshold { value: 0.5 }.save(&path, &[data.clone()]).unwrap();
/// let stored = Threshold::load(&path).unwrap();
/// assert_eq!(stored.value, Threshold { value: 0.5 });
/// assert_eq!(stored.header.inputs, vec![data]);
/// ```
pub trait Artifact: Serialize + DeserializeOwned {
    /// The kind written in the header, e.g. `mlrig.train.model`.
    const KIND: &'static str;
    /// The format version this build writes and reads.
    const FORMAT_VERSION: u32;

    /// The content fingerprint (SHA-256 of the compact JSON body).
    fn fingerprint(&self) -> Result<Fingerprint> {
        Fingerprint::of_json(self)
    }

    /// The artifact as file bytes (pretty JSON envelope).
    fn to_artifact_bytes(&self, inputs: &[Fingerprint]) -> Result<(ArtifactHeader, Vec<u8>)> {
        let header = ArtifactHeader {
            kind: Self::KIND.to_string(),
            format_version: Self::FORMAT_VERSION,
            fingerprint: self.fingerprint()?,
            inputs: inputs.to_vec(),
            created_by: concat!("mlrig-core ", env!("CARGO_PKG_VERSION")).to_string(),
        };
        let mut bytes = serde_json::to_vec_pretty(&EnvelopeRef {
            mlrig_artifact: &header,
            body: self,
        })
        .map_err(|source| Error::Json {
            context: Self::KIND.to_string(),
            source,
        })?;
        bytes.push(b'\n');
        Ok((header, bytes))
    }

    /// Parses file bytes; `origin` names the file in errors. Rejects another
    /// kind, another format version, and content that does not match its
    /// fingerprint.
    fn from_artifact_bytes(bytes: &[u8], origin: &Path) -> Result<Stored<Self>> {
        let json_error = |source| Error::Json {
            context: origin.display().to_string(),
            source,
        };
        let envelope: EnvelopeOwned = serde_json::from_slice(bytes).map_err(json_error)?;
        let header = envelope.mlrig_artifact;
        if header.kind != Self::KIND {
            return Err(Error::WrongArtifactKind {
                path: origin.to_path_buf(),
                expected: Self::KIND.into(),
                found: header.kind,
            });
        }
        if header.format_version != Self::FORMAT_VERSION {
            return Err(Error::UnsupportedFormatVersion {
                path: origin.to_path_buf(),
                kind: header.kind,
                found: header.format_version,
                supported: Self::FORMAT_VERSION,
            });
        }
        let value = Self::deserialize(envelope.body).map_err(json_error)?;
        let found = value.fingerprint()?;
        if found != header.fingerprint {
            return Err(Error::FingerprintMismatch {
                path: origin.to_path_buf(),
                expected: header.fingerprint.to_string(),
                found: found.to_string(),
            });
        }
        Ok(Stored { header, value })
    }

    /// Writes the artifact atomically (temp file + rename) and returns its header.
    fn save(&self, path: &Path, inputs: &[Fingerprint]) -> Result<ArtifactHeader> {
        let (header, bytes) = self.to_artifact_bytes(inputs)?;
        write_atomic(path, &bytes)?;
        Ok(header)
    }

    /// Reads and checks an artifact file.
    fn load(path: &Path) -> Result<Stored<Self>> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Self::from_artifact_bytes(&bytes, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Sample {
        weights: Vec<f64>,
        names: BTreeMap<String, u32>,
    }
    impl Artifact for Sample {
        const KIND: &'static str = "test.sample";
        const FORMAT_VERSION: u32 = 2;
    }

    fn sample() -> Sample {
        Sample {
            weights: vec![0.1, -2.5e-300, 1e300],
            names: BTreeMap::from([("a".into(), 1)]),
        }
    }

    #[test]
    fn rejects_other_versions_kinds_and_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        sample().save(&path, &[]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();

        let newer = text.replace("\"format_version\": 2", "\"format_version\": 3");
        let err = Sample::from_artifact_bytes(newer.as_bytes(), &path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedFormatVersion {
                    found: 3,
                    supported: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("format_version 3"));

        let other = text.replace("test.sample", "test.other");
        let err = Sample::from_artifact_bytes(other.as_bytes(), &path).unwrap_err();
        assert!(matches!(err, Error::WrongArtifactKind { .. }), "{err}");

        let tampered = text.replace("0.1", "0.2");
        let err = Sample::from_artifact_bytes(tampered.as_bytes(), &path).unwrap_err();
        assert!(matches!(err, Error::FingerprintMismatch { .. }), "{err}");

        let err = Sample::from_artifact_bytes(b"{not json", &path).unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = Sample::load(Path::new("/nonexistent/x.json")).unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/x.json"), "{err}");
    }

    proptest! {
        #[test]
        fn save_load_round_trip(
            weights in proptest::collection::vec(proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL, 0..20),
            names in proptest::collection::btree_map("\\PC{0,8}", any::<u32>(), 0..5),
        ) {
            let value = Sample { weights, names };
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("s.json");
            let header = value.save(&path, &[Fingerprint::of_bytes(b"in")]).unwrap();
            let stored = Sample::load(&path).unwrap();
            prop_assert_eq!(&stored.value, &value);
            prop_assert_eq!(stored.header, header);
            prop_assert_eq!(value.fingerprint().unwrap(), stored.value.fingerprint().unwrap());
        }
    }

    #[test]
    fn fingerprint_ignores_formatting() {
        let s = sample();
        let (_, bytes) = s.to_artifact_bytes(&[]).unwrap();
        let compact: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let recompacted = serde_json::to_vec(&compact).unwrap();
        let back = Sample::from_artifact_bytes(&recompacted, Path::new("x")).unwrap();
        assert_eq!(back.value, s);
    }
}
