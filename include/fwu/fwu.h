/*
 * fwu/fwu.h: binding the fwu update service (psa/update.h) to a device.
 *
 * One call, fwu_init(), gives the library everything it needs: blocking flash callbacks, the
 * flash layout shared with the fwu bootloader, the trusted Ed25519 public keys and a reset
 * function. The library copies the configuration (the arrays may be temporaries) and keeps one
 * service instance in static memory; it never allocates.
 *
 * Until fwu_init() succeeds every psa_fwu_* function returns FWU_ERROR_NOT_INITIALIZED
 * (PSA_ERROR_BAD_STATE).
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
/** If the state partition holds a record that cannot be decoded, erase the state partition and
 *  start afresh instead of failing with PSA_ERROR_DATA_CORRUPT. This loses any update in
 *  progress and the anti-rollback counters kept there; the active firmware is untouched. */
#define FWU_CONFIG_FORMAT_CORRUPT_STATE 0x00000002u

/** What a psa_fwu_* call returns before fwu_init() has succeeded. */
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
    /** The state partition shared with the bootloader: sector aligned, at least 2 sectors. */
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
} fwu_config_t;

/**
 * Bind (or re-bind) the update service. The previous instance, if any, is dropped first, so a
 * failed call leaves the service uninitialised.
 *
 * Returns:
 * - PSA_SUCCESS: the psa_fwu_* functions now work;
 * - PSA_ERROR_INVALID_ARGUMENT: config is NULL, a callback or array is NULL, a count is out of
 *   range, or the layout does not fit the flash (overlap, misaligned, outside the device, ...);
 * - PSA_ERROR_NOT_SUPPORTED: sector_size or log2_write_align differ from the library build;
 * - PSA_ERROR_STORAGE_FAILURE: a flash callback failed;
 * - PSA_ERROR_DATA_CORRUPT: the state partition cannot be decoded (see
 *   FWU_CONFIG_FORMAT_CORRUPT_STATE);
 * - PSA_ERROR_INSUFFICIENT_STORAGE: the state partition is full (too small);
 * - FWU_ERROR_BUSY: called from a callback or while another call runs (nothing changed).
 */
psa_status_t fwu_init(const fwu_config_t *config);

#ifdef __cplusplus
}
#endif

#endif /* FWU_FWU_H */
