/*
 * psa/update.h: the PSA Certified Firmware Update API 1.0 (1.0.0/1.0.1 semantics), as
 * implemented by fwu (a Rust bootloader and update service; the C ABI is the `fwu-capi` crate,
 * updater/capi, built as the static library libfwu_capi.a).
 *
 * Every identifier and value of the API is here, including the status codes of psa/error.h, so
 * that a client needs no other PSA header. Bind the service to the flash, the layout and the
 * trusted keys with fwu_init() (include/fwu/fwu.h) before the first call: until then each
 * psa_fwu_* function returns an error from its own list (see fwu.h).
 *
 * Implementation model (see updater/capi/README.md): a system reboot installs
 * (psa_fwu_install() returns PSA_SUCCESS_REBOOT), new images run on trial until
 * psa_fwu_accept(), staging is non-volatile (WRITING, CANDIDATE, FAILED and UPDATED survive a
 * reset), manifests are bundled in the MCUboot-format image (a detached manifest is
 * PSA_ERROR_INVALID_ARGUMENT), and finish() authenticates the image and applies the
 * anti-rollback and downgrade policy.
 *
 * Keep in sync with the Rust definitions: `cargo test -p fwu-capi --test header` compiles a C
 * program against this header and compares every value, size and offset with the Rust side.
 */
#ifndef PSA_UPDATE_H
#define PSA_UPDATE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status codes (psa/error.h) ------------------------------------------------------------
 *
 * The Firmware Update API 1.0 (section 5, API reference) does not define its common status
 * codes itself: it uses psa_status_t, PSA_SUCCESS and the PSA_ERROR_* codes of psa/error.h,
 * which the PSA Certified Status code API 1.0 (IHI 0097) defines. They are repeated here so
 * that a client needs no psa/error.h, and spelled exactly as that API spells them, so that the
 * same definitions coming from a platform psa/error.h are identical redefinitions.
 *
 * Each code has its own #ifndef guard: a platform psa/error.h may define only a subset (older
 * ones stop at PSA_ERROR_BAD_STATE, -137), and a single guard on PSA_SUCCESS would then leave
 * PSA_ERROR_INSUFFICIENT_MEMORY, PSA_ERROR_STORAGE_FAILURE, PSA_ERROR_DATA_CORRUPT and the
 * others undefined. The psa_status_t typedef stays tied to PSA_SUCCESS being undefined, as in
 * the Status code API's reference psa/error.h: every psa/error.h that defines PSA_SUCCESS also
 * declares psa_status_t, so this header does not repeat it then. If a translation unit needs
 * both headers in C99, include psa/error.h first (a C99 compiler refuses a repeated typedef;
 * C11 accepts it).
 */
#ifndef PSA_SUCCESS
/** A PSA status: 0 (PSA_SUCCESS) or positive on success, negative on error. */
typedef int32_t psa_status_t;
#endif

