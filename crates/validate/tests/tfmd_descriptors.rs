//! The committed tensorflow-metadata descriptors (`src/tfmd/descriptors.binpb`)
//! are what `proto/` compiles to. After editing a `.proto` file, regenerate:
//!
//! ```sh
//! MLRIG_BLESS=1 cargo test -p mlrig-validate --test tfmd_descriptors
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use prost::Message;

#[test]
fn committed_descriptors_match_the_proto_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut compiler = protox::Compiler::new([root.join("proto")]).unwrap();
    compiler.include_imports(true).include_source_info(false);
    for file in ["schema", "statistics", "anomalies"] {
        compiler
            .open_file(format!("tensorflow_metadata/proto/v0/{file}.proto"))
            .unwrap();
    }
    let compiled = compiler.file_descriptor_set().encode_to_vec();
    let committed_path = root.join("src/tfmd/descriptors.binpb");
    if std::env::var_os("MLRIG_BLESS").is_some() {
        std::fs::write(&committed_path, &compiled).unwrap();
    }
    let committed = std::fs::read(&committed_path).unwrap_or_default();
    assert!(
        committed == compiled,
        "src/tfmd/descriptors.binpb is out of date with proto/: run \
         MLRIG_BLESS=1 cargo test -p mlrig-validate --test tfmd_descriptors"
    );
}
