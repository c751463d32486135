//! Header/Rust drift check: `include/psa/update.h`, `include/fwu/fwu.h` (and `fwu_sim.h` with
//! the `host-sim` feature) against the Rust definitions.
//!
//! `tests/c/layout.c` is compiled with the system C compiler against the headers and prints
//! every type's size, alignment and signedness, every field's offset and size, and the value
//! of every object-like macro (the list is generated here from the headers, so a new macro
//! cannot be missed). Each printed line must match an expectation computed from the Rust side,
//! and each expectation must be printed: editing either side alone fails this test.
//! The spec's exact spellings (`((psa_status_t)-156)`, `0u`, `0x00000001u`) are checked
//! textually. Every status code must also be defined, with the spec's value, when a platform
//! `psa/error.h` (a legacy subset, the full list, or none) comes before `psa/update.h`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::mem::{align_of, offset_of, size_of};
use fwu_capi::{FwuConfig, FwuFlash, FwuSlot, FwuStateHealth};
use fwu_shared::component::{
    PSA_FWU_API_VERSION_MAJOR, PSA_FWU_API_VERSION_MINOR, PSA_FWU_FLAG_ENCRYPTION,
    PSA_FWU_FLAG_VOLATILE_STAGING,
};
use fwu_shared::state::records::{
    ERROR_ACTIVE_INVALID, ERROR_BACKUP_INVALID, ERROR_CANCELLED, ERROR_INSTALL_FLASH_FAILURE,
    ERROR_STAGED_MISMATCH, ERROR_TRIAL_NOT_ACCEPTED, ERROR_UNKNOWN_DEPENDENCY, ERROR_WRONG_DEVICE,
};
use fwu_shared::state::Health;
use fwu_shared::status::{PSA_SUCCESS, PSA_SUCCESS_REBOOT, PSA_SUCCESS_RESTART};
use fwu_shared::{ComponentInfo, Error, ImageVersion, ImplInfo, State};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn headers() -> Vec<PathBuf> {
    let mut h = vec![
        root().join("include/psa/update.h"),
        root().join("include/fwu/fwu.h"),
    ];
    if cfg!(feature = "host-sim") {
        h.push(root().join("include/fwu/fwu_sim.h"));
    }
    h
}

/// Names of the object-like macros with a value in `text` (include guards have none).
fn macro_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("#define "))
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after = &rest[name.len()..];
            // Function-like macros (`NAME(`) and guards (no value) are not values.
            (!after.starts_with('(') && !after.trim().is_empty()).then_some(name)
        })
        .collect()
}