#ifndef PSA_SUCCESS
#define PSA_SUCCESS ((psa_status_t)0)
#endif
#ifndef PSA_ERROR_PROGRAMMER_ERROR
#define PSA_ERROR_PROGRAMMER_ERROR ((psa_status_t)-129)
#endif
#ifndef PSA_ERROR_CONNECTION_REFUSED
#define PSA_ERROR_CONNECTION_REFUSED ((psa_status_t)-130)
#endif
#ifndef PSA_ERROR_CONNECTION_BUSY
#define PSA_ERROR_CONNECTION_BUSY ((psa_status_t)-131)
#endif
#ifndef PSA_ERROR_GENERIC_ERROR
#define PSA_ERROR_GENERIC_ERROR ((psa_status_t)-132)
#endif
#ifndef PSA_ERROR_NOT_PERMITTED
#define PSA_ERROR_NOT_PERMITTED ((psa_status_t)-133)
#endif
#ifndef PSA_ERROR_NOT_SUPPORTED
#define PSA_ERROR_NOT_SUPPORTED ((psa_status_t)-134)
#endif
#ifndef PSA_ERROR_INVALID_ARGUMENT
#define PSA_ERROR_INVALID_ARGUMENT ((psa_status_t)-135)
#endif
#ifndef PSA_ERROR_INVALID_HANDLE
#define PSA_ERROR_INVALID_HANDLE ((psa_status_t)-136)
#endif
#ifndef PSA_ERROR_BAD_STATE
#define PSA_ERROR_BAD_STATE ((psa_status_t)-137)
#endif
#ifndef PSA_ERROR_BUFFER_TOO_SMALL
#define PSA_ERROR_BUFFER_TOO_SMALL ((psa_status_t)-138)
#endif
#ifndef PSA_ERROR_ALREADY_EXISTS
#define PSA_ERROR_ALREADY_EXISTS ((psa_status_t)-139)
#endif
#ifndef PSA_ERROR_DOES_NOT_EXIST
#define PSA_ERROR_DOES_NOT_EXIST ((psa_status_t)-140)
#endif
#ifndef PSA_ERROR_INSUFFICIENT_MEMORY
#define PSA_ERROR_INSUFFICIENT_MEMORY ((psa_status_t)-141)
#endif
#ifndef PSA_ERROR_INSUFFICIENT_STORAGE
#define PSA_ERROR_INSUFFICIENT_STORAGE ((psa_status_t)-142)
#endif
#ifndef PSA_ERROR_INSUFFICIENT_DATA
#define PSA_ERROR_INSUFFICIENT_DATA ((psa_status_t)-143)
#endif
#ifndef PSA_ERROR_SERVICE_FAILURE
#define PSA_ERROR_SERVICE_FAILURE ((psa_status_t)-144)
#endif
#ifndef PSA_ERROR_COMMUNICATION_FAILURE
#define PSA_ERROR_COMMUNICATION_FAILURE ((psa_status_t)-145)
#endif
#ifndef PSA_ERROR_STORAGE_FAILURE
#define PSA_ERROR_STORAGE_FAILURE ((psa_status_t)-146)
#endif
#ifndef PSA_ERROR_HARDWARE_FAILURE
#define PSA_ERROR_HARDWARE_FAILURE ((psa_status_t)-147)
#endif
#ifndef PSA_ERROR_INVALID_SIGNATURE
#define PSA_ERROR_INVALID_SIGNATURE ((psa_status_t)-149)
#endif
#ifndef PSA_ERROR_CORRUPTION_DETECTED
#define PSA_ERROR_CORRUPTION_DETECTED ((psa_status_t)-151)
#endif
#ifndef PSA_ERROR_DATA_CORRUPT
#define PSA_ERROR_DATA_CORRUPT ((psa_status_t)-152)
#endif
#ifndef PSA_ERROR_DATA_INVALID
#define PSA_ERROR_DATA_INVALID ((psa_status_t)-153)
#endif

/* ---- Status codes specific to the Firmware Update API -------------------------------------
 *
 * Guarded one by one as well: a platform header may define them too.
 */

#ifndef PSA_ERROR_DEPENDENCY_NEEDED
/** Another component must be updated first, or installed together with this one. */
#define PSA_ERROR_DEPENDENCY_NEEDED ((psa_status_t)-156)
#endif

#ifndef PSA_ERROR_FLASH_ABUSE
/** I/O is temporarily limited to protect the flash (never returned by fwu). */
#define PSA_ERROR_FLASH_ABUSE ((psa_status_t)-160)
#endif

#ifndef PSA_ERROR_INSUFFICIENT_POWER
/** Not enough power to finish reliably (never returned by fwu). */
#define PSA_ERROR_INSUFFICIENT_POWER ((psa_status_t)-161)
#endif

#ifndef PSA_SUCCESS_REBOOT
/** Success; a system reboot is needed to finish (psa_fwu_install(), psa_fwu_reject()). */
#define PSA_SUCCESS_REBOOT ((psa_status_t)+1)
#endif

