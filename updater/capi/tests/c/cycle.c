/*
 * fwu-capi C test: a complete update cycle through psa/update.h on the simulated device (real
 * bootloader at every fwu_sim_reboot()), and every error of the digest §2.1 matrix a client
 * can trigger:
 *
 *   start, write, finish, install (PSA_SUCCESS_REBOOT), request_reboot, reboot -> TRIAL,
 *   accept -> UPDATED, clean -> READY; reject in TRIAL (-> REJECTED -> FAILED) and in STAGED;
 *   the automatic rollback of an unaccepted trial; a download resumed across a reboot;
 *   DOES_NOT_EXIST, BAD_STATE in every state, INVALID_ARGUMENT (NULL, oversize, unaligned,
 *   out-of-range, detached manifest, conflicting data, malformed image), INVALID_SIGNATURE,
 *   NOT_PERMITTED (downgrade, security counter, also against the floor the first boot takes
 *   from the factory image), DEPENDENCY_NEEDED; NOT_SUPPORTED never. The first boot of a new
 *   device (first boot record), FAILED and READY across reboots after a settled rollback.
 *   Faults at rest and the corrupt state are faults.c's.
 *
 * Built and run by scripts/capi-test.sh against the host-sim static library.
 */
#include <stdint.h>
#include <string.h>

#include "fwu/fwu.h"
#include "fwu/fwu_sim.h"
#include "psa/update.h"

#include "check.h"

#define COMPONENT_APP 0
#define COMPONENT_RADIO 1
#define UNKNOWN_COMPONENT 2

static uint8_t image[128 * 1024];
static size_t image_len;

static psa_fwu_image_version_t version(uint8_t major, uint8_t minor)
{
    psa_fwu_image_version_t v;
    memset(&v, 0, sizeof v);
    v.major = major;
    v.minor = minor;
    return v;
}

/* Build a signed image into `image`. */
static void make(uint8_t major, uint8_t minor, uint32_t counter, uint32_t size, uint8_t seed,
                 const fwu_sim_dependency_t *dep)
{
    fwu_sim_image_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.version = version(major, minor);
    spec.security_counter = counter;
    spec.size = size;
    spec.seed = seed;
    if (dep != NULL) {
        spec.dependency_count = 1;
        spec.dependencies[0] = *dep;
    }
    EXPECT(fwu_sim_make_image(&spec, image, sizeof image, &image_len), PSA_SUCCESS);
    CHECK(image_len == size);
}

static psa_fwu_component_info_t query(psa_fwu_component_t c)
{
    psa_fwu_component_info_t info;
    memset(&info, 0xa5, sizeof info);
    EXPECT(psa_fwu_query(c, &info), PSA_SUCCESS);
    return info;
}

static unsigned state(psa_fwu_component_t c)
{
    return query(c).state;
}

/* start + writes of PSA_FWU_MAX_WRITE_SIZE from `from`; every call must succeed. */
static void write_image(psa_fwu_component_t c, size_t from)
{
    size_t off;
    for (off = from; off < image_len; off += PSA_FWU_MAX_WRITE_SIZE) {
        size_t n = image_len - off < PSA_FWU_MAX_WRITE_SIZE ? image_len - off
                                                            : PSA_FWU_MAX_WRITE_SIZE;
        EXPECT(psa_fwu_write(c, off, image + off, n), PSA_SUCCESS);
    }
}

/* start, write everything, finish: returns finish's status. */
static psa_status_t download(psa_fwu_component_t c)
{
    EXPECT(psa_fwu_start(c, NULL, 0), PSA_SUCCESS);
    write_image(c, 0);
    return psa_fwu_finish(c);
}

