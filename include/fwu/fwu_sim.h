/*
 * fwu/fwu_sim.h: host simulation of a whole fwu device, for C test programs.
 *
 * Only in the host build with the `host-sim` feature
 * (`cargo build -p fwu-capi --features host-sim`; link target/debug/libfwu_capi.a with what
 * `cargo rustc -p fwu-capi --features host-sim -- --print native-static-libs` lists, on glibc
 * -lpthread -ldl -lm -lrt -lutil). The psa_fwu_* functions then run over a simulated NOR flash (NOR rules
 * enforced, erased = 0xFF) through the same flash adapter as fwu_init(), and fwu_sim_reboot()
 * runs the real fwu bootloader over that flash and rebuilds the service, so a test can walk
 * through STAGED -> TRIAL -> UPDATED and the rollbacks.
 *
 * The simulated device (sizes in sectors of FWU_CAPI_SECTOR_SIZE bytes, 46 in all):
 *   state partition  sectors 0..4
 *   component 0      primary at sector 4 (16 sectors), secondary at sector 20 (17 sectors)
 *   component 1      primary at sector 37 (4 sectors), secondary at sector 41 (5 sectors)
 * The bootloader and the service trust one development key (fwu_sim_dev_public_key());
 * fwu_sim_make_image() signs with it.
 */
#ifndef FWU_FWU_SIM_H
#define FWU_FWU_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "fwu/fwu.h"
#include "psa/update.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Components of the simulated device (ids 0 and 1). */
#define FWU_SIM_COMPONENTS 2
/** Sectors of the simulated flash. */
#define FWU_SIM_SECTORS 46
/** Largest number of dependencies fwu_sim_make_image() writes. */
#define FWU_SIM_MAX_DEPENDENCIES 4

/* fwu_sim_reboot() results (>= 0): what the bootloader did. */
#define FWU_SIM_BOOT_NONE 0            /**< Nothing to do. */
#define FWU_SIM_BOOT_INSTALLED 1       /**< STAGED images installed; they now run on trial. */
#define FWU_SIM_BOOT_INSTALL_REFUSED 2 /**< STAGED images failed verification: FAILED. */
#define FWU_SIM_BOOT_REVERTED 3        /**< TRIAL/REJECTED images rolled back: FAILED. */
#define FWU_SIM_BOOT_RECOVERED 4       /**< An invalid UPDATED image was restored from backup. */

/** An image factory-programmed into a primary slot by fwu_sim_init(). */
typedef struct fwu_sim_factory_t {
    psa_fwu_component_t component;
    const void *image;
    size_t size;
} fwu_sim_factory_t;

/** A dependency written into a test image: component must run at least min_version. */
typedef struct fwu_sim_dependency_t {
    psa_fwu_component_t component;
    psa_fwu_image_version_t min_version;
} fwu_sim_dependency_t;

/** What fwu_sim_make_image() builds. */
typedef struct fwu_sim_image_spec_t {
    psa_fwu_image_version_t version;
    uint32_t security_counter;
    /** Total image size in bytes (header, payload and TLVs). */
    uint32_t size;
    /** Payload pattern: images with different seeds differ in every payload byte. */
    uint8_t seed;
    uint8_t dependency_count; /**< 0..FWU_SIM_MAX_DEPENDENCIES */
    fwu_sim_dependency_t dependencies[FWU_SIM_MAX_DEPENDENCIES];
} fwu_sim_image_spec_t;

/**
 * Power on a new simulated device: blank flash, the `count` factory images programmed into
 * their primary slots, one boot, and the service started over it (replacing any previous
 * device or fwu_init() binding). PSA_ERROR_INVALID_ARGUMENT for an unknown component, a NULL
 * image or one larger than its slot; otherwise what the boot or service start-up reports.
 */
psa_status_t fwu_sim_init(const fwu_sim_factory_t *images, size_t count);

/**
 * Reset the simulated device: drop the service, run the fwu bootloader over the flash and start
 * the service again. Returns FWU_SIM_BOOT_* (>= 0), or a negative PSA status if the boot or the
 * start-up failed (the service is then uninitialised), PSA_ERROR_BAD_STATE without a device.
 */
int32_t fwu_sim_reboot(void);

/** 1 if psa_fwu_request_reboot() was called since the last fwu_sim_init()/fwu_sim_reboot(). */
int fwu_sim_reboot_requested(void);

/**
 * Build an image signed with the development key into out. *out_len (if not NULL) receives
 * the image size. PSA_ERROR_INVALID_ARGUMENT for a NULL spec or out, too many dependencies or
 * a size too small for the header and TLVs; PSA_ERROR_BUFFER_TOO_SMALL if out_size < size.
 */
psa_status_t fwu_sim_make_image(const fwu_sim_image_spec_t *spec, void *out, size_t out_size,
                                size_t *out_len);

/** The development public key (FWU_PUBLIC_KEY_SIZE bytes), for a fwu_init() configuration. */
psa_status_t fwu_sim_dev_public_key(uint8_t *out);

#ifdef __cplusplus
}
#endif

#endif /* FWU_FWU_SIM_H */
