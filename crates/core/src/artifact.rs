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

    /// The fingerprint of JSON text as written, ignoring the whitespace
    /// between tokens: the SHA-256 of the text with every space, tab, line
    /// feed and carriage return outside strings removed. Everything else —
    /// key order, number spelling, string escapes — is content, so any edit
    /// of a value changes the fingerprint while re-indenting does not.
    ///
    /// For text that serde_json wrote (compact or pretty) this equals
    /// [`Fingerprint::of_json`] of the value it serialized, which is how an
    /// [`Artifact`] body is checked without re-serializing what was parsed.
    /// `text` must be valid JSON (check it first); only the whitespace rule
    /// is applied here.
    ///
    /// ```
    /// # use mlrig_core::Fingerprint;
    /// let pretty = "{\n  \"w\": [\n    1.5,\n    \"a b\"\n  ]\n}";
    /// assert_eq!(Fingerprint::of_json_text(pretty), Fingerprint::of_bytes(br#"{"w":[1.5,"a b"]}"#));
    /// assert_eq!(Fingerprint::of_json_text(pretty), Fingerprint::of_json(&serde_json::json!({"w": [1.5, "a b"]})).unwrap());
    /// assert_ne!(Fingerprint::of_json_text(r#"{"w":[1.50,"a b"]}"#), Fingerprint::of_json_text(r#"{"w":[1.5,"a b"]}"#));
    /// ```
    pub fn of_json_text(text: &str) -> Self {
        let mut hasher = Sha256::new();
        let bytes = text.as_bytes();
        let mut in_string = false;
        let mut escaped = false;
        let mut run_start = 0;
        for (i, &byte) in bytes.iter().enumerate() {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
            } else if matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                hasher.update(&bytes[run_start..i]);
                run_start = i + 1;
            } else if byte == b'"' {
                in_string = true;
            }
        }
        hasher.update(&bytes[run_start..]);
        Self::from_digest(&hasher.finalize())
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
    /// Fingerprint of the body as written ([`Fingerprint::of_json_text`]),
    /// which for a body serde_json wrote is that of its compact JSON.
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
    /// The file's metadata (as written: its `format_version` is the file's).
    pub header: ArtifactHeader,
    /// The artifact itself.
    pub value: T,
    /// The file's format version when it was older than this build's and
    /// the body was migrated ([`Artifact::migrate`]) on loading; `None`
    /// when it was read as is.
    pub migrated_from: Option<u32>,
}

impl<T: Artifact> Stored<T> {
    /// A one-line note for the user when the file was migrated from an
    /// older format version (also logged as a `tracing` warning on loading);
    /// `None` when it was read as is.
    ///
    /// ```
    /// # use mlrig_core::Artifact;
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Count { n: u64 }
    /// impl Artifact for Count { const KIND: &'static str = "example.count"; const FORMAT_VERSION: u32 = 1; }
    /// let (_, bytes) = Count { n: 3 }.to_artifact_bytes(&[]).unwrap();
    /// let stored = Count::from_artifact_bytes(&bytes, "count.json".as_ref()).unwrap();
    /// assert_eq!(stored.note(), None);
    /// ```
    pub fn note(&self) -> Option<String> {
        self.migrated_from.map(|from| {
            format!(
                "`{}` format_version {from} migrated to version {} on loading; \
                 save it again to keep the current format",
                T::KIND,
                T::FORMAT_VERSION
            )
        })
    }
}

/// The `created_by` of the files this build writes.
const CREATED_BY: &str = concat!("mlrig-core ", env!("CARGO_PKG_VERSION"));

#[derive(Serialize)]
struct EnvelopeRef<'a, T> {
    mlrig_artifact: &'a ArtifactHeader,
    body: &'a T,
}

/// The file as parsed: the header, and the body as the exact text written.
#[derive(Deserialize)]
struct EnvelopeRaw<'a> {
    mlrig_artifact: ArtifactHeader,
    #[serde(borrow)]
    body: &'a serde_json::value::RawValue,
}

/// Just the version of a file's header, read when the whole header does not
/// parse: a newer mlrig may have changed the header's shape, and then the
/// version is what the user needs to hear about, not the JSON error.
#[derive(Deserialize)]
struct VersionProbe {
    mlrig_artifact: ProbedHeader,
}

#[derive(Deserialize)]
struct ProbedHeader {
    kind: String,
    format_version: u32,
}