/* The per-component calls that must answer BAD_STATE in `st` (all but the legal ones). */
static void per_component_bad_state(psa_fwu_component_t c, unsigned st)
{
    uint8_t block[16];
    memset(block, 0, sizeof block);
    if (st != PSA_FWU_READY) {
        EXPECT(psa_fwu_start(c, NULL, 0), PSA_ERROR_BAD_STATE);
    }
    if (st != PSA_FWU_WRITING) {
        EXPECT(psa_fwu_write(c, 0, block, sizeof block), PSA_ERROR_BAD_STATE);
        EXPECT(psa_fwu_finish(c), PSA_ERROR_BAD_STATE);
    }
    if (st != PSA_FWU_WRITING && st != PSA_FWU_CANDIDATE) {
        EXPECT(psa_fwu_cancel(c), PSA_ERROR_BAD_STATE);
    }
    if (st != PSA_FWU_FAILED && st != PSA_FWU_UPDATED) {
        EXPECT(psa_fwu_clean(c), PSA_ERROR_BAD_STATE);
    }
    CHECK(state(c) == st); /* BAD_STATE changes nothing */
}

static void before_init(void)
{
    psa_fwu_component_info_t info;
    uint8_t block[4] = {0};
    section("calls before initialisation");
    memset(&info, 0xa5, sizeof info);
    /* Each function answers from its own list in the spec (chapter 5): no component exists
     * before a layout is bound (DOES_NOT_EXIST; query lists no BAD_STATE), no component is in a
     * state install/reject/accept act on (BAD_STATE), and no reset is bound (NOT_PERMITTED). */
    EXPECT(psa_fwu_query(COMPONENT_APP, &info), PSA_ERROR_DOES_NOT_EXIST);
    CHECK(info.state == 0 && info.error == 0 && info.max_size == 0); /* zeroed on error */
    EXPECT(psa_fwu_start(COMPONENT_APP, NULL, 0), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, block, sizeof block), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_finish(COMPONENT_APP), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_cancel(COMPONENT_APP), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_request_reboot(), PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_reject(0), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE);
    EXPECT(fwu_recover_state(), FWU_ERROR_NOT_INITIALIZED);
    EXPECT(fwu_sim_reboot(), PSA_ERROR_BAD_STATE); /* no device yet */
}

static void sim_setup_errors(void)
{
    psa_fwu_component_info_t info;
    fwu_sim_factory_t f;
    section("fwu_sim_init argument checks");
    EXPECT(fwu_sim_init(NULL, 1), PSA_ERROR_INVALID_ARGUMENT);
    make(1, 0, 1, 2000, 1, NULL);
    f.component = UNKNOWN_COMPONENT;
    f.image = image;
    f.size = image_len;
    EXPECT(fwu_sim_init(&f, 1), PSA_ERROR_INVALID_ARGUMENT);
    f.component = COMPONENT_RADIO;
    f.size = 128 * 1024; /* larger than the radio's slot */
    EXPECT(fwu_sim_init(&f, 1), PSA_ERROR_INVALID_ARGUMENT);
    f.image = NULL;
    f.size = 10;
    EXPECT(fwu_sim_init(&f, 1), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE); /* a failed init binds nothing */
    EXPECT(psa_fwu_query(COMPONENT_APP, &info), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(fwu_sim_make_image(NULL, image, sizeof image, NULL), PSA_ERROR_INVALID_ARGUMENT);
}

static void power_on(void)
{
    static uint8_t app[10000], radio[3000];
    fwu_sim_factory_t f[2];
    size_t app_len, radio_len;
    section("factory images, first boot");
    make(1, 0, 1, sizeof app, 1, NULL);
    memcpy(app, image, image_len);
    app_len = image_len;
    make(1, 0, 1, sizeof radio, 2, NULL);
    memcpy(radio, image, image_len);
    radio_len = image_len;
    f[0].component = COMPONENT_APP;
    f[0].image = app;
    f[0].size = app_len;
    f[1].component = COMPONENT_RADIO;
    f[1].image = radio;
    f[1].size = radio_len;
    EXPECT(fwu_sim_init(f, 2), PSA_SUCCESS);
    {
        /* The first boot of a new device writes the first boot record; the catalog stays blank
         * until the first component record. */
        fwu_sim_boot_t b;
        fwu_state_health_t h;
        EXPECT(fwu_sim_last_boot(&b), PSA_SUCCESS);
        CHECK(b.action == FWU_SIM_BOOT_NONE && b.state == FWU_SIM_STATE_FRESH);
        CHECK(b.trial == 0 && b.refused == 0);
        EXPECT(fwu_state_health(&h), PSA_SUCCESS);
        CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_FRESH);
        EXPECT(fwu_recover_state(), PSA_ERROR_BAD_STATE); /* nothing is corrupt */
        EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
        EXPECT(fwu_sim_last_boot(&b), PSA_SUCCESS);
        CHECK(b.state == FWU_SIM_STATE_OK); /* no longer new */
    }
}

