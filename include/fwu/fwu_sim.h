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
 * The simulated device (sizes in sectors of FWU_CAPI_SECTOR_SIZE bytes, 50 in all):
 *   state partition  sectors 0..8 (boot log A/B, catalog A/B, checkpoint map: fwu_sim_layout())
 *   component 0      primary at sector 8 (16 sectors), secondary at sector 24 (17 sectors)
 *   component 1      primary at sector 41 (4 sectors), secondary at sector 45 (5 sectors)
 * The bootloader and the service trust one development key (fwu_sim_dev_public_key());
 * fwu_sim_make_image() signs with it. Eight state sectors hold the state of every build
 * geometry the test script uses (4-byte writes with 4 KiB sectors, 8-byte writes with 8 KiB
 * sectors, ...); a geometry that needs more makes fwu_sim_layout() return
 * PSA_ERROR_NOT_SUPPORTED and fwu_sim_init() fail.
 *
 * Fault injection at rest: fwu_sim_layout() tells where each part of the state and each slot
 * lives, fwu_sim_flash_read() and fwu_sim_flash_poke() read and overwrite the raw cells (flip
 * bits, write garbage, erase), and fwu_sim_reboot() then runs the real bootloader and a new
 * service over the result, whose outcome the psa_fwu_* functions, fwu_state_health() and
 * fwu_sim_last_boot() show. For example, garbage in one boot log copy:
 *
 *     fwu_sim_layout_t l;
 *     static uint8_t junk[64 * 1024];
 *     memset(junk, 0x5a, sizeof junk);
 *     fwu_sim_layout(&l);
 *     fwu_sim_flash_poke(l.boot_log.copies[0].offset, junk, l.boot_log.copies[0].size);
 *     fwu_sim_reboot();  // the other copy is in charge; the bad one is rewritten
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
#define FWU_SIM_SECTORS 50
/** Sectors of the simulated device's state partition (from sector 0). */
#define FWU_SIM_STATE_SECTORS 8
/** Largest number of dependencies fwu_sim_make_image() writes. */
#define FWU_SIM_MAX_DEPENDENCIES 4

/* fwu_sim_reboot() results (>= 0): what the bootloader did. */
#define FWU_SIM_BOOT_NONE 0            /**< Nothing to do. */
#define FWU_SIM_BOOT_INSTALLED 1       /**< STAGED images installed; they now run on trial. */
#define FWU_SIM_BOOT_INSTALL_REFUSED 2 /**< STAGED images failed verification: FAILED. */
#define FWU_SIM_BOOT_REVERTED 3        /**< TRIAL/REJECTED images rolled back: FAILED. */
#define FWU_SIM_BOOT_RECOVERED 4       /**< An invalid UPDATED image was restored from backup. */
#define FWU_SIM_BOOT_REVERT_REFUSED 5  /**< A rollback was due but the backup does not verify:
                                            nothing moved, FAILED (FWU_ERROR_BACKUP_INVALID). */
#define FWU_SIM_BOOT_DEFERRED 6        /**< An install or rollback was due but the flash could
                                            not be read: nothing changed, the next boot retries. */

/* fwu_sim_boot_t.state: how the bootloader found the boot log. */
#define FWU_SIM_STATE_OK 0       /**< Both copies current. */
#define FWU_SIM_STATE_REPAIRED 1 /**< One copy lagged (a cut or a fault) and was rewritten. */
#define FWU_SIM_STATE_FRESH 2    /**< A new device: the first state was written. */
#define FWU_SIM_STATE_CORRUPT 3  /**< Untrusted (both copies bad): nothing installed or reverted;
                                      the active images were only authenticated. */
#define FWU_SIM_STATE_DEGRADED 4 /**< One copy lacked the state and could not be rewritten: the
                                      state is intact but held by one copy. */
#define FWU_SIM_STATE_UNREADABLE 5 /**< No read of the boot log succeeded (or the counter
                                        backend failed): as CORRUPT, the active images were
                                        only authenticated. */

/** What the bootloader reported at the last boot (fwu_sim_last_boot()). */
typedef struct fwu_sim_boot_t {
    int32_t action;  /**< FWU_SIM_BOOT_*: what fwu_sim_reboot() returned. */
    uint32_t state;  /**< FWU_SIM_STATE_*. */
    uint8_t trial;   /**< 1 if the images about to run are on trial. */
    uint8_t refused; /**< Bit c set: component c's active image must not run (0: all boot). */
} fwu_sim_boot_t;

/** size bytes of the simulated flash from offset. */
typedef struct fwu_sim_range_t {
    uint32_t offset;
    uint32_t size;
} fwu_sim_range_t;