impl VersionProbe {
    /// `Some(NewerFormatVersion)` when `bytes` is a `kind` file of a version above `supported`.
    fn newer_version(bytes: &[u8], origin: &Path, kind: &str, supported: u32) -> Option<Error> {
        let probe: Self = serde_json::from_slice(bytes).ok()?;
        let header = probe.mlrig_artifact;
        (header.kind == kind && header.format_version > supported).then(|| {
            Error::NewerFormatVersion {
                path: origin.to_path_buf(),
                kind: header.kind,
                found: header.format_version,
                supported,
            }
        })
    }
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
/// `inputs` are the fingerprints of what the artifact was made from (lineage).
///
/// **The fingerprint covers the body as written.** It is the SHA-256 of the
/// body's JSON text with the whitespace between tokens removed
/// ([`Fingerprint::of_json_text`]); for the pretty JSON this trait writes
/// that is exactly the compact JSON of the value, the rule of every earlier
/// build, so files written before keep verifying. Loading checks the text of
/// the file, not the value re-serialized after parsing, so a body written by
/// a newer mlrig with an optional field this build does not know, or an older
/// body missing a field this build fills with a `#[serde(default)]`, still
/// verifies, while any edit of a value (a digit, a key, a string) is detected.
/// Re-indenting a standalone artifact file is allowed (inside a model
/// bundle it is not: the manifest fingerprints every file's raw bytes); a
/// tool that reorders keys or respells numbers
/// changes the text, and such a file is still accepted when the value this
/// build reads re-serializes to the recorded fingerprint (the earlier rule,
/// kept as a fallback for the current format version). Types that are
/// artifacts keep map fields in `BTreeMap`s so their JSON is deterministic.
///
/// **Versions.** A file whose `format_version` is newer than
/// [`FORMAT_VERSION`](Self::FORMAT_VERSION) is refused with
/// [`Error::NewerFormatVersion`] (naming both versions and what to do); an
/// older one is verified, then passed through [`migrate`](Self::migrate)
/// and loaded with a note ([`Stored::note`], also a `tracing` warning).
/// Adding an optional field whose absence means the old behaviour does not
/// need a new version (readers ignore fields they do not know, so artifact
/// bodies must not `deny_unknown_fields`); any other change does.
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
    /// The format version this build writes, and the newest it reads.
    const FORMAT_VERSION: u32;

    /// The content fingerprint (SHA-256 of the compact JSON body).
    fn fingerprint(&self) -> Result<Fingerprint> {
        Fingerprint::of_json(self)
    }

    /// Turns the JSON body of an older format version `from_version`
    /// (`< FORMAT_VERSION`) into a body of the current version. The default
    /// knows no older version and refuses with [`Error::NoMigration`];
    /// a type that changes its format overrides it for the versions it can
    /// still read. The loader names the file and turns a refusal into
    /// [`Error::UnsupportedFormatVersion`].
    ///
    /// ```
    /// use mlrig_core::{Artifact, Error};
    /// use serde_json::{Value, json};
    /// #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    /// struct Rate { per_second: f64 }
    /// impl Artifact for Rate {
    ///     const KIND: &'static str = "example.rate";
    ///     const FORMAT_VERSION: u32 = 2;
    ///     // Version 1 stored `per_minute`.
    ///     fn migrate(from_version: u32, body: Value) -> mlrig_core::Result<Value> {
    ///         match (from_version, body.get("per_minute").and_then(Value::as_f64)) {
    ///             (1, Some(m)) => Ok(json!({ "per_second": m / 60.0 })),
    ///             _ => Err(Error::NoMigration { kind: Self::KIND.into(), from: from_version, to: 2 }),
    ///         }
    ///     }
    /// }
    ///
    /// let body = r#"{"per_minute": 120.0}"#;
    /// let old = format!(
    ///     r#"{{"mlrig_artifact": {{"kind": "example.rate", "format_version": 1,
    ///         "fingerprint": "{}", "created_by": "mlrig-core 0.0.9"}}, "body": {body}}}"#,
    ///     mlrig_core::Fingerprint::of_json_text(body),
    /// );
    /// let stored = Rate::from_artifact_bytes(old.as_bytes(), "rate.json".as_ref()).unwrap();
    /// assert_eq!(stored.value, Rate { per_second: 2.0 });
    /// assert_eq!(stored.migrated_from, Some(1));
    /// assert!(stored.note().unwrap().contains("format_version 1 migrated to version 2"));
    /// ```
    fn migrate(from_version: u32, body: serde_json::Value) -> Result<serde_json::Value> {
        drop(body);
        Err(Error::NoMigration {
            kind: Self::KIND.to_string(),
            from: from_version,
            to: Self::FORMAT_VERSION,
        })
    }