static void query_and_unknown_ids(void)
{
    psa_fwu_component_info_t info;
    fwu_sim_layout_t layout;
    uint8_t block[4] = {0};
    section("query, unknown components, NULL info");
    EXPECT(fwu_sim_layout(&layout), PSA_SUCCESS);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_READY);
    CHECK(info.version.major == 1 && info.version.minor == 0 && info.version.patch == 0);
    CHECK(info.max_size == 16u * FWU_CAPI_SECTOR_SIZE);
    CHECK(info.location == 8u * FWU_CAPI_SECTOR_SIZE); /* after the 8 state sectors */
    CHECK(info.location == layout.components[COMPONENT_APP].primary.offset);
    CHECK(query(COMPONENT_RADIO).location == layout.components[COMPONENT_RADIO].primary.offset);
    CHECK(info.flags == 0); /* non-volatile staging, no encryption */
    CHECK(info.impl.resume_offset == 0 && info.impl.staged_size == 0);
    info = query(COMPONENT_RADIO);
    CHECK(info.state == PSA_FWU_READY && info.max_size == 4u * FWU_CAPI_SECTOR_SIZE);

    memset(&info, 0xa5, sizeof info);
    EXPECT(psa_fwu_query(UNKNOWN_COMPONENT, &info), PSA_ERROR_DOES_NOT_EXIST);
    CHECK(info.state == 0 && info.max_size == 0);
    EXPECT(psa_fwu_query(255, &info), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_query(COMPONENT_APP, NULL), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_start(UNKNOWN_COMPONENT, NULL, 0), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_write(UNKNOWN_COMPONENT, 0, block, sizeof block), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_finish(UNKNOWN_COMPONENT), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_cancel(UNKNOWN_COMPONENT), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_clean(UNKNOWN_COMPONENT), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_finish(200), PSA_ERROR_DOES_NOT_EXIST);
}

static void ready_state(void)
{
    static const uint8_t manifest[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    section("READY: BAD_STATE cells and start arguments");
    per_component_bad_state(COMPONENT_APP, PSA_FWU_READY);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE); /* no CANDIDATE */
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE);  /* no TRIAL */
    EXPECT(psa_fwu_reject(0), PSA_ERROR_BAD_STATE); /* no STAGED or TRIAL */
    /* Detached manifests are not supported: INVALID_ARGUMENT, state unchanged. */
    EXPECT(psa_fwu_start(COMPONENT_APP, manifest, sizeof manifest), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_start(COMPONENT_APP, NULL, 5), PSA_ERROR_INVALID_ARGUMENT);
    /* A non-NULL pointer with size 0 is a detached manifest too (the bundled case is NULL, 0). */
    EXPECT(psa_fwu_start(COMPONENT_APP, manifest, 0), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_start(COMPONENT_APP, NULL, (size_t)-1), PSA_ERROR_INVALID_ARGUMENT);
    CHECK(state(COMPONENT_APP) == PSA_FWU_READY);
}