/// Compile and run `layout.c` with `defines`; the printed lines.
fn run_layout(tag: &str, defines: &[String]) -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("capi-layout-{tag}"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut names = Vec::new();
    for h in headers() {
        names.extend(macro_names(&std::fs::read_to_string(&h).unwrap()));
    }
    names.sort();
    names.dedup();
    let inc: String = names.iter().map(|n| format!("    VALUE({n});\n")).collect();
    std::fs::write(dir.join("macros.inc"), inc).unwrap();
    let exe = dir.join("layout");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let mut cmd = Command::new(&cc);
    cmd.args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(root().join("include"))
        .arg("-I")
        .arg(&dir)
        .args(defines)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/c/layout.c"))
        .arg("-o")
        .arg(&exe);
    if cfg!(feature = "host-sim") {
        cmd.arg("-DFWU_LAYOUT_SIM");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "layout.c does not compile against the headers:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn field_size<S, F>(_: impl Fn(&S) -> &F) -> usize {
    size_of::<F>()
}

macro_rules! ty {
    ($exp:ident, $c:literal, $t:ty) => {
        $exp.insert(
            format!("type {}", $c),
            format!("{} {} 0", size_of::<$t>(), align_of::<$t>()),
        );
    };
}

macro_rules! field {
    ($exp:ident, $c:literal, $t:ty, $cf:literal, $f:ident) => {
        $exp.insert(
            format!("field {}.{}", $c, $cf),
            format!("{} {}", offset_of!($t, $f), field_size(|s: &$t| &s.$f)),
        );
    };
}

/// Every line `layout.c` must print, keyed by everything before the value.
fn expected(write_size: usize, sector_size: usize) -> BTreeMap<String, String> {
    let mut e = BTreeMap::new();
    e.insert("type psa_status_t".into(), "4 4 1".into());
    e.insert("type psa_fwu_component_t".into(), "1 1 0".into());

    ty!(e, "psa_fwu_image_version_t", ImageVersion);
    field!(e, "psa_fwu_image_version_t", ImageVersion, "major", major);
    field!(e, "psa_fwu_image_version_t", ImageVersion, "minor", minor);
    field!(e, "psa_fwu_image_version_t", ImageVersion, "patch", patch);
    field!(e, "psa_fwu_image_version_t", ImageVersion, "build", build);

    ty!(e, "psa_fwu_impl_info_t", ImplInfo);
    field!(
        e,
        "psa_fwu_impl_info_t",
        ImplInfo,
        "resume_offset",
        resume_offset
    );
    field!(
        e,
        "psa_fwu_impl_info_t",
        ImplInfo,
        "staged_size",
        staged_size
    );
    field!(
        e,
        "psa_fwu_impl_info_t",
        ImplInfo,
        "staged_digest",
        staged_digest
    );

    ty!(e, "psa_fwu_component_info_t", ComponentInfo);
    field!(e, "psa_fwu_component_info_t", ComponentInfo, "state", state);
    field!(e, "psa_fwu_component_info_t", ComponentInfo, "error", error);
    field!(
        e,
        "psa_fwu_component_info_t",
        ComponentInfo,
        "version",
        version
    );
    field!(
        e,
        "psa_fwu_component_info_t",
        ComponentInfo,
        "max_size",
        max_size
    );
    field!(e, "psa_fwu_component_info_t", ComponentInfo, "flags", flags);
    field!(
        e,
        "psa_fwu_component_info_t",
        ComponentInfo,
        "location",
        location
    );
    field!(e, "psa_fwu_component_info_t", ComponentInfo, "impl", impl_);

    ty!(e, "fwu_flash_t", FwuFlash);
    field!(e, "fwu_flash_t", FwuFlash, "context", context);
    field!(e, "fwu_flash_t", FwuFlash, "read", read);
    field!(e, "fwu_flash_t", FwuFlash, "write", write);
    field!(e, "fwu_flash_t", FwuFlash, "erase", erase);
    field!(e, "fwu_flash_t", FwuFlash, "capacity", capacity);

    ty!(e, "fwu_slot_t", FwuSlot);
    field!(e, "fwu_slot_t", FwuSlot, "id", id);
    field!(e, "fwu_slot_t", FwuSlot, "sectors", sectors);
    field!(e, "fwu_slot_t", FwuSlot, "primary", primary);
    field!(e, "fwu_slot_t", FwuSlot, "secondary", secondary);

    ty!(e, "fwu_config_t", FwuConfig);
    field!(e, "fwu_config_t", FwuConfig, "flash", flash);
    field!(e, "fwu_config_t", FwuConfig, "sector_size", sector_size);
    field!(
        e,
        "fwu_config_t",
        FwuConfig,
        "log2_write_align",
        log2_write_align
    );
    field!(e, "fwu_config_t", FwuConfig, "slots", slots);
    field!(e, "fwu_config_t", FwuConfig, "slot_count", slot_count);
    field!(e, "fwu_config_t", FwuConfig, "state_offset", state_offset);
    field!(e, "fwu_config_t", FwuConfig, "state_size", state_size);
    field!(e, "fwu_config_t", FwuConfig, "keys", keys);
    field!(e, "fwu_config_t", FwuConfig, "key_count", key_count);
    field!(e, "fwu_config_t", FwuConfig, "reset", reset);
    field!(e, "fwu_config_t", FwuConfig, "reset_context", reset_context);
    field!(e, "fwu_config_t", FwuConfig, "flags", flags);
    field!(e, "fwu_config_t", FwuConfig, "vendor_id", vendor_id);
    field!(e, "fwu_config_t", FwuConfig, "class_id", class_id);

    ty!(e, "fwu_state_health_t", FwuStateHealth);
    field!(e, "fwu_state_health_t", FwuStateHealth, "boot", boot);
    field!(e, "fwu_state_health_t", FwuStateHealth, "catalog", catalog);

    let mut value = |name: &str, v: i64| {
        e.insert(format!("value {name}"), v.to_string());
    };
    for &err in Error::ALL {
        value(err.name(), i64::from(err.code()));
    }
    value("PSA_SUCCESS", PSA_SUCCESS.into());
    value("PSA_SUCCESS_REBOOT", PSA_SUCCESS_REBOOT.into());
    value("PSA_SUCCESS_RESTART", PSA_SUCCESS_RESTART.into());
    value(
        "PSA_FWU_API_VERSION_MAJOR",
        PSA_FWU_API_VERSION_MAJOR.into(),
    );
    value(
        "PSA_FWU_API_VERSION_MINOR",
        PSA_FWU_API_VERSION_MINOR.into(),
    );
    for s in State::ALL {
        value(s.name(), i64::from(s as u8));
    }
    value(
        "PSA_FWU_FLAG_VOLATILE_STAGING",
        PSA_FWU_FLAG_VOLATILE_STAGING.into(),
    );
    value("PSA_FWU_FLAG_ENCRYPTION", PSA_FWU_FLAG_ENCRYPTION.into());
    value(
        "PSA_FWU_MAX_WRITE_SIZE",
        fwu_capi::PSA_FWU_MAX_WRITE_SIZE as i64,
    );
    value("FWU_CAPI_WRITE_SIZE", write_size as i64);
    value(
        "PSA_FWU_LOG2_WRITE_ALIGN",
        i64::from(write_size.trailing_zeros()),
    );
    value("FWU_CAPI_SECTOR_SIZE", sector_size as i64);
    value("FWU_MAX_COMPONENTS", fwu_capi::FWU_MAX_COMPONENTS as i64);
    value("FWU_MAX_KEYS", fwu_capi::MAX_KEYS as i64);
    value("FWU_PUBLIC_KEY_SIZE", fwu_capi::PUBLIC_KEY_SIZE as i64);
    value(
        "FWU_CONFIG_COMPARE_BUILD_NUMBER",
        fwu_capi::FWU_CONFIG_COMPARE_BUILD_NUMBER.into(),
    );
    value(
        "FWU_CONFIG_RECOVER_CORRUPT_STATE",
        fwu_capi::FWU_CONFIG_RECOVER_CORRUPT_STATE.into(),
    );
    value(
        "FWU_ERROR_NOT_INITIALIZED",
        fwu_capi::FWU_ERROR_NOT_INITIALIZED.into(),
    );
    value("FWU_ERROR_BUSY", fwu_capi::FWU_ERROR_BUSY.into());
    value(
        "FWU_ERROR_TRIAL_NOT_ACCEPTED",
        ERROR_TRIAL_NOT_ACCEPTED.into(),
    );
    value(
        "FWU_ERROR_INSTALL_FLASH_FAILURE",
        ERROR_INSTALL_FLASH_FAILURE.into(),
    );
    value("FWU_ERROR_ACTIVE_INVALID", ERROR_ACTIVE_INVALID.into());
    value("FWU_ERROR_BACKUP_INVALID", ERROR_BACKUP_INVALID.into());
    value("FWU_ERROR_STAGED_MISMATCH", ERROR_STAGED_MISMATCH.into());
    value("FWU_ERROR_CANCELLED", ERROR_CANCELLED.into());
    value(
        "FWU_ERROR_UNKNOWN_DEPENDENCY",
        ERROR_UNKNOWN_DEPENDENCY.into(),
    );
    value("FWU_ERROR_WRONG_DEVICE", ERROR_WRONG_DEVICE.into());
    value("FWU_HEALTH_UNKNOWN", fwu_capi::FWU_HEALTH_UNKNOWN.into());
    // Each FWU_HEALTH_* value is the one fwu_state_health() reports for that Health.
    for (name, h) in [
        ("FWU_HEALTH_OK", Health::Ok),
        ("FWU_HEALTH_DEGRADED", Health::Degraded),
        ("FWU_HEALTH_FRESH", Health::Fresh),
        ("FWU_HEALTH_CORRUPT", Health::Corrupt),
    ] {
        value(name, fwu_capi::health_code(h).into());
    }
    #[cfg(feature = "host-sim")]
    sim_expectations(&mut e);
    e
}

#[cfg(feature = "host-sim")]
fn sim_expectations(e: &mut BTreeMap<String, String>) {
    use fwu_capi::sim::*;
    ty!(e, "fwu_sim_factory_t", FwuSimFactory);
    field!(
        e,
        "fwu_sim_factory_t",
        FwuSimFactory,
        "component",
        component
    );
    field!(e, "fwu_sim_factory_t", FwuSimFactory, "image", image);
    field!(e, "fwu_sim_factory_t", FwuSimFactory, "size", size);
    ty!(e, "fwu_sim_dependency_t", FwuSimDependency);
    field!(
        e,
        "fwu_sim_dependency_t",
        FwuSimDependency,
        "component",
        component
    );
    field!(
        e,
        "fwu_sim_dependency_t",
        FwuSimDependency,
        "min_version",
        min_version
    );
    ty!(e, "fwu_sim_image_spec_t", FwuSimImageSpec);
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "version",
        version
    );
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "security_counter",
        security_counter
    );
    field!(e, "fwu_sim_image_spec_t", FwuSimImageSpec, "size", size);
    field!(e, "fwu_sim_image_spec_t", FwuSimImageSpec, "seed", seed);
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "dependency_count",
        dependency_count
    );
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "dependencies",
        dependencies
    );
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "has_vendor_id",
        has_vendor_id
    );
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "has_class_id",
        has_class_id
    );
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "vendor_id",
        vendor_id
    );
    field!(
        e,
        "fwu_sim_image_spec_t",
        FwuSimImageSpec,
        "class_id",
        class_id
    );
    ty!(e, "fwu_sim_boot_t", FwuSimBoot);
    field!(e, "fwu_sim_boot_t", FwuSimBoot, "action", action);
    field!(e, "fwu_sim_boot_t", FwuSimBoot, "state", state);
    field!(e, "fwu_sim_boot_t", FwuSimBoot, "trial", trial);
    field!(e, "fwu_sim_boot_t", FwuSimBoot, "refused", refused);
    ty!(e, "fwu_sim_range_t", FwuSimRange);
    field!(e, "fwu_sim_range_t", FwuSimRange, "offset", offset);
    field!(e, "fwu_sim_range_t", FwuSimRange, "size", size);
    ty!(e, "fwu_sim_log_t", FwuSimLog);
    field!(e, "fwu_sim_log_t", FwuSimLog, "copies", copies);
    field!(e, "fwu_sim_log_t", FwuSimLog, "slot_size", slot_size);
    field!(e, "fwu_sim_log_t", FwuSimLog, "slots", slots);
    field!(e, "fwu_sim_log_t", FwuSimLog, "record_size", record_size);
    ty!(e, "fwu_sim_component_t", FwuSimComponent);
    field!(e, "fwu_sim_component_t", FwuSimComponent, "id", id);
    field!(
        e,
        "fwu_sim_component_t",
        FwuSimComponent,
        "primary",
        primary
    );
    field!(
        e,
        "fwu_sim_component_t",
        FwuSimComponent,
        "secondary",
        secondary
    );
    field!(
        e,
        "fwu_sim_component_t",
        FwuSimComponent,
        "staging",
        staging
    );
    ty!(e, "fwu_sim_layout_t", FwuSimLayout);
    field!(
        e,
        "fwu_sim_layout_t",
        FwuSimLayout,
        "flash_size",
        flash_size
    );
    field!(
        e,
        "fwu_sim_layout_t",
        FwuSimLayout,
        "sector_size",
        sector_size
    );
    field!(
        e,
        "fwu_sim_layout_t",
        FwuSimLayout,
        "write_size",
        write_size
    );
    field!(e, "fwu_sim_layout_t", FwuSimLayout, "state", state);
    field!(e, "fwu_sim_layout_t", FwuSimLayout, "boot_log", boot_log);
    field!(e, "fwu_sim_layout_t", FwuSimLayout, "catalog", catalog);
    field!(
        e,
        "fwu_sim_layout_t",
        FwuSimLayout,
        "checkpoints",
        checkpoints
    );
    field!(
        e,
        "fwu_sim_layout_t",
        FwuSimLayout,
        "component_count",
        component_count
    );
    field!(
        e,
        "fwu_sim_layout_t",
        FwuSimLayout,
        "components",
        components
    );
    let mut value = |name: &str, v: i64| {
        e.insert(format!("value {name}"), v.to_string());
    };
    value("FWU_SIM_COMPONENTS", COMPONENTS as i64);
    value("FWU_SIM_SECTORS", SECTORS as i64);
    value("FWU_SIM_STATE_SECTORS", STATE_SECTORS as i64);
    value("FWU_SIM_MAX_DEPENDENCIES", MAX_DEPENDENCIES as i64);
    value("FWU_SIM_BOOT_NONE", FWU_SIM_BOOT_NONE.into());
    value("FWU_SIM_BOOT_INSTALLED", FWU_SIM_BOOT_INSTALLED.into());
    value(
        "FWU_SIM_BOOT_INSTALL_REFUSED",
        FWU_SIM_BOOT_INSTALL_REFUSED.into(),
    );
    value("FWU_SIM_BOOT_REVERTED", FWU_SIM_BOOT_REVERTED.into());
    value("FWU_SIM_BOOT_RECOVERED", FWU_SIM_BOOT_RECOVERED.into());
    value(
        "FWU_SIM_BOOT_REVERT_REFUSED",
        FWU_SIM_BOOT_REVERT_REFUSED.into(),
    );
    value("FWU_SIM_BOOT_DEFERRED", FWU_SIM_BOOT_DEFERRED.into());
    value("FWU_SIM_STATE_OK", FWU_SIM_STATE_OK.into());
    value("FWU_SIM_STATE_REPAIRED", FWU_SIM_STATE_REPAIRED.into());
    value("FWU_SIM_STATE_FRESH", FWU_SIM_STATE_FRESH.into());
    value("FWU_SIM_STATE_CORRUPT", FWU_SIM_STATE_CORRUPT.into());
    value("FWU_SIM_STATE_UNREADABLE", FWU_SIM_STATE_UNREADABLE.into());
    value("FWU_SIM_STATE_DEGRADED", FWU_SIM_STATE_DEGRADED.into());
}