/**
 * One redundant store of the state partition (the boot log or the catalog): two copies, each a
 * row of `slots` fixed slots of `slot_size` bytes, filled in order from slot 0; each slot
 * starts with a CRC-framed record of `record_size` bytes (padded to the write size); in the
 * boot log the record's flag words and swap progress words follow it. A slot that reads all
 * 0xFF is blank, so the newest record of a copy is in its last slot that is not.
 */
typedef struct fwu_sim_log_t {
    fwu_sim_range_t copies[2]; /**< Copy A, copy B. */
    uint32_t slot_size;
    uint32_t slots;
    uint32_t record_size;
} fwu_sim_log_t;

/** One component's slots on the simulated device. */
typedef struct fwu_sim_component_t {
    psa_fwu_component_t id;
    fwu_sim_range_t primary;   /**< The active image. */
    fwu_sim_range_t secondary; /**< One sector larger; holds the backup after an install. */
    uint32_t staging;          /**< Where image offset 0 of a download is stored. */
} fwu_sim_component_t;

/** Where everything lives on the simulated flash (taken from the state carving the bootloader
 *  and the service use, not restated). */
typedef struct fwu_sim_layout_t {
    uint32_t flash_size;        /**< fwu_sim_flash_size(). */
    uint32_t sector_size;       /**< FWU_CAPI_SECTOR_SIZE. */
    uint32_t write_size;        /**< FWU_CAPI_WRITE_SIZE. */
    fwu_sim_range_t state;      /**< The whole state partition. */
    fwu_sim_log_t boot_log;     /**< Transaction table and counter floors (bootloader, service). */
    fwu_sim_log_t catalog;      /**< Component records (service only). */
    fwu_sim_range_t checkpoints; /**< Download resume points (hints; loss costs a re-send). */
    uint32_t component_count;   /**< FWU_SIM_COMPONENTS. */
    fwu_sim_component_t components[FWU_SIM_COMPONENTS]; /**< By id. */
} fwu_sim_layout_t;

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
    /** Non-zero: write vendor_id as the protected UUID_VID TLV (imgtool --vid). */
    uint8_t has_vendor_id;
    /** Non-zero: write class_id as the protected UUID_CID TLV (imgtool --cid). */
    uint8_t has_class_id;
    uint8_t vendor_id[16];
    uint8_t class_id[16];
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
 * What the bootloader reported at the last boot (fwu_sim_init() or fwu_sim_reboot()): its
 * action, how it found the boot log, whether the images run on trial and which active images
 * it refused to run. PSA_ERROR_INVALID_ARGUMENT for a NULL out, PSA_ERROR_BAD_STATE without a
 * device or if the last boot failed; on error a non-NULL *out is zeroed.
 */
psa_status_t fwu_sim_last_boot(fwu_sim_boot_t *out);

/**
 * Describe the simulated device's flash (needs no device). PSA_ERROR_INVALID_ARGUMENT for a
 * NULL out; PSA_ERROR_NOT_SUPPORTED if this build's geometry needs more than
 * FWU_SIM_STATE_SECTORS state sectors. On error a non-NULL *out is zeroed.
 */
psa_status_t fwu_sim_layout(fwu_sim_layout_t *out);

/** Bytes of the simulated flash (FWU_SIM_SECTORS * FWU_CAPI_SECTOR_SIZE; needs no device). */
uint32_t fwu_sim_flash_size(void);

/**
 * Copy len raw bytes of the simulated flash from offset into buf (len 0 does nothing).
 * PSA_ERROR_INVALID_ARGUMENT for a NULL buf with len > 0 or a range past fwu_sim_flash_size();
 * PSA_ERROR_BAD_STATE without a device; FWU_ERROR_BUSY during another call.
 */
psa_status_t fwu_sim_flash_read(uint32_t offset, void *buf, size_t len);

/**
 * Overwrite len raw bytes of the simulated flash at offset with buf, bypassing the NOR rules,
 * as a fault at rest does: flipped bits, garbage, or erasure (0xFF). Afterwards the bytes read
 * as given, and in each sector touched a FWU_CAPI_WRITE_SIZE word that reads all 0xFF counts as
 * erased (programmable again), any other word as programmed. No flash operation is counted and
 * nothing else changes.
 *
 * The service bound now keeps what it has already read, as a device keeps its RAM: the fault
 * shows when those bytes are read again, at the latest after fwu_sim_reboot() (the usual way to
 * see its outcome). Primary and secondary slots may be poked too (a corrupt backup, an image
 * changed behind the service's back).
 *
 * PSA_ERROR_INVALID_ARGUMENT for a NULL buf with len > 0 or a range past fwu_sim_flash_size();
 * PSA_ERROR_BAD_STATE without a device; FWU_ERROR_BUSY during another call.
 */
psa_status_t fwu_sim_flash_poke(uint32_t offset, const void *buf, size_t len);

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