    /// The artifact as file bytes (pretty JSON envelope).
    fn to_artifact_bytes(&self, inputs: &[Fingerprint]) -> Result<(ArtifactHeader, Vec<u8>)> {
        let header = ArtifactHeader {
            kind: Self::KIND.to_string(),
            format_version: Self::FORMAT_VERSION,
            fingerprint: self.fingerprint()?,
            inputs: inputs.to_vec(),
            created_by: CREATED_BY.to_string(),
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
    /// kind, a newer format version, an older one [`migrate`](Self::migrate)
    /// refuses, and a body whose text does not match its fingerprint.
    fn from_artifact_bytes(bytes: &[u8], origin: &Path) -> Result<Stored<Self>> {
        let json_error = |source| Error::Json {
            context: origin.display().to_string(),
            source,
        };
        let envelope: EnvelopeRaw<'_> = serde_json::from_slice(bytes).map_err(|source| {
            VersionProbe::newer_version(bytes, origin, Self::KIND, Self::FORMAT_VERSION)
                .unwrap_or_else(|| json_error(source))
        })?;
        let header = envelope.mlrig_artifact;
        if header.kind != Self::KIND {
            return Err(Error::WrongArtifactKind {
                path: origin.to_path_buf(),
                expected: Self::KIND.into(),
                found: header.kind,
            });
        }
        let version = header.format_version;
        if version > Self::FORMAT_VERSION {
            return Err(Error::NewerFormatVersion {
                path: origin.to_path_buf(),
                kind: header.kind,
                found: version,
                supported: Self::FORMAT_VERSION,
            });
        }
        // A body this build cannot read names the writer when it was another build
        // (e.g. a newer one whose types this build does not know).
        let body_context = if header.created_by == CREATED_BY {
            origin.display().to_string()
        } else {
            format!(
                "{} (written by {}, read by {CREATED_BY})",
                origin.display(),
                header.created_by
            )
        };
        let body_error = |source| Error::Json {
            context: body_context.clone(),
            source,
        };
        let written = Fingerprint::of_json_text(envelope.body.get());
        if version < Self::FORMAT_VERSION {
            if written != header.fingerprint {
                return Err(fingerprint_mismatch(origin, &header, &written));
            }
            let body: serde_json::Value =
                serde_json::from_str(envelope.body.get()).map_err(json_error)?;
            let migrated =
                Self::migrate(version, body).map_err(|e| Error::UnsupportedFormatVersion {
                    path: origin.to_path_buf(),
                    kind: header.kind.clone(),
                    found: version,
                    supported: Self::FORMAT_VERSION,
                    reason: e.to_string(),
                })?;
            let value = Self::deserialize(migrated).map_err(body_error)?;
            tracing::warn!(
                file = %origin.display(),
                "`{}` format_version {version} migrated to version {} on loading; \
                 save it again to keep the current format",
                Self::KIND,
                Self::FORMAT_VERSION
            );
            return Ok(Stored {
                header,
                value,
                migrated_from: Some(version),
            });
        }
        // The text as written is the rule; a file whose keys a tool reordered
        // (or whose numbers it respelled) still loads when the value read
        // re-serializes to the recorded fingerprint (the earlier rule).
        let parsed = serde_json::from_str::<Self>(envelope.body.get());
        let value = if written == header.fingerprint {
            parsed.map_err(body_error)?
        } else {
            match parsed {
                Ok(value) if value.fingerprint()? == header.fingerprint => value,
                _ => return Err(fingerprint_mismatch(origin, &header, &written)),
            }
        };
        Ok(Stored {
            header,
            value,
            migrated_from: None,
        })
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

fn fingerprint_mismatch(origin: &Path, header: &ArtifactHeader, found: &Fingerprint) -> Error {
    Error::FingerprintMismatch {
        path: origin.to_path_buf(),
        expected: header.fingerprint.to_string(),
        found: found.to_string(),
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
                Error::NewerFormatVersion {
                    found: 3,
                    supported: 2,
                    ..
                }
            ),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.starts_with(&path.display().to_string()),
            "{message}"
        );
        assert!(message.contains("format_version 3"), "{message}");
        assert!(message.contains("up to 2"), "{message}");
        assert!(
            message.contains("upgrade mlrig to a release that reads version 3"),
            "{message}"
        );
        // A newer header of another shape (here `inputs` of objects): still
        // the version message, not a JSON error.
        let reshaped = newer.replace("\"inputs\": []", "\"inputs\": [{\"sha256\": \"ab\"}]");
        assert_ne!(reshaped, newer);
        let err = Sample::from_artifact_bytes(reshaped.as_bytes(), &path).unwrap_err();
        assert!(
            matches!(err, Error::NewerFormatVersion { found: 3, .. }),
            "{err}"
        );
        // The same shape at this version is a JSON error naming the file.
        let broken = reshaped.replace("\"format_version\": 3", "\"format_version\": 2");
        let err = Sample::from_artifact_bytes(broken.as_bytes(), &path).unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err}");