fn compare(tag: &str, lines: &[String], mut want: BTreeMap<String, String>) {
    let mut problems = Vec::new();
    for line in lines {
        // The key is the first two words ("type NAME", "field T.F", "value NAME").
        let words: Vec<&str> = line.split_whitespace().collect();
        let key = words[..2].join(" ");
        let got = words[2..].join(" ");
        match want.remove(&key) {
            None => problems.push(format!("header has `{key}` = {got}, Rust expects nothing")),
            Some(w) if w != got => problems.push(format!("`{key}`: header {got}, Rust {w}")),
            Some(_) => {}
        }
    }
    for (key, w) in want {
        problems.push(format!("Rust expects `{key}` = {w}, the header lacks it"));
    }
    assert!(
        problems.is_empty(),
        "headers and Rust disagree ({tag}):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn headers_match_the_rust_definitions_with_default_configuration() {
    let lines = run_layout("default", &[]);
    compare(
        "header defaults",
        &lines,
        expected(fwu_capi::DEFAULT_WRITE_SIZE, fwu_capi::DEFAULT_SECTOR_SIZE),
    );
}

#[test]
fn headers_match_the_rust_definitions_with_the_build_configuration() {
    let defines = [
        format!("-DFWU_CAPI_WRITE_SIZE={}", fwu_capi::WRITE_SIZE),
        format!("-DFWU_CAPI_SECTOR_SIZE={}", fwu_capi::SECTOR_SIZE),
    ];
    let lines = run_layout("build", &defines);
    compare(
        "this build",
        &lines,
        expected(fwu_capi::WRITE_SIZE, fwu_capi::SECTOR_SIZE),
    );
    assert_eq!(
        fwu_capi::PSA_FWU_LOG2_WRITE_ALIGN,
        fwu_capi::WRITE_SIZE.trailing_zeros()
    );
    // The spec's rule: PSA_FWU_MAX_WRITE_SIZE is a multiple of the write alignment.
    assert!(fwu_capi::PSA_FWU_MAX_WRITE_SIZE.is_multiple_of(fwu_capi::WRITE_SIZE));
}

#[test]
fn headers_spell_the_definitions_as_the_spec_does() {
    let text = std::fs::read_to_string(root().join("include/psa/update.h")).unwrap();
    let mut want: Vec<String> = Error::ALL
        .iter()
        .map(|e| format!("#define {} ((psa_status_t){})", e.name(), e.code()))
        .collect();
    want.extend([
        "typedef int32_t psa_status_t;".to_string(),
        "#define PSA_SUCCESS ((psa_status_t)0)".into(),
        "#define PSA_SUCCESS_REBOOT ((psa_status_t)+1)".into(),
        "#define PSA_SUCCESS_RESTART ((psa_status_t)+2)".into(),
        "#define PSA_FWU_API_VERSION_MAJOR 1".into(),
        "#define PSA_FWU_API_VERSION_MINOR 0".into(),
        "#define PSA_FWU_FLAG_VOLATILE_STAGING 0x00000001u".into(),
        "#define PSA_FWU_FLAG_ENCRYPTION 0x00000002u".into(),
        "typedef uint8_t psa_fwu_component_t;".into(),
    ]);
    want.extend(
        State::ALL
            .iter()
            .map(|s| format!("#define {} {}u", s.name(), *s as u8)),
    );
    let missing: Vec<&String> = want
        .iter()
        .filter(|w| !text.lines().any(|l| l.trim() == w.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "not spelled as the spec does: {missing:#?}"
    );
}

/// The Rust exports have the C signatures the header declares (the header's are pinned by
/// `layout.c`).
#[test]
fn exported_functions_have_the_c_signatures() {
    use core::ffi::c_void;
    use fwu_capi::*;
    let _: unsafe extern "C" fn(u8, *mut ComponentInfo) -> i32 = psa_fwu_query;
    let _: unsafe extern "C" fn(u8, *const c_void, usize) -> i32 = psa_fwu_start;
    let _: unsafe extern "C" fn(u8, usize, *const c_void, usize) -> i32 = psa_fwu_write;
    let _: extern "C" fn(u8) -> i32 = psa_fwu_finish;
    let _: extern "C" fn(u8) -> i32 = psa_fwu_cancel;
    let _: extern "C" fn(u8) -> i32 = psa_fwu_clean;
    let _: extern "C" fn() -> i32 = psa_fwu_install;
    let _: extern "C" fn() -> i32 = psa_fwu_request_reboot;
    let _: extern "C" fn(i32) -> i32 = psa_fwu_reject;
    let _: extern "C" fn() -> i32 = psa_fwu_accept;
    let _: unsafe extern "C" fn(*const FwuConfig) -> i32 = fwu_init;
    let _: extern "C" fn() -> i32 = fwu_recover_state;
    let _: unsafe extern "C" fn(*mut FwuStateHealth) -> i32 = fwu_state_health;
    let _: unsafe extern "C" fn(*const FwuSlot, usize, *mut u32) -> i32 = fwu_state_sectors_needed;
    #[cfg(feature = "host-sim")]
    {
        use fwu_capi::sim::*;
        let _: unsafe extern "C" fn(*const FwuSimFactory, usize) -> i32 = fwu_sim_init;
        let _: extern "C" fn() -> i32 = fwu_sim_reboot;
        let _: extern "C" fn() -> core::ffi::c_int = fwu_sim_reboot_requested;
        let _: unsafe extern "C" fn(*mut FwuSimBoot) -> i32 = fwu_sim_last_boot;
        let _: unsafe extern "C" fn(*const FwuSimImageSpec, *mut c_void, usize, *mut usize) -> i32 =
            fwu_sim_make_image;
        let _: unsafe extern "C" fn(*mut u8) -> i32 = fwu_sim_dev_public_key;
        let _: unsafe extern "C" fn(*mut FwuSimLayout) -> i32 = fwu_sim_layout;
        let _: extern "C" fn() -> u32 = fwu_sim_flash_size;
        let _: unsafe extern "C" fn(u32, *mut c_void, usize) -> i32 = fwu_sim_flash_read;
        let _: unsafe extern "C" fn(u32, *const c_void, usize) -> i32 = fwu_sim_flash_poke;
    }
}

/// The status codes of the PSA Certified Status code API 1.0, spelled as Mbed TLS and TF-M
/// spell them in their psa/error.h. Written out here, not taken from the Rust side, so that
/// the platform headers below do not depend on what fwu believes.
const STATUS_CODE_API: &[(&str, i32)] = &[
    ("PSA_ERROR_PROGRAMMER_ERROR", -129),
    ("PSA_ERROR_CONNECTION_REFUSED", -130),
    ("PSA_ERROR_CONNECTION_BUSY", -131),
    ("PSA_ERROR_GENERIC_ERROR", -132),
    ("PSA_ERROR_NOT_PERMITTED", -133),
    ("PSA_ERROR_NOT_SUPPORTED", -134),
    ("PSA_ERROR_INVALID_ARGUMENT", -135),
    ("PSA_ERROR_INVALID_HANDLE", -136),
    ("PSA_ERROR_BAD_STATE", -137),
    ("PSA_ERROR_BUFFER_TOO_SMALL", -138),
    ("PSA_ERROR_ALREADY_EXISTS", -139),
    ("PSA_ERROR_DOES_NOT_EXIST", -140),
    ("PSA_ERROR_INSUFFICIENT_MEMORY", -141),
    ("PSA_ERROR_INSUFFICIENT_STORAGE", -142),
    ("PSA_ERROR_INSUFFICIENT_DATA", -143),
    ("PSA_ERROR_SERVICE_FAILURE", -144),
    ("PSA_ERROR_COMMUNICATION_FAILURE", -145),
    ("PSA_ERROR_STORAGE_FAILURE", -146),
    ("PSA_ERROR_HARDWARE_FAILURE", -147),
    ("PSA_ERROR_INSUFFICIENT_ENTROPY", -148),
    ("PSA_ERROR_INVALID_SIGNATURE", -149),
    ("PSA_ERROR_INVALID_PADDING", -150),
    ("PSA_ERROR_CORRUPTION_DETECTED", -151),
    ("PSA_ERROR_DATA_CORRUPT", -152),
    ("PSA_ERROR_DATA_INVALID", -153),
];

/// A platform psa/error.h declaring `psa_status_t` (`typedef_guard`: inside `#ifndef
/// PSA_SUCCESS`, as the Status code API's reference header does) and defining PSA_SUCCESS and
/// the codes from -129 down to `lowest`.
fn platform_error_h(lowest: i32, typedef_guard: bool) -> String {
    let mut h = String::from("#ifndef PSA_ERROR_H\n#define PSA_ERROR_H\n#include <stdint.h>\n");
    h += if typedef_guard {
        "#ifndef PSA_SUCCESS\ntypedef int32_t psa_status_t;\n#endif\n"
    } else {
        "typedef int32_t psa_status_t;\n"
    };
    h += "#define PSA_SUCCESS ((psa_status_t)0)\n";
    for &(name, v) in STATUS_CODE_API.iter().filter(|&&(_, v)| v >= lowest) {
        h += &format!("#define {name} ((psa_status_t){v})\n");
    }
    h + "#endif\n"
}

/// Every status code a `psa_fwu_*` function can return and every one `psa/update.h` defines,
/// with the value the spec gives it.
fn status_codes() -> BTreeMap<String, i32> {
    let mut want: BTreeMap<String, i32> = Error::ALL
        .iter()
        .map(|e| (e.name().to_owned(), e.code()))
        .collect();
    want.insert("PSA_SUCCESS".into(), PSA_SUCCESS);
    want.insert("PSA_SUCCESS_REBOOT".into(), PSA_SUCCESS_REBOOT);
    want.insert("PSA_SUCCESS_RESTART".into(), PSA_SUCCESS_RESTART);
    // The Rust values are the Status code API's.
    for &(name, v) in STATUS_CODE_API {
        if let Some(&w) = want.get(name) {
            assert_eq!(w, v, "{name}: Rust {w}, Status code API {v}");
        }
    }
    let text = std::fs::read_to_string(root().join("include/psa/update.h")).unwrap();
    for name in macro_names(&text) {
        if name.starts_with("PSA_ERROR_") || name.starts_with("PSA_SUCCESS") {
            assert!(
                want.contains_key(&name),
                "psa/update.h defines {name}, unknown to the Rust side"
            );
        }
    }
    want
}

/// Compile (C11, warnings as errors) and run a program that includes `error_h` as
/// psa/error.h (none if `None`) and then psa/update.h, and check that every status code is
/// defined with the spec's value, as a psa_status_t (`_Generic`, which tells it from a long or
/// an unsigned value but not from an int where int32_t is int: the spelling test pins the cast).
fn check_status_codes_after(tag: &str, error_h: Option<&str>) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("capi-error-h-{tag}"));
    let inc = dir.join("include");
    std::fs::create_dir_all(inc.join("psa")).unwrap();
    let error_h_path = inc.join("psa/error.h");
    let mut src = String::new();
    match error_h {
        Some(h) => {
            std::fs::write(&error_h_path, h).unwrap();
            src += "#include \"psa/error.h\"\n";
        }
        None => {
            let _ = std::fs::remove_file(&error_h_path);
        }
    }
    src += "#include \"psa/update.h\"\n#include <stdio.h>\n\n";
    src += "_Static_assert(sizeof(psa_status_t) == 4 && (psa_status_t)-1 < 0, \"int32_t\");\n\n";
    src += "int main(void)\n{\n";
    let want = status_codes();
    for name in want.keys() {
        src += &format!(
            "#ifdef {name}\n    printf(\"{name} %ld %d\\n\", (long)({name}), \
             _Generic(({name}), psa_status_t: 1, default: 0));\n#else\n    \
             printf(\"{name} missing\\n\");\n#endif\n"
        );
    }
    src += "    return 0;\n}\n";
    let c = dir.join("codes.c");
    std::fs::write(&c, src).unwrap();
    let exe = dir.join("codes");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg("-I")
        .arg(&inc)
        .arg("-I")
        .arg(root().join("include"))
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "{tag}: psa/error.h then psa/update.h does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().unwrap();
    assert!(run.status.success());
    let got: BTreeMap<String, String> = String::from_utf8(run.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let problems: Vec<String> = want
        .iter()
        .filter_map(|(name, v)| {
            let expect = format!("{v} 1");
            match got.get(name) {
                Some(g) if *g == expect => None,
                Some(g) if g == "missing" => Some(format!("{name} is not defined")),
                Some(g) => Some(format!("{name}: got `{g}`, want {v} of type psa_status_t")),
                None => Some(format!("{name} was not printed")),
            }
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{tag}: status codes after psa/error.h and psa/update.h:\n  {}",
        problems.join("\n  ")
    );
}

/// An older platform psa/error.h that stops at PSA_ERROR_BAD_STATE (-137): psa/update.h
/// supplies the rest.
#[test]
fn status_codes_are_complete_after_a_legacy_psa_error_h() {
    check_status_codes_after("legacy", Some(&platform_error_h(-137, false)));
}

/// The full Status code API list (-129 to -153), as Mbed TLS and TF-M ship it.
#[test]
fn status_codes_are_complete_after_a_full_psa_error_h() {
    check_status_codes_after("full", Some(&platform_error_h(-153, true)));
}

/// No psa/error.h: psa/update.h alone defines every code.
#[test]
fn status_codes_are_complete_without_psa_error_h() {
    check_status_codes_after("none", None);
}