static void writing_state(void)
{
    static uint8_t big[PSA_FWU_MAX_WRITE_SIZE + 64];
    psa_fwu_component_info_t info;
    uint32_t max;
    uint8_t block[16];
    uint8_t other[PSA_FWU_MAX_WRITE_SIZE];
    size_t align = (size_t)1 << PSA_FWU_LOG2_WRITE_ALIGN;

    section("WRITING: write arguments, BAD_STATE cells, idempotent re-send");
    make(2, 0, 2, 20000, 3, NULL);
    memset(block, 0x11, sizeof block);
    max = query(COMPONENT_APP).max_size;
    EXPECT(psa_fwu_start(COMPONENT_APP, NULL, 0), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_WRITING);
    per_component_bad_state(COMPONENT_APP, PSA_FWU_WRITING);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);

    EXPECT(psa_fwu_write(COMPONENT_APP, 0, NULL, 16), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, NULL, 0), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, block, 0), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, big, PSA_FWU_MAX_WRITE_SIZE + 1),
           PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, big, sizeof big), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, align / 2, block, sizeof block),
           PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, 1, block, sizeof block), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, max, block, sizeof block), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, max - align, block, 2 * align),
           PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, (size_t)-1 & ~(align - 1), block, sizeof block),
           PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(psa_fwu_write(COMPONENT_APP, (size_t)UINT32_MAX + 1, block, sizeof block),
           PSA_ERROR_INVALID_ARGUMENT);
    CHECK(state(COMPONENT_APP) == PSA_FWU_WRITING);
    /* The last word of the slot is writable; an unaligned final block is padded. */
    EXPECT(psa_fwu_write(COMPONENT_APP, max - align, block, align), PSA_SUCCESS);
    EXPECT(psa_fwu_write(COMPONENT_APP, max - 4 * align, block, align + 1), PSA_SUCCESS);

    write_image(COMPONENT_APP, 0);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_WRITING);
    CHECK(info.impl.resume_offset ==
          (uint32_t)(image_len / FWU_CAPI_SECTOR_SIZE) * FWU_CAPI_SECTOR_SIZE);
    /* Re-sending identical data succeeds; different data over it is refused. */
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, image, PSA_FWU_MAX_WRITE_SIZE), PSA_SUCCESS);
    memcpy(other, image, sizeof other);
    other[100] ^= 0xff;
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, other, sizeof other), PSA_ERROR_INVALID_ARGUMENT);
    CHECK(state(COMPONENT_APP) == PSA_FWU_WRITING);
}

static void candidate_to_updated(void)
{
    psa_fwu_component_info_t info;
    int i, nonzero = 0;
    section("CANDIDATE -> STAGED -> reboot -> TRIAL -> accept -> UPDATED -> clean -> READY");
    EXPECT(psa_fwu_finish(COMPONENT_APP), PSA_SUCCESS);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_CANDIDATE);
    CHECK(info.version.major == 1); /* still the active image */
    CHECK(info.impl.staged_size == image_len);
    for (i = 0; i < 32; i++) {
        nonzero |= info.impl.staged_digest[i];
    }
    CHECK(nonzero != 0);
    per_component_bad_state(COMPONENT_APP, PSA_FWU_CANDIDATE);
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_reject(0), PSA_ERROR_BAD_STATE);

    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_STAGED);
    CHECK(info.version.major == 1);
    CHECK(state(COMPONENT_RADIO) == PSA_FWU_READY); /* untouched */
    per_component_bad_state(COMPONENT_APP, PSA_FWU_STAGED);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE);

    CHECK(fwu_sim_reboot_requested() == 0);
    EXPECT(psa_fwu_request_reboot(), PSA_SUCCESS);
    CHECK(fwu_sim_reboot_requested() == 1);
    CHECK(state(COMPONENT_APP) == PSA_FWU_STAGED); /* the reboot, not the request, installs */
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    CHECK(fwu_sim_reboot_requested() == 0);

    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_TRIAL);
    CHECK(info.version.major == 2 && info.version.minor == 0);
    per_component_bad_state(COMPONENT_APP, PSA_FWU_TRIAL);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    /* Another component may be prepared during a trial, but not installed. */
    make(2, 0, 2, 3000, 4, NULL);
    EXPECT(download(COMPONENT_RADIO), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_cancel(COMPONENT_RADIO), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(COMPONENT_RADIO), PSA_SUCCESS);

    EXPECT(psa_fwu_accept(), PSA_SUCCESS);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_UPDATED);
    CHECK(info.version.major == 2);
    per_component_bad_state(COMPONENT_APP, PSA_FWU_UPDATED);
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_reject(0), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_READY);

    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_READY && info.version.major == 2);
}

/* finish must fail with `want` and leave FAILED with info.error == want; then clean. */
static void finish_fails(psa_status_t want)
{
    psa_fwu_component_info_t info;
    EXPECT(download(COMPONENT_APP), want);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_FAILED);
    CHECK(info.error == want);
    CHECK(info.version.major == 2);
    per_component_bad_state(COMPONENT_APP, PSA_FWU_FAILED);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_READY);
}