#ifndef PSA_SUCCESS_RESTART
/** Success; a component restart is needed to finish (never returned by fwu). */
#define PSA_SUCCESS_RESTART ((psa_status_t)+2)
#endif

/* ---- Library version ---------------------------------------------------------------------- */

#define PSA_FWU_API_VERSION_MAJOR 1
#define PSA_FWU_API_VERSION_MINOR 0

/* ---- Write sizes -------------------------------------------------------------------------
 *
 * FWU_CAPI_WRITE_SIZE is the flash write size libfwu_capi.a was built for (the build-time
 * environment variable of the same name, default 4). Compile with the same value
 * (-DFWU_CAPI_WRITE_SIZE=8); fwu_init() refuses a configuration whose log2_write_align differs
 * from the library's.
 */
#ifndef FWU_CAPI_WRITE_SIZE
#define FWU_CAPI_WRITE_SIZE 4
#endif

#if FWU_CAPI_WRITE_SIZE == 4
#define PSA_FWU_LOG2_WRITE_ALIGN 2
#elif FWU_CAPI_WRITE_SIZE == 8
#define PSA_FWU_LOG2_WRITE_ALIGN 3
#elif FWU_CAPI_WRITE_SIZE == 16
#define PSA_FWU_LOG2_WRITE_ALIGN 4
#elif FWU_CAPI_WRITE_SIZE == 32
#define PSA_FWU_LOG2_WRITE_ALIGN 5
#else
#error "FWU_CAPI_WRITE_SIZE must be 4, 8, 16 or 32"
#endif

/**
 * The largest block_size psa_fwu_write() accepts: a multiple of 1 << PSA_FWU_LOG2_WRITE_ALIGN
 * for every supported write size, so writing blocks of exactly this size (only the last one
 * shorter) always meets the alignment rule.
 */
#define PSA_FWU_MAX_WRITE_SIZE 1024

/* ---- Components ---------------------------------------------------------------------------- */

/** A component of this device (the ids are those of the fwu_init() layout, at most 0..7). */
typedef uint8_t psa_fwu_component_t;

/** An image version; the layout of MCUboot's struct image_version. */
typedef struct psa_fwu_image_version_t {
    uint8_t major;  /**< Major version. */
    uint8_t minor;  /**< Minor version; 0 if none. */
    uint16_t patch; /**< Revision/patch; 0 if none. */
    uint32_t build; /**< Build number; 0 if none. */
} psa_fwu_image_version_t;

/* Component states (psa_fwu_component_info_t.state). */
#define PSA_FWU_READY 0u
#define PSA_FWU_WRITING 1u
#define PSA_FWU_CANDIDATE 2u
#define PSA_FWU_STAGED 3u
#define PSA_FWU_FAILED 4u
#define PSA_FWU_TRIAL 5u
#define PSA_FWU_REJECTED 6u
#define PSA_FWU_UPDATED 7u

/* Component flags (psa_fwu_component_info_t.flags). fwu sets neither: staging is non-volatile
 * and images are not encrypted. */
#define PSA_FWU_FLAG_VOLATILE_STAGING 0x00000001u
#define PSA_FWU_FLAG_ENCRYPTION 0x00000002u

/** Implementation-specific component information (fwu's, 40 bytes). */
typedef struct psa_fwu_impl_info_t {
    /** In WRITING: image offset up to which data is durably written. After a reset, or after
     *  any psa_fwu_write() error, re-send the image from this offset. Otherwise 0. */
    uint32_t resume_offset;
    /** From CANDIDATE on: the size in bytes of the image in the second slot; else 0. */
    uint32_t staged_size;
    /** From CANDIDATE on: the SHA-256 of that image as verified by finish(); else all zero. */
    uint8_t staged_digest[32];
} psa_fwu_impl_info_t;

