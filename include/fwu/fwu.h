/*
 * fwu/fwu.h: binding the fwu update service (psa/update.h) to a device.
 *
 * One call, fwu_init(), gives the library everything it needs: blocking flash callbacks, the
 * flash layout shared with the fwu bootloader, the trusted Ed25519 public keys and a reset
 * function. The library copies the configuration (the arrays may be temporaries) and keeps one
 * service instance in static memory; it never allocates.
 *
 * Until fwu_init() succeeds every psa_fwu_* function returns an error from its own list in the
 * PSA FWU 1.0 specification (chapter 5): PSA_ERROR_DOES_NOT_EXIST from query, start, write,
 * finish, cancel and clean (no component exists until a layout is bound), PSA_ERROR_BAD_STATE
 * from install, reject and accept, PSA_ERROR_NOT_PERMITTED from request_reboot.
 * fwu_state_health() and fwu_recover_state() return FWU_ERROR_NOT_INITIALIZED.
 *
 * The state partition holds two copies of each of its stores (the boot log: the transaction
 * table and the security counter floors, shared with the bootloader; the catalog: the component
 * records), so any single fault at rest (a flipped bit, a torn or garbage word, an erased or a
 * garbage sector) is repaired automatically. A state corrupt beyond that (both copies of a store
 * bad) does not make fwu_init() fail: see FWU_CONFIG_RECOVER_CORRUPT_STATE, fwu_state_health()
 * and fwu_recover_state().
 */
#ifndef FWU_FWU_H
#define FWU_FWU_H

#include <stddef.h>
#include <stdint.h>

#include "psa/update.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * FWU_CAPI_SECTOR_SIZE is the erase sector size libfwu_capi.a was built for (the build-time
 * environment variable of the same name, default 4096). Compile with the same value.
 */
#ifndef FWU_CAPI_SECTOR_SIZE
#define FWU_CAPI_SECTOR_SIZE 4096
#endif

/** Largest number of components (ids 0..7). */
#define FWU_MAX_COMPONENTS 8
/** Largest number of trusted keys. */
#define FWU_MAX_KEYS 4
/** Size of one raw Ed25519 public key. */
#define FWU_PUBLIC_KEY_SIZE 32

/* fwu_config_t.flags */
/** Compare build numbers too in the downgrade and dependency checks (default: major.minor.patch). */
#define FWU_CONFIG_COMPARE_BUILD_NUMBER 0x00000001u
/**
 * If the state partition is corrupt beyond automatic repair (both copies of a store bad),
 * fwu_init() runs fwu_recover_state() before it returns (and returns its error if that fails).
 *
 * Without this flag fwu_init() succeeds over such a state and the service starts in a corrupt
 * mode: psa_fwu_query() reports every component PSA_FWU_FAILED with info.error ==
 * PSA_ERROR_DATA_CORRUPT, every function that would change the state (start, write, finish,
 * cancel, clean, install, reject, accept) returns PSA_ERROR_STORAGE_FAILURE, and the client
 * decides when to call fwu_recover_state(). The active firmware runs either way.
 */
#define FWU_CONFIG_RECOVER_CORRUPT_STATE 0x00000002u

/** What fwu_state_health() and fwu_recover_state() return before fwu_init() has succeeded (the
 *  psa_fwu_* functions: see the top of this file). */
#define FWU_ERROR_NOT_INITIALIZED PSA_ERROR_BAD_STATE
/** What a call returns while another call is running (re-entrant or concurrent use). */
#define FWU_ERROR_BUSY PSA_ERROR_CONNECTION_BUSY

/* Implementation-defined values of psa_fwu_component_info_t.error after a reboot. */
/** The trial image was booted and the device restarted without psa_fwu_accept(). */
#define FWU_ERROR_TRIAL_NOT_ACCEPTED ((psa_status_t)-0x1001)
/** The bootloader abandoned an install because the flash failed. */
#define FWU_ERROR_INSTALL_FLASH_FAILURE ((psa_status_t)-0x1002)
/** The bootloader rolled back because an active (trial) image failed authentication. */
#define FWU_ERROR_ACTIVE_INVALID ((psa_status_t)-0x1003)
/** A rollback was due (a trial not accepted, rejected or failing authentication), but the
 *  previous image kept as the backup does not verify: nothing was moved, the trial images stay
 *  active and keep running (no longer on trial). psa_fwu_clean() erases the bad backup. */
#define FWU_ERROR_BACKUP_INVALID ((psa_status_t)-0x1004)
/** The bootloader refused an install because the staged set no longer matches what
 *  psa_fwu_install() committed (a staged image or an active image changed behind the
 *  service's back): nothing was moved. */
#define FWU_ERROR_STAGED_MISMATCH ((psa_status_t)-0x1005)
/** The client abandoned the image with psa_fwu_cancel() (the spec leaves the error of a
 *  cancelled component to the implementation; 0 would not say why it is FAILED). */