static void verification_failures(void)
{
    section("finish: downgrade, security counter, integrity, signature, malformed image");
    make(1, 5, 2, 12000, 5, NULL); /* lower version than the active 2.0 */
    finish_fails(PSA_ERROR_NOT_PERMITTED);
    make(3, 0, 1, 12000, 5, NULL); /* counter 1 below the accepted 2 */
    finish_fails(PSA_ERROR_NOT_PERMITTED);
    make(3, 0, 3, 12000, 6, NULL);
    image[5000] ^= 0x01; /* payload: the SHA-256 no longer matches */
    finish_fails(PSA_ERROR_INVALID_SIGNATURE);
    make(3, 0, 3, 12000, 6, NULL);
    image[image_len - 1] ^= 0x80; /* last byte of the Ed25519 signature */
    finish_fails(PSA_ERROR_INVALID_SIGNATURE);
    make(3, 0, 3, 12000, 6, NULL);
    image[0] ^= 0xff; /* header magic */
    finish_fails(PSA_ERROR_INVALID_ARGUMENT);
    memset(image, 0xff, 12000); /* nothing but erased bytes */
    image_len = 12000;
    finish_fails(PSA_ERROR_INVALID_ARGUMENT);
}

static void cancel_paths(void)
{
    psa_fwu_component_info_t info;
    section("cancel from WRITING and CANDIDATE");
    make(3, 0, 3, 9000, 7, NULL);
    EXPECT(psa_fwu_start(COMPONENT_APP, NULL, 0), PSA_SUCCESS);
    EXPECT(psa_fwu_write(COMPONENT_APP, 0, image, PSA_FWU_MAX_WRITE_SIZE), PSA_SUCCESS);
    EXPECT(psa_fwu_cancel(COMPONENT_APP), PSA_SUCCESS);
    info = query(COMPONENT_APP);
    /* The error says why it failed: cancelled by the client. */
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_CANCELLED);
    EXPECT(psa_fwu_cancel(COMPONENT_APP), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(download(COMPONENT_APP), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_CANDIDATE);
    EXPECT(psa_fwu_cancel(COMPONENT_APP), PSA_SUCCESS);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_CANCELLED);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_READY);
}

static void reject_paths(void)
{
    const psa_status_t why = -4242;
    psa_fwu_component_info_t info;

    section("reject in STAGED -> FAILED");
    make(3, 0, 3, 9000, 8, NULL);
    EXPECT(download(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(psa_fwu_reject(why), PSA_SUCCESS);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == why && info.version.major == 2);
    EXPECT(psa_fwu_reject(why), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    CHECK(query(COMPONENT_APP).version.major == 2);

    section("reject in TRIAL -> REJECTED -> reboot -> FAILED");
    EXPECT(download(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    CHECK(query(COMPONENT_APP).state == PSA_FWU_TRIAL);
    EXPECT(psa_fwu_reject(why), PSA_SUCCESS_REBOOT);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_REJECTED);
    CHECK(info.error == why);
    CHECK(info.version.major == 3); /* still running until the reboot */
    per_component_bad_state(COMPONENT_APP, PSA_FWU_REJECTED);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_reject(0), PSA_ERROR_BAD_STATE);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_REVERTED);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == why && info.version.major == 2);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    /* The rollback was settled: cleaned, it stays READY across a reboot. */
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_READY && info.error == 0 && info.version.major == 2);

    section("reboot in TRIAL without accept -> automatic rollback -> FAILED");
    EXPECT(download(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    CHECK(query(COMPONENT_APP).state == PSA_FWU_TRIAL);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_REVERTED);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_FAILED);
    CHECK(info.error == FWU_ERROR_TRIAL_NOT_ACCEPTED);
    CHECK(info.version.major == 2);
    /* FAILED survives a reboot until cleaned (the service settled it into its records). */
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_TRIAL_NOT_ACCEPTED);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    CHECK(query(COMPONENT_APP).state == PSA_FWU_READY);
}