        // An older version this type cannot migrate: refused, naming both versions.
        let older = text.replace("\"format_version\": 2", "\"format_version\": 1");
        let err = Sample::from_artifact_bytes(older.as_bytes(), &path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedFormatVersion {
                    found: 1,
                    supported: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("no migration of `test.sample` from format_version 1 to 2"),
            "{err}"
        );

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
        // Re-serialized through a `Value`: keys sorted, so the text changed
        // (the `names` key now comes first) and the earlier rule accepts it.
        let compact: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let recompacted = serde_json::to_vec(&compact).unwrap();
        let back = Sample::from_artifact_bytes(&recompacted, Path::new("x")).unwrap();
        assert_eq!(back.value, s);
        // Re-indented with tabs and CRLF: the text rule accepts it.
        let text = String::from_utf8(bytes).unwrap();
        let tabs = text.replace("  ", "\t").replace('\n', "\r\n");
        let back = Sample::from_artifact_bytes(tabs.as_bytes(), Path::new("x")).unwrap();
        assert_eq!(back.value, s);
    }

    /// The same kind and version written by a newer build that added an
    /// optional field.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct SampleFromNewerBuild {
        weights: Vec<f64>,
        names: BTreeMap<String, u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calibration: Option<Vec<f64>>,
    }
    impl Artifact for SampleFromNewerBuild {
        const KIND: &'static str = "test.sample";
        const FORMAT_VERSION: u32 = 2;
    }

    /// The same kind and version read by a newer build that added a field
    /// with a serde default.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct SampleInNewerBuild {
        weights: Vec<f64>,
        names: BTreeMap<String, u32>,
        #[serde(default = "unit_scale")]
        scale: f64,
    }
    fn unit_scale() -> f64 {
        1.0
    }
    impl Artifact for SampleInNewerBuild {
        const KIND: &'static str = "test.sample";
        const FORMAT_VERSION: u32 = 2;
    }

    #[test]
    fn optional_fields_added_or_missing_still_verify() {
        let newer = SampleFromNewerBuild {
            weights: sample().weights,
            names: sample().names,
            calibration: Some(vec![0.25, 1e-7]),
        };
        let (header, bytes) = newer.to_artifact_bytes(&[]).unwrap();
        // Re-serializing what this build parses drops the unknown field:
        // the earlier rule failed exactly here.
        let stored = Sample::from_artifact_bytes(&bytes, Path::new("n.json")).unwrap();
        assert_eq!(stored.value, sample());
        assert_ne!(stored.value.fingerprint().unwrap(), header.fingerprint);
        assert_eq!(stored.header.fingerprint, header.fingerprint);

        // The unknown field is still covered by the fingerprint.
        let text = String::from_utf8(bytes).unwrap();
        let tampered = text.replace("1e-7", "2e-7");
        assert_ne!(tampered, text);
        let err =
            Sample::from_artifact_bytes(tampered.as_bytes(), Path::new("n.json")).unwrap_err();
        assert!(matches!(err, Error::FingerprintMismatch { .. }), "{err}");

        // An older body without a defaulted field loads with the default.
        let (_, old) = sample().to_artifact_bytes(&[]).unwrap();
        let stored = SampleInNewerBuild::from_artifact_bytes(&old, Path::new("o.json")).unwrap();
        assert_eq!(stored.value.scale, 1.0);
        assert_eq!(stored.value.weights, sample().weights);
        assert_eq!(stored.migrated_from, None);
        assert_eq!(stored.note(), None);
    }

    #[test]
    fn an_unreadable_body_from_another_build_names_the_writer() {
        let body = r#"{"weights":"many","names":{}}"#;
        let file = format!(
            r#"{{"mlrig_artifact":{{"kind":"test.sample","format_version":2,"fingerprint":"{}","created_by":"mlrig-core 9.0.0"}},"body":{body}}}"#,
            Fingerprint::of_json_text(body)
        );
        let err = Sample::from_artifact_bytes(file.as_bytes(), Path::new("s.json")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("s.json (written by mlrig-core 9.0.0, read by mlrig-core "),
            "{err}"
        );
        let ours = file.replace("mlrig-core 9.0.0", CREATED_BY);
        let err = Sample::from_artifact_bytes(ours.as_bytes(), Path::new("s.json")).unwrap_err();
        assert!(err.to_string().starts_with("s.json: invalid JSON"), "{err}");
    }

    #[test]
    fn whitespace_inside_strings_is_content() {
        let value = Sample {
            weights: vec![],
            names: BTreeMap::from([("a b".into(), 1), ("c\"\\ d".into(), 2)]),
        };
        let (_, bytes) = value.to_artifact_bytes(&[]).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let loaded = Sample::from_artifact_bytes(text.as_bytes(), Path::new("w")).unwrap();
        assert_eq!(loaded.value, value);
        let tampered = text.replace("a b", "ab");
        let err = Sample::from_artifact_bytes(tampered.as_bytes(), Path::new("w")).unwrap_err();
        assert!(matches!(err, Error::FingerprintMismatch { .. }), "{err}");
        let tampered = text.replace(r#"c\"\\ d"#, r#"c\"\\d"#);
        assert_ne!(tampered, text);
        let err = Sample::from_artifact_bytes(tampered.as_bytes(), Path::new("w")).unwrap_err();
        assert!(matches!(err, Error::FingerprintMismatch { .. }), "{err}");
    }

    /// Version 3 of `test.sample`: version 2's `weights` became `coefficients`.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct SampleV3 {
        coefficients: Vec<f64>,
        names: BTreeMap<String, u32>,
    }
    impl Artifact for SampleV3 {
        const KIND: &'static str = "test.sample";
        const FORMAT_VERSION: u32 = 3;
        fn migrate(from_version: u32, mut body: serde_json::Value) -> Result<serde_json::Value> {
            let weights = body
                .as_object_mut()
                .filter(|_| from_version == 2)
                .and_then(|object| object.remove("weights"));
            match weights {
                Some(weights) => {
                    body["coefficients"] = weights;
                    Ok(body)
                }
                None => Err(Error::NoMigration {
                    kind: Self::KIND.into(),
                    from: from_version,
                    to: Self::FORMAT_VERSION,
                }),
            }
        }
    }

    #[test]
    fn older_versions_are_verified_then_migrated_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.json");
        sample().save(&path, &[]).unwrap();
        let stored = SampleV3::load(&path).unwrap();
        assert_eq!(stored.value.coefficients, sample().weights);
        assert_eq!(stored.migrated_from, Some(2));
        assert_eq!(stored.header.format_version, 2);
        let note = stored.note().unwrap();
        assert!(
            note.contains("format_version 2 migrated to version 3"),
            "{note}"
        );

        // The fingerprint of the old body is checked before migrating.
        let text = std::fs::read_to_string(&path).unwrap();
        let tampered = text.replace("0.1", "0.3");
        let err = SampleV3::from_artifact_bytes(tampered.as_bytes(), &path).unwrap_err();
        assert!(matches!(err, Error::FingerprintMismatch { .. }), "{err}");

        // A version the migration does not know is refused, naming the file.
        let v1 = text.replace("\"format_version\": 2", "\"format_version\": 1");
        let err = SampleV3::from_artifact_bytes(v1.as_bytes(), &path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedFormatVersion {
                    found: 1,
                    supported: 3,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().starts_with(&path.display().to_string()),
            "{err}"
        );
        assert!(err.to_string().contains("re-create the file"), "{err}");
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            (proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL | proptest::num::f64::ZERO)
                .prop_map(serde_json::Value::from),
            "[ \t\r\n\"\\\\a-z\\PC]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("[ \"\\\\a-z\\PC]{0,6}", inner, 0..6)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The text rule and the compact-JSON rule agree on what serde_json writes,
        /// so files written by every earlier build keep verifying.
        #[test]
        fn text_rule_equals_compact_json_of_pretty_output(value in json_value()) {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            prop_assert_eq!(Fingerprint::of_json_text(&pretty), Fingerprint::of_json(&value).unwrap());
        }
    }
}