#define FWU_ERROR_CANCELLED ((psa_status_t)-0x1006)
/** psa_fwu_finish() refused the image (PSA_ERROR_INVALID_ARGUMENT) because it depends on a
 *  component this device does not have: a dependency that can never be met. */
#define FWU_ERROR_UNKNOWN_DEPENDENCY ((psa_status_t)-0x1007)
/** The image is authentic but not for this device: a vendor or class UUID fwu_init() was given
 *  is missing from its protected TLVs or differs (psa_fwu_finish() returns
 *  PSA_ERROR_NOT_PERMITTED; the bootloader refuses it the same way). */
#define FWU_ERROR_WRONG_DEVICE ((psa_status_t)-0x1008)

/* fwu_state_health_t values. 0 is never a health: fwu_state_health() zeroes on error. */
/** Not a health: what fwu_state_health() writes on error. */
#define FWU_HEALTH_UNKNOWN 0
/** Both copies of the store hold the current state. */
#define FWU_HEALTH_OK 1
/** One copy lacked the current state and could not be rewritten yet (the state is intact; the
 *  next write repairs the copy). The service repairs a lagging copy when it reads the state. */
#define FWU_HEALTH_DEGRADED 2
/** The store holds nothing yet (a new device, or a store never written). */
#define FWU_HEALTH_FRESH 3
/** Neither copy holds a valid state and they are not blank: corrupt beyond automatic repair
 *  (see FWU_CONFIG_RECOVER_CORRUPT_STATE and fwu_recover_state()). */
#define FWU_HEALTH_CORRUPT 4

/**
 * Read size bytes at flash offset into data. Any offset and size inside the device.
 * Return 0 on success, anything else on failure (the call then reports
 * PSA_ERROR_STORAGE_FAILURE).
 */
typedef int (*fwu_flash_read_fn)(void *context, uint32_t offset, void *data, size_t size);
/**
 * Program size bytes at flash offset. Offset and size are multiples of FWU_CAPI_WRITE_SIZE and
 * the target is erased (0xFF). Return 0 on success.
 */
typedef int (*fwu_flash_write_fn)(void *context, uint32_t offset, const void *data, size_t size);
/** Erase the sector of FWU_CAPI_SECTOR_SIZE bytes at offset (erased bytes read 0xFF). Return 0
 *  on success. */
typedef int (*fwu_flash_erase_fn)(void *context, uint32_t offset);
/** Reset the system (normally does not return). */
typedef void (*fwu_reset_fn)(void *context);

/**
 * The device's NOR flash, as blocking callbacks. The library checks alignment and bounds before
 * calling them. They run inside psa_fwu_* calls and must not call psa_fwu_* or fwu_init
 * themselves (such a call returns FWU_ERROR_BUSY).
 */
typedef struct fwu_flash_t {
    void *context;            /**< Passed to every callback. */
    fwu_flash_read_fn read;   /**< Required. */
    fwu_flash_write_fn write; /**< Required. */
    fwu_flash_erase_fn erase; /**< Required. */
    uint32_t capacity;        /**< Device size in bytes. */
} fwu_flash_t;

/**
 * One component's slots, as the bootloader sees them: a primary slot of `sectors` sectors (the
 * active image) and a secondary slot of `sectors + 1` sectors, both sector aligned.
 */
typedef struct fwu_slot_t {
    psa_fwu_component_t id; /**< 0..7, each at most once. */
    uint16_t sectors;       /**< Sectors in the primary slot (the largest image), > 0. */
    uint32_t primary;       /**< Flash offset of the primary slot. */
    uint32_t secondary;     /**< Flash offset of the secondary slot. */
} fwu_slot_t;

/** Everything fwu_init() binds. */
typedef struct fwu_config_t {
    fwu_flash_t flash;
    /** Must be FWU_CAPI_SECTOR_SIZE (checked against the library build). */
    uint32_t sector_size;
    /** Must be PSA_FWU_LOG2_WRITE_ALIGN (checked against the library build). */
    uint32_t log2_write_align;
    /** 1..FWU_MAX_COMPONENTS component slots (copied). */
    const fwu_slot_t *slots;
    size_t slot_count;
    /** The state partition shared with the bootloader: sector aligned, not overlapping any
     *  slot, at least fwu_state_sectors_needed() sectors (6 for small layouts) and at most 64
     *  more. */
    uint32_t state_offset;
    uint32_t state_size;
    /** key_count raw Ed25519 public keys of FWU_PUBLIC_KEY_SIZE bytes each, back to back
     *  (copied); 1..FWU_MAX_KEYS. */
    const uint8_t *keys;
    size_t key_count;
    /** Called by psa_fwu_request_reboot(). Required. */
    fwu_reset_fn reset;
    void *reset_context;
    /** FWU_CONFIG_* bits; 0 for the defaults. */
    uint32_t flags;
    /** Image identity (PSA FWU 1.0 §4.3.1): 16 bytes of the vendor UUID every image must carry
     *  in its protected UUID_VID TLV (imgtool --vid), copied; NULL: not checked. Configure the
     *  fwu bootloader with the same ids. */
    const uint8_t *vendor_id;
    /** 16 bytes of the image class UUID every image must carry (UUID_CID, imgtool --cid),
     *  copied; NULL: not checked. */
    const uint8_t *class_id;
} fwu_config_t;