static void dependencies(void)
{
    static uint8_t radio[3000];
    size_t radio_len;
    fwu_sim_dependency_t dep;
    psa_fwu_component_info_t info;

    section("dependencies: DEPENDENCY_NEEDED, then an atomic two-component install");
    make(2, 0, 2, 3000, 9, NULL); /* the radio image the app will need */
    memcpy(radio, image, image_len);
    radio_len = image_len;
    dep.component = COMPONENT_RADIO;
    dep.min_version = version(2, 0);
    make(4, 0, 4, 15000, 10, &dep);
    EXPECT(download(COMPONENT_APP), PSA_SUCCESS); /* finish never checks dependencies */
    EXPECT(psa_fwu_install(), PSA_ERROR_DEPENDENCY_NEEDED);
    CHECK(state(COMPONENT_APP) == PSA_FWU_CANDIDATE); /* stays CANDIDATE */
    CHECK(state(COMPONENT_RADIO) == PSA_FWU_READY);

    memcpy(image, radio, radio_len);
    image_len = radio_len;
    EXPECT(download(COMPONENT_RADIO), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    CHECK(state(COMPONENT_APP) == PSA_FWU_STAGED);
    CHECK(state(COMPONENT_RADIO) == PSA_FWU_STAGED);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_TRIAL && info.version.major == 4);
    info = query(COMPONENT_RADIO);
    CHECK(info.state == PSA_FWU_TRIAL && info.version.major == 2);
    EXPECT(psa_fwu_accept(), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_UPDATED);
    CHECK(state(COMPONENT_RADIO) == PSA_FWU_UPDATED);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(COMPONENT_RADIO), PSA_SUCCESS);
}

static void resume_across_reboot(void)
{
    psa_fwu_component_info_t info;
    size_t done = 3 * FWU_CAPI_SECTOR_SIZE + 512, off;

    section("non-volatile staging: WRITING and CANDIDATE survive a reboot; resume");
    make(5, 0, 5, 30000, 11, NULL);
    EXPECT(psa_fwu_start(COMPONENT_APP, NULL, 0), PSA_SUCCESS);
    for (off = 0; off < done; off += 512) {
        EXPECT(psa_fwu_write(COMPONENT_APP, off, image + off, 512), PSA_SUCCESS);
    }
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_WRITING);
    CHECK(info.impl.resume_offset == 3 * FWU_CAPI_SECTOR_SIZE);
    write_image(COMPONENT_APP, info.impl.resume_offset);
    EXPECT(psa_fwu_finish(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_CANDIDATE && info.impl.staged_size == image_len);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    EXPECT(psa_fwu_accept(), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE); /* UPDATED survives a reboot too */
    info = query(COMPONENT_APP);
    CHECK(info.state == PSA_FWU_UPDATED && info.version.major == 5);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    CHECK(state(COMPONENT_APP) == PSA_FWU_READY);
}

static void factory_counter_floor(void)
{
    static uint8_t app[10000];
    fwu_sim_factory_t f;
    section("the running image's security counter is the floor from the first boot on");
    make(1, 0, 3, sizeof app, 12, NULL); /* factory image with counter 3, nothing accepted yet */
    memcpy(app, image, image_len);
    f.component = COMPONENT_APP;
    f.image = app;
    f.size = image_len;
    EXPECT(fwu_sim_init(&f, 1), PSA_SUCCESS);
    make(2, 0, 2, 9000, 13, NULL); /* a newer version with counter 2 */
    EXPECT(download(COMPONENT_APP), PSA_ERROR_NOT_PERMITTED);
    CHECK(query(COMPONENT_APP).error == PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    EXPECT(download(COMPONENT_APP), PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
    make(2, 0, 3, 9000, 13, NULL); /* the same counter is allowed */
    EXPECT(download(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(psa_fwu_cancel(COMPONENT_APP), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(COMPONENT_APP), PSA_SUCCESS);
}

int main(void)
{
    before_init();
    sim_setup_errors();
    power_on();
    query_and_unknown_ids();
    ready_state();
    writing_state();
    candidate_to_updated();
    verification_failures();
    cancel_paths();
    reject_paths();
    dependencies();
    resume_across_reboot();
    factory_counter_floor();
    return summary("cycle");
}
