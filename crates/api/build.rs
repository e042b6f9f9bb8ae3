//! Generates the dondoc.v1 code and the descriptor set served by gRPC reflection,
//! with the vendored protoc so that no system protoc is needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // Build scripts run single-threaded; nothing else reads the environment concurrently.
    std::env::set_var("PROTOC", protoc);
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("dondoc_v1_descriptor.bin"))
        .compile_protos(
            &[
                "../../proto/dondoc/v1/tasks.proto",
                "../../proto/dondoc/v1/audit.proto",
            ],
            &["../../proto"],
        )?;
    println!("cargo:rerun-if-changed=../../proto");
    Ok(())
}