/** How the two redundant stores of the state partition were found (FWU_HEALTH_* values). */
typedef struct fwu_state_health_t {
    uint8_t boot;    /**< The boot log: transaction table and security counter floors. */
    uint8_t catalog; /**< The catalog: component records. */
} fwu_state_health_t;

/**
 * Bind (or re-bind) the update service. The previous instance, if any, is dropped first, so a
 * failed call leaves the service uninitialised.
 *
 * The configuration is checked completely before any flash callback runs; a configuration
 * error leaves the flash untouched. At start-up the service reads the state partition, writes
 * the first record of a new device, rewrites a copy that lags and settles what the bootloader
 * finished (a rollback, an accepted update).
 *
 * Returns:
 * - PSA_SUCCESS: the psa_fwu_* functions now work (also over a state corrupt beyond automatic
 *   repair without FWU_CONFIG_RECOVER_CORRUPT_STATE: see there);
 * - PSA_ERROR_INVALID_ARGUMENT: config is NULL, a callback or array is NULL, a count or flag
 *   is out of range, or the layout does not fit the flash: a slot or the state partition not
 *   aligned to the sector size, two regions overlapping, a region past the device's end
 *   (capacity), a state partition smaller than fwu_state_sectors_needed() (or more than 64
 *   sectors larger), a component id twice or >= FWU_MAX_COMPONENTS, an empty slot;
 * - PSA_ERROR_NOT_SUPPORTED: sector_size or log2_write_align differ from the library build;
 * - PSA_ERROR_STORAGE_FAILURE: a flash callback failed;
 * - FWU_ERROR_BUSY: called from a callback or while another call runs (nothing changed).
 */
psa_status_t fwu_init(const fwu_config_t *config);

/**
 * How the boot log and the catalog were found at the service's last read of the state
 * partition (at fwu_init(), and again after a call that could not complete).
 *
 * Returns PSA_SUCCESS, PSA_ERROR_INVALID_ARGUMENT for a NULL health, FWU_ERROR_NOT_INITIALIZED,
 * PSA_ERROR_STORAGE_FAILURE if re-reading failed, FWU_ERROR_BUSY. On error a non-NULL *health
 * is zeroed (FWU_HEALTH_UNKNOWN).
 */
psa_status_t fwu_state_health(fwu_state_health_t *health);

/**
 * Rebuild a state partition that is corrupt beyond automatic repair (a store with
 * FWU_HEALTH_CORRUPT), from what verifies on flash:
 * - a corrupt boot log is erased and started with no transaction in progress; each component's
 *   security counter floor is the highest of every counter a readable record still shows and
 *   the counter of its active image if that image authenticates, so an image with a lower
 *   counter is still refused (PSA_ERROR_NOT_PERMITTED at psa_fwu_finish);
 * - a corrupt catalog is erased and every component starts READY (a download in progress, a
 *   CANDIDATE, FAILED or UPDATED image is forgotten; the next download erases the secondary
 *   slot as it goes);
 * - the download checkpoints are dropped;
 * - a store that is intact is kept as it is, including a transaction in progress.
 * Primary slots are never touched: the active firmware keeps running.
 *
 * Returns PSA_SUCCESS (the device can be updated again), PSA_ERROR_BAD_STATE if nothing is
 * corrupt (this is not a way to cancel an update), FWU_ERROR_NOT_INITIALIZED,
 * PSA_ERROR_STORAGE_FAILURE if the flash failed (call again), FWU_ERROR_BUSY.
 */
psa_status_t fwu_recover_state(void);

/**
 * The fewest sectors (of FWU_CAPI_SECTOR_SIZE bytes) the state partition of a layout with
 * these slots needs for this library build: two copies of the boot log, two copies of the
 * catalog and two sectors of download checkpoints (6 for small layouts; more for large slots,
 * many components or large write sizes). Only the slots' `sectors` and their number count.
 * Needs no fwu_init() and touches no flash.
 *
 * Returns PSA_SUCCESS with *sectors set, or PSA_ERROR_INVALID_ARGUMENT for a NULL pointer or a
 * slot_count outside 1..FWU_MAX_COMPONENTS (*sectors, if not NULL, is then 0).
 */
psa_status_t fwu_state_sectors_needed(const fwu_slot_t *slots, size_t slot_count,
                                      uint32_t *sectors);

#ifdef __cplusplus
}
#endif

#endif /* FWU_FWU_H */