/** Information about one component (68 bytes). */
typedef struct psa_fwu_component_info_t {
    uint8_t state;                   /**< PSA_FWU_READY .. PSA_FWU_UPDATED. */
    psa_status_t error;              /**< Error of the second image, in FAILED and REJECTED. */
    psa_fwu_image_version_t version; /**< Version of the active image. */
    uint32_t max_size;               /**< Largest image, in bytes (the primary slot size). */
    uint32_t flags;                  /**< PSA_FWU_FLAG_* bits (0). */
    uint32_t location;               /**< Flash offset of the active (primary) slot. */
    psa_fwu_impl_info_t impl;        /**< fwu's implementation-specific information. */
} psa_fwu_component_info_t;

/* ---- Functions ----------------------------------------------------------------------------
 *
 * Before fwu_init() succeeds each function returns an error from its own list in the
 * specification (chapter 5): PSA_ERROR_DOES_NOT_EXIST from query, start, write, finish, cancel
 * and clean (no component exists until a layout is bound), PSA_ERROR_BAD_STATE from install,
 * reject and accept, PSA_ERROR_NOT_PERMITTED from request_reboot. Calls are serialised
 * by the library: a call made while another is running (from a flash or reset callback, an
 * interrupt or another thread) returns PSA_ERROR_CONNECTION_BUSY and does nothing.
 */

/** Fill *info for component. PSA_ERROR_INVALID_ARGUMENT if info is NULL. On an error *info is
 *  zeroed (when info is not NULL). */
psa_status_t psa_fwu_query(psa_fwu_component_t component, psa_fwu_component_info_t *info);

/** READY -> WRITING. Bundled manifests only: manifest must be NULL and manifest_size 0 (the
 *  specification's bundled case); a detached manifest, even an empty one (a non-NULL pointer
 *  with size 0), or NULL with a non-zero size, is PSA_ERROR_INVALID_ARGUMENT. */
psa_status_t psa_fwu_start(psa_fwu_component_t component, const void *manifest,
                           size_t manifest_size);

/** Store block_size bytes at image_offset of the image being written (state WRITING).
 *  Re-sending bytes already written at the same offset succeeds and programs nothing; different
 *  bytes over bytes already written are PSA_ERROR_INVALID_ARGUMENT, nothing is written and the
 *  component stays WRITING (the specification leaves re-sent data to the implementation; flash
 *  cannot be rewritten without an erase: psa_fwu_cancel() and psa_fwu_clean() start over). */
psa_status_t psa_fwu_write(psa_fwu_component_t component, size_t image_offset,
                           const void *block, size_t block_size);

/** WRITING -> CANDIDATE after authenticating the image and applying the update policy. An image
 *  that depends on a component this device does not have is PSA_ERROR_INVALID_ARGUMENT
 *  (-> FAILED with error FWU_ERROR_UNKNOWN_DEPENDENCY): such a dependency can never be met.
 *  Other dependencies are checked by psa_fwu_install(), as the specification says. */
psa_status_t psa_fwu_finish(psa_fwu_component_t component);

/** WRITING or CANDIDATE -> FAILED, with error FWU_ERROR_CANCELLED (fwu/fwu.h). */
psa_status_t psa_fwu_cancel(psa_fwu_component_t component);

/** FAILED or UPDATED -> READY, erasing the second image. */
psa_status_t psa_fwu_clean(psa_fwu_component_t component);

/** Every CANDIDATE -> STAGED (PSA_SUCCESS_REBOOT), after checking dependencies. */
psa_status_t psa_fwu_install(void);

/** Call the reset function given to fwu_init(); PSA_SUCCESS if it returns. */
psa_status_t psa_fwu_request_reboot(void);

/** STAGED -> FAILED (PSA_SUCCESS) or TRIAL -> REJECTED (PSA_SUCCESS_REBOOT), recording error. */
psa_status_t psa_fwu_reject(psa_status_t error);

/** Every TRIAL -> UPDATED; the security counters rise. */
psa_status_t psa_fwu_accept(void);

#ifdef __cplusplus
}
#endif

#endif /* PSA_UPDATE_H */
