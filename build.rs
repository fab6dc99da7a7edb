//! Embeds the libtorch library folder as an rpath so that `dps` binaries, tests, benches and
//! examples start without `LD_LIBRARY_PATH`.

fn main() {
    // torch-sys declares `links = "tch"` and prints `cargo:libtorch_lib=DIR`, which cargo hands
    // to direct dependents as DEP_TCH_LIBTORCH_LIB. It is absent when the `torch` feature is off.
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
