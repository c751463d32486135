/*
 * fwu-capi C test: the embedded binding, fwu_init() with flash callbacks written in C over a
 * RAM array that enforces NOR rules. Covers:
 *
 *   calls before fwu_init and after a failed fwu_init; every fwu_init argument check, and
 *   one layout error of each kind (a slot or the state partition not aligned to the sector
 *   size, overlapping regions, a region past the device, a state partition below
 *   fwu_state_sectors_needed() or too large), each refused with PSA_ERROR_INVALID_ARGUMENT
 *   before any flash callback runs; a flash failure at start-up; a download through the
 *   callbacks; request_reboot calling the reset callback; re-entrant calls from the flash and
 *   reset callbacks (FWU_ERROR_BUSY, no UB); concurrent calls from two threads; flash failures
 *   during write and clean, and the resume that follows; the state surviving a re-init; an
 *   untrusted key; FWU_CONFIG_COMPARE_BUILD_NUMBER; a state corrupt beyond automatic repair
 *   (both boot log copies garbage): the corrupt mode, fwu_state_health(), fwu_recover_state()
 *   and FWU_CONFIG_RECOVER_CORRUPT_STATE (also on a healthy partition, and with the flash
 *   failing during the recovery); and that the library never hands the callbacks an unaligned,
 *   out-of-range or non-erased operation.
 *
 * Images and the trusted key come from the host-sim helpers; no bootloader runs here.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>

#include "fwu/fwu.h"
#include "fwu/fwu_sim.h"
#include "psa/update.h"

#include "check.h"

#define S FWU_CAPI_SECTOR_SIZE
#define W FWU_CAPI_WRITE_SIZE
/* The layout: the state partition (6 sectors: what fwu_state_sectors_needed() gives for this
 * one-component layout with 4-byte writes and 4 KiB sectors, and with 8-byte writes and 8 KiB
 * sectors; one sector per copy of the boot log and of the catalog, then two of checkpoints),
 * then component 0's primary slot (8 sectors) and secondary slot (9 sectors). */
#define STATE_SECTORS 6u
#define PRIMARY (STATE_SECTORS * S)
#define SECONDARY (PRIMARY + 8u * S)
#define SECTORS (STATE_SECTORS + 8u + 9u)
#define CAPACITY (SECTORS * S)

/* ---- The RAM flash ------------------------------------------------------------------------ */

static uint8_t cells[CAPACITY];
static int fail_reads, fail_writes, fail_erases; /* fail the next N operations */
static int violations;                           /* bad requests the library made */
static int reads, writes, erases;

/* Re-entrancy probes: when set, the callback calls into the library once. */
static int reenter_from_read;
static psa_status_t reentrant_status;

static int flash_read(void *ctx, uint32_t offset, void *data, size_t size)
{
    if (ctx != cells) {
        violations++;
    }
    reads++;
    if (reenter_from_read) {
        reenter_from_read = 0;
        reentrant_status = psa_fwu_install();
    }
    if ((size_t)offset + size > CAPACITY) {
        violations++;
        return -1;
    }
    if (fail_reads > 0) {
        fail_reads--;
        return -1;
    }
    memcpy(data, cells + offset, size);
    return 0;
}

static int flash_write(void *ctx, uint32_t offset, const void *data, size_t size)
{
    const uint8_t *src = data;
    size_t i;
    (void)ctx;
    writes++;
    if ((size_t)offset + size > CAPACITY || offset % W != 0 || size % W != 0) {
        violations++;
        return -1;
    }
    if (fail_writes > 0) {
        fail_writes--;
        return -1;
    }
    for (i = 0; i < size; i++) {
        if (cells[offset + i] != 0xff) {
            violations++; /* NOR: program erased bytes only */
        }
        cells[offset + i] &= src[i];
    }
    return 0;
}

static int flash_erase(void *ctx, uint32_t offset)
{
    (void)ctx;
    erases++;
    if (offset % S != 0 || offset + S > CAPACITY) {
        violations++;
        return -1;
    }
    if (fail_erases > 0) {
        fail_erases--;
        return -1;
    }
    memset(cells + offset, 0xff, S);
    return 0;
}

/* ---- Reset ---------------------------------------------------------------------------------- */

static int resets;
static int reenter_from_reset;
static psa_status_t reset_query_status, reset_init_status;

static int reset_ctx;
static const fwu_config_t *current_config;

static void board_reset(void *ctx)
{
    CHECK(ctx == &reset_ctx);
    resets++;
    if (reenter_from_reset) {
        psa_fwu_component_info_t info;
        reset_query_status = psa_fwu_query(0, &info);
        reset_init_status = fwu_init(current_config);
    }
}

/* ---- Configuration ------------------------------------------------------------------------ */

static const fwu_slot_t slots[1] = {{0, 8, PRIMARY, SECONDARY}};
static uint8_t keys[2 * FWU_PUBLIC_KEY_SIZE];

static fwu_config_t base_config(void)
{
    fwu_config_t c;
    memset(&c, 0, sizeof c);
    c.flash.context = cells;
    c.flash.read = flash_read;
    c.flash.write = flash_write;
    c.flash.erase = flash_erase;
    c.flash.capacity = CAPACITY;
    c.sector_size = FWU_CAPI_SECTOR_SIZE;
    c.log2_write_align = PSA_FWU_LOG2_WRITE_ALIGN;
    c.slots = slots;
    c.slot_count = 1;
    c.state_offset = 0;
    c.state_size = STATE_SECTORS * S;
    c.keys = keys; /* keys[0..32]: the development key */
    c.key_count = 1;
    c.reset = board_reset;
    c.reset_context = &reset_ctx;
    c.flags = 0;
    return c;
}

/* ---- Images ----------------------------------------------------------------------------- */

static uint8_t image[40000];
static size_t image_len;

static void make(uint8_t major, uint32_t build, uint32_t counter, uint32_t size, uint8_t seed)
{
    fwu_sim_image_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.version.major = major;
    spec.version.build = build;
    spec.security_counter = counter;
    spec.size = size;
    spec.seed = seed;
    EXPECT(fwu_sim_make_image(&spec, image, sizeof image, &image_len), PSA_SUCCESS);
}

static void write_from(size_t from)
{
    size_t off;
    for (off = from; off < image_len; off += PSA_FWU_MAX_WRITE_SIZE) {
        size_t n = image_len - off < PSA_FWU_MAX_WRITE_SIZE ? image_len - off
                                                            : PSA_FWU_MAX_WRITE_SIZE;
        EXPECT(psa_fwu_write(0, off, image + off, n), PSA_SUCCESS);
    }
}

static psa_fwu_component_info_t query(void)
{
    psa_fwu_component_info_t info;
    EXPECT(psa_fwu_query(0, &info), PSA_SUCCESS);
    return info;
}

static void expect_uninitialised(void)
{
    psa_fwu_component_info_t info;
    fwu_state_health_t health;
    EXPECT(psa_fwu_query(0, &info), PSA_ERROR_DOES_NOT_EXIST);
    EXPECT(psa_fwu_install(), PSA_ERROR_BAD_STATE);
    EXPECT(psa_fwu_request_reboot(), PSA_ERROR_NOT_PERMITTED);
    EXPECT(fwu_recover_state(), FWU_ERROR_NOT_INITIALIZED);
    memset(&health, 0xa5, sizeof health);
    EXPECT(fwu_state_health(&health), FWU_ERROR_NOT_INITIALIZED);
    CHECK(health.boot == FWU_HEALTH_UNKNOWN && health.catalog == FWU_HEALTH_UNKNOWN);
}

static fwu_state_health_t health(void)
{
    fwu_state_health_t h;
    memset(&h, 0xa5, sizeof h);
    EXPECT(fwu_state_health(&h), PSA_SUCCESS);
    return h;
}

/* ---- Tests ---------------------------------------------------------------------------------- */

static void init_argument_checks(void)
{
    fwu_config_t c;
    fwu_slot_t bad[FWU_MAX_COMPONENTS + 1];
    uint32_t needed = 0;
    int r0, w0, e0;
    section("fwu_init argument checks (each leaves the service uninitialised, the flash untouched)");
    expect_uninitialised();
    EXPECT(fwu_init(NULL), PSA_ERROR_INVALID_ARGUMENT);
    expect_uninitialised();

    /* Each case: the expected status, the service unbound, and not one flash callback (the
     * configuration and the layout are checked before the flash is touched). */
#define BAD(field_change, want)                                                               \
    do {                                                                                       \
        c = base_config();                                                                     \
        field_change;                                                                          \
        r0 = reads, w0 = writes, e0 = erases;                                                  \
        EXPECT(fwu_init(&c), want);                                                            \
        CHECK(reads == r0 && writes == w0 && erases == e0);                                    \
        expect_uninitialised();                                                                \
    } while (0)

    BAD(c.flash.read = NULL, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.flash.write = NULL, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.flash.erase = NULL, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.reset = NULL, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.sector_size = FWU_CAPI_SECTOR_SIZE * 2, PSA_ERROR_NOT_SUPPORTED);
    BAD(c.log2_write_align = PSA_FWU_LOG2_WRITE_ALIGN + 1, PSA_ERROR_NOT_SUPPORTED);
    BAD(c.slots = NULL, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.slot_count = 0, PSA_ERROR_INVALID_ARGUMENT);
    BAD((c.slots = bad, c.slot_count = FWU_MAX_COMPONENTS + 1), PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.keys = NULL, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.key_count = 0, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.key_count = FWU_MAX_KEYS + 1, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.flags = 0x80, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.state_offset = 0xfffff000u, PSA_ERROR_INVALID_ARGUMENT); /* offset + size overflows */

    section("layout errors: alignment, overlap, fit, state partition size");
    /* Not aligned to the erase (sector) size. */
    BAD(c.state_offset = 1, PSA_ERROR_INVALID_ARGUMENT);           /* state start */
    BAD(c.state_size = STATE_SECTORS * S + S / 2, PSA_ERROR_INVALID_ARGUMENT); /* state end */
    memset(bad, 0, sizeof bad);
    bad[0] = slots[0];
    bad[0].primary = PRIMARY + S / 2; /* primary slot */
    BAD((c.slots = bad, c.slot_count = 1), PSA_ERROR_INVALID_ARGUMENT);
    bad[0] = slots[0];
    bad[0].secondary = SECONDARY + W; /* secondary slot */
    BAD((c.slots = bad, c.slot_count = 1, c.flash.capacity = CAPACITY + S),
        PSA_ERROR_INVALID_ARGUMENT);
    /* Overlapping regions. */
    BAD(c.state_offset = S, PSA_ERROR_INVALID_ARGUMENT); /* state over the primary slot */
    bad[0] = slots[0];
    bad[0].secondary = bad[0].primary; /* primary and secondary */
    BAD((c.slots = bad, c.slot_count = 1), PSA_ERROR_INVALID_ARGUMENT);
    bad[0] = slots[0];
    bad[1].id = 1; /* component 1's primary inside component 0's secondary */
    bad[1].sectors = 1;
    bad[1].primary = SECONDARY + 2 * S;
    bad[1].secondary = CAPACITY;
    BAD((c.slots = bad, c.slot_count = 2, c.flash.capacity = CAPACITY + 2 * S),
        PSA_ERROR_INVALID_ARGUMENT);
    /* Past the end of the device. */
    BAD(c.flash.capacity = CAPACITY - S, PSA_ERROR_INVALID_ARGUMENT); /* secondary slot */
    BAD((c.state_offset = CAPACITY, c.flash.capacity = CAPACITY + 3 * S),
        PSA_ERROR_INVALID_ARGUMENT); /* state partition */
    /* State partition size: below what the layout needs, and far above what it can use. */
    EXPECT(fwu_state_sectors_needed(slots, 1, &needed), PSA_SUCCESS);
    printf("   (fwu_state_sectors_needed: %lu sectors)\n", (unsigned long)needed);
    CHECK(needed >= 6 && needed <= STATE_SECTORS);
    BAD(c.state_size = (needed - 1) * S, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.state_size = S, PSA_ERROR_INVALID_ARGUMENT);
    BAD(c.state_size = 0, PSA_ERROR_INVALID_ARGUMENT);
    BAD((c.state_offset = CAPACITY, c.state_size = (needed + 65) * S,
         c.flash.capacity = CAPACITY + (needed + 65) * S),
        PSA_ERROR_INVALID_ARGUMENT);

    section("layout errors: components");
    bad[0] = slots[0];
    bad[1] = slots[0]; /* the same id twice */
    bad[1].primary = 30 * S;
    BAD((c.slots = bad, c.slot_count = 2), PSA_ERROR_INVALID_ARGUMENT);
    bad[1].id = FWU_MAX_COMPONENTS; /* id out of range */
    BAD((c.slots = bad, c.slot_count = 2), PSA_ERROR_INVALID_ARGUMENT);
    bad[0] = slots[0];
    bad[0].sectors = 0;
    BAD((c.slots = bad, c.slot_count = 1), PSA_ERROR_INVALID_ARGUMENT);
#undef BAD

    section("fwu_state_sectors_needed argument checks");
    {
        uint32_t probe = 99;
        EXPECT(fwu_state_sectors_needed(NULL, 1, &probe), PSA_ERROR_INVALID_ARGUMENT);
        CHECK(probe == 0);
        probe = 99;
        EXPECT(fwu_state_sectors_needed(slots, 0, &probe), PSA_ERROR_INVALID_ARGUMENT);
        CHECK(probe == 0);
        EXPECT(fwu_state_sectors_needed(bad, FWU_MAX_COMPONENTS + 1, &probe),
               PSA_ERROR_INVALID_ARGUMENT);
    }
    EXPECT(fwu_state_sectors_needed(slots, 1, NULL), PSA_ERROR_INVALID_ARGUMENT);
    {
        /* More and larger slots need at least as much. */
        fwu_slot_t many[FWU_MAX_COMPONENTS];
        uint32_t small = 0, large = 0;
        unsigned i;
        for (i = 0; i < FWU_MAX_COMPONENTS; i++) {
            many[i].id = (psa_fwu_component_t)i;
            many[i].sectors = 512;
            many[i].primary = many[i].secondary = 0;
        }
        EXPECT(fwu_state_sectors_needed(slots, 1, &small), PSA_SUCCESS);
        EXPECT(fwu_state_sectors_needed(many, FWU_MAX_COMPONENTS, &large), PSA_SUCCESS);
        CHECK(small == needed && large > small);
    }

    c = base_config();
    fail_reads = 1000;
    EXPECT(fwu_init(&c), PSA_ERROR_STORAGE_FAILURE);
    fail_reads = 0;
    expect_uninitialised();
    CHECK(writes == 0 && erases == 0); /* nothing written so far */
}

static void download_install_reboot(void)
{
    fwu_config_t c = base_config();
    psa_fwu_component_info_t info;
    section("download through C callbacks, install, request_reboot");
    make(1, 0, 1, 9000, 1);
    memcpy(cells + PRIMARY, image, image_len); /* factory image in the primary slot */
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    CHECK(writes > 0); /* a new device: the first boot record */
    CHECK(health().boot == FWU_HEALTH_OK);
    info = query();
    CHECK(info.state == PSA_FWU_READY);
    CHECK(info.version.major == 1);
    CHECK(info.location == PRIMARY && info.max_size == 8 * S);

    make(2, 0, 2, 20000, 2);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), PSA_SUCCESS);
    CHECK(query().state == PSA_FWU_CANDIDATE);
    /* The staged image is in the secondary slot, one sector in. */
    CHECK(memcmp(cells + SECONDARY + S, image, image_len) == 0);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(psa_fwu_request_reboot(), PSA_SUCCESS);
    CHECK(resets == 1);
    CHECK(query().state == PSA_FWU_STAGED);

    section("re-init over the same flash: the durable state is kept");
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    CHECK(query().state == PSA_FWU_STAGED);
    EXPECT(psa_fwu_reject(-7), PSA_SUCCESS);
    info = query();
    CHECK(info.state == PSA_FWU_FAILED && info.error == -7);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    CHECK(query().state == PSA_FWU_READY);
}

static void reentrancy(void)
{
    fwu_config_t c = base_config();
    psa_fwu_component_info_t info;
    section("re-entrant calls from callbacks return FWU_ERROR_BUSY");
    current_config = &c;
    reenter_from_reset = 1;
    EXPECT(psa_fwu_request_reboot(), PSA_SUCCESS);
    reenter_from_reset = 0;
    EXPECT(reset_query_status, FWU_ERROR_BUSY);
    EXPECT(reset_init_status, FWU_ERROR_BUSY);
    reentrant_status = PSA_SUCCESS;
    reenter_from_read = 1;
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS); /* reads the state partition */
    CHECK(reenter_from_read == 0);                   /* the probe ran */
    EXPECT(reentrant_status, FWU_ERROR_BUSY);
    info = query();
    CHECK(info.state == PSA_FWU_WRITING); /* the outer call went on */
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
}

#define THREAD_SUCCESSES 500
#define THREAD_MAX_CALLS 10000000
struct tally {
    int ok, busy, other;
};

/* Query until THREAD_SUCCESSES successes, yielding after each FWU_ERROR_BUSY. */
static void *hammer(void *arg)
{
    struct tally *t = arg;
    int i;
    for (i = 0; i < THREAD_MAX_CALLS && t->ok < THREAD_SUCCESSES; i++) {
        psa_fwu_component_info_t info;
        psa_status_t s = psa_fwu_query(0, &info);
        if (s == PSA_SUCCESS && info.state == PSA_FWU_CANDIDATE) {
            t->ok++;
        } else if (s == FWU_ERROR_BUSY) {
            t->busy++;
            sched_yield();
        } else {
            t->other++;
        }
    }
    return NULL;
}

static void threads(void)
{
    pthread_t a, b;
    struct tally ta = {0, 0, 0}, tb = {0, 0, 0};
    section("concurrent calls from two threads: success or FWU_ERROR_BUSY, nothing else");
    /* In CANDIDATE a query reads the component record from flash: calls overlap more. */
    make(2, 0, 2, 9000, 7);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), PSA_SUCCESS);
    CHECK(pthread_create(&a, NULL, hammer, &ta) == 0);
    CHECK(pthread_create(&b, NULL, hammer, &tb) == 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    CHECK(ta.other == 0 && tb.other == 0);
    CHECK(ta.ok == THREAD_SUCCESSES && tb.ok == THREAD_SUCCESSES);
    printf("   (thread A: %d ok, %d busy; thread B: %d ok, %d busy)\n", ta.ok, ta.busy, tb.ok,
           tb.busy);
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
}

static void flash_failures(void)
{
    psa_fwu_component_info_t info;
    size_t off;
    section("flash failures: STORAGE_FAILURE, then resume from impl.resume_offset");
    make(3, 0, 3, 30000, 3);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    for (off = 0; off < 3 * S; off += PSA_FWU_MAX_WRITE_SIZE) {
        EXPECT(psa_fwu_write(0, off, image + off, PSA_FWU_MAX_WRITE_SIZE), PSA_SUCCESS);
    }
    fail_writes = 1;
    EXPECT(psa_fwu_write(0, off, image + off, PSA_FWU_MAX_WRITE_SIZE), PSA_ERROR_STORAGE_FAILURE);
    fail_erases = 1;
    EXPECT(psa_fwu_write(0, 5 * S, image + 5 * S, PSA_FWU_MAX_WRITE_SIZE),
           PSA_ERROR_STORAGE_FAILURE);
    info = query();
    CHECK(info.state == PSA_FWU_WRITING);
    CHECK(info.impl.resume_offset == 3 * S);
    write_from(info.impl.resume_offset);
    EXPECT(psa_fwu_finish(0), PSA_SUCCESS);
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    fail_erases = 1;
    EXPECT(psa_fwu_clean(0), PSA_ERROR_STORAGE_FAILURE);
    CHECK(query().state == PSA_FWU_FAILED);
    fail_reads = 1;
    memset(&info, 0x5a, sizeof info);
    /* A query may be answered from RAM; if it reads the flash it reports the failure. */
    {
        psa_status_t s = psa_fwu_query(0, &info);
        CHECK(s == PSA_SUCCESS || s == PSA_ERROR_STORAGE_FAILURE);
    }
    fail_reads = 0;
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    CHECK(query().state == PSA_FWU_READY);
}

static void keys_and_policy(void)
{
    fwu_config_t c = base_config();
    psa_fwu_component_info_t info;
    uint8_t saved[FWU_PUBLIC_KEY_SIZE];
    section("trusted keys and FWU_CONFIG_COMPARE_BUILD_NUMBER");

    /* Only an unknown key is trusted: the image's signer is not. */
    memcpy(saved, keys, sizeof saved);
    memcpy(keys, keys + FWU_PUBLIC_KEY_SIZE, FWU_PUBLIC_KEY_SIZE);
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    memcpy(keys, saved, sizeof saved); /* the library copied the keys at fwu_init */
    make(4, 0, 4, 9000, 4);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), PSA_ERROR_INVALID_SIGNATURE);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);

    /* Two keys, the signer second. */
    memcpy(keys + FWU_PUBLIC_KEY_SIZE, keys, FWU_PUBLIC_KEY_SIZE);
    memset(keys, 0x42, FWU_PUBLIC_KEY_SIZE);
    c.key_count = 2;
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    memcpy(keys, keys + FWU_PUBLIC_KEY_SIZE, FWU_PUBLIC_KEY_SIZE);

    /* Build numbers: the active image is 1.0.0+9. 1.0.0+5 is the same version by default, a
     * downgrade when build numbers are compared. */
    make(1, 9, 1, 9000, 5);
    memcpy(cells + PRIMARY, image, image_len);
    c.key_count = 1;
    c.flags = FWU_CONFIG_COMPARE_BUILD_NUMBER;
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    CHECK(query().version.build == 9);
    make(1, 5, 9, 9000, 6);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    c.flags = 0;
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), PSA_SUCCESS);
    info = query();
    CHECK(info.state == PSA_FWU_CANDIDATE);
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
}

/* An image of another vendor or class, or without ids, for a device bound with ids. */
static void download_with_ids(const uint8_t *vid, const uint8_t *cid, psa_status_t want)
{
    fwu_sim_image_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.version.major = 5;
    spec.security_counter = 5;
    spec.size = 9000;
    spec.seed = 9;
    if (vid != NULL) {
        spec.has_vendor_id = 1;
        memcpy(spec.vendor_id, vid, 16);
    }
    if (cid != NULL) {
        spec.has_class_id = 1;
        memcpy(spec.class_id, cid, 16);
    }
    EXPECT(fwu_sim_make_image(&spec, image, sizeof image, &image_len), PSA_SUCCESS);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), want);
}

static void image_identity(void)
{
    fwu_config_t c = base_config();
    psa_fwu_component_info_t info;
    uint8_t vid[16], cid[16], other[16], good_vid[16], good_cid[16];
    section("image identity: vendor and class UUIDs (PSA FWU 1.0 section 4.3.1)");
    memset(vid, 0x5a, sizeof vid);
    memset(cid, 0xc1, sizeof cid);
    memset(other, 0xc2, sizeof other);
    c.vendor_id = vid;
    c.class_id = cid;
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    memcpy(good_vid, vid, 16);
    memcpy(good_cid, cid, 16);
    memset(vid, 0, sizeof vid); /* the library copied the ids at fwu_init */
    memset(cid, 0, sizeof cid);
    download_with_ids(NULL, NULL, PSA_ERROR_NOT_PERMITTED);
    info = query();
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_WRONG_DEVICE);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    download_with_ids(good_vid, other, PSA_ERROR_NOT_PERMITTED);
    CHECK(query().error == FWU_ERROR_WRONG_DEVICE);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    download_with_ids(good_vid, NULL, PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    download_with_ids(good_vid, good_cid, PSA_SUCCESS);
    CHECK(query().state == PSA_FWU_CANDIDATE);
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    /* Without ids configured, any authentic image is accepted, with or without ids. */
    c = base_config();
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    download_with_ids(good_vid, other, PSA_SUCCESS);
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
}

/* Both boot log copies garbage: with this layout they are sectors 0 and 1 (one sector per
 * copy: fwu_state_sectors_needed() == 6 = 2 boot log + 2 catalog + 2 checkpoint sectors). */
static void garbage_boot_log(uint8_t seed)
{
    uint32_t i;
    for (i = 0; i < 2 * S; i++) {
        cells[i] = (uint8_t)(i * 89u + seed);
    }
}

static void corrupt_state(void)
{
    fwu_config_t c = base_config();
    psa_fwu_component_info_t info;
    fwu_state_health_t h;
    static uint8_t primary[8 * S];
    uint32_t needed = 0;
    int w0, e0;

    section("FWU_CONFIG_RECOVER_CORRUPT_STATE leaves a healthy state partition alone");
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    EXPECT(psa_fwu_cancel(0), PSA_SUCCESS);
    c.flags = FWU_CONFIG_RECOVER_CORRUPT_STATE;
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    info = query();
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_CANCELLED && info.version.major == 1);
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_OK);
    EXPECT(fwu_recover_state(), PSA_ERROR_BAD_STATE); /* nothing is corrupt */
    CHECK(query().state == PSA_FWU_FAILED);           /* not a way to cancel or clean */
    EXPECT(fwu_state_health(NULL), PSA_ERROR_INVALID_ARGUMENT);

    section("both boot log copies garbage: fwu_init succeeds, the corrupt mode");
    EXPECT(fwu_state_sectors_needed(slots, 1, &needed), PSA_SUCCESS);
    CHECK(needed == 6); /* garbage_boot_log()'s premise */
    memcpy(primary, cells + PRIMARY, sizeof primary);
    garbage_boot_log(1);
    c.flags = 0;
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    h = health();
    CHECK(h.boot == FWU_HEALTH_CORRUPT);
    CHECK(h.catalog == FWU_HEALTH_OK);
    memset(&info, 0xa5, sizeof info);
    EXPECT(psa_fwu_query(0, &info), PSA_SUCCESS);
    CHECK(info.state == PSA_FWU_FAILED && info.error == PSA_ERROR_DATA_CORRUPT);
    CHECK(info.version.major == 1); /* the active image's header is still read */
    EXPECT(psa_fwu_query(1, &info), PSA_ERROR_DOES_NOT_EXIST);
    w0 = writes, e0 = erases;
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_write(0, 0, image, 16), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_finish(0), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_cancel(0), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_clean(0), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_install(), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_accept(), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(psa_fwu_reject(0), PSA_ERROR_STORAGE_FAILURE);
    CHECK(writes == w0 && erases == e0); /* refused without touching the flash */
    EXPECT(fwu_init(&c), PSA_SUCCESS);   /* a re-init finds the same */
    CHECK(health().boot == FWU_HEALTH_CORRUPT);

    section("fwu_recover_state rebuilds the boot log; the catalog and the primary slot stay");
    EXPECT(fwu_recover_state(), PSA_SUCCESS);
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_OK);
    info = query();
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_CANCELLED); /* the catalog's record */
    EXPECT(fwu_recover_state(), PSA_ERROR_BAD_STATE);
    CHECK(memcmp(primary, cells + PRIMARY, sizeof primary) == 0);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
    EXPECT(fwu_init(&c), PSA_SUCCESS); /* durable */
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && query().state == PSA_FWU_READY);

    section("FWU_CONFIG_RECOVER_CORRUPT_STATE recovers at fwu_init");
    garbage_boot_log(2);
    c.flags = FWU_CONFIG_RECOVER_CORRUPT_STATE;
    fail_erases = 1000; /* the recovery cannot erase: fwu_init reports it, binds nothing */
    EXPECT(fwu_init(&c), PSA_ERROR_STORAGE_FAILURE);
    fail_erases = 0;
    expect_uninitialised();
    EXPECT(fwu_init(&c), PSA_SUCCESS);
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_OK);
    info = query();
    CHECK(info.state == PSA_FWU_READY && info.error == 0 && info.version.major == 1);
    CHECK(memcmp(primary, cells + PRIMARY, sizeof primary) == 0);
    /* Updatable again. */
    make(2, 0, 2, 9000, 8);
    EXPECT(psa_fwu_start(0, NULL, 0), PSA_SUCCESS);
    write_from(0);
    EXPECT(psa_fwu_finish(0), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    CHECK(query().state == PSA_FWU_STAGED);
    EXPECT(psa_fwu_reject(0), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(0), PSA_SUCCESS);
}

int main(void)
{
    memset(cells, 0xff, sizeof cells);
    EXPECT(fwu_sim_dev_public_key(keys), PSA_SUCCESS);
    EXPECT(fwu_sim_dev_public_key(NULL), PSA_ERROR_INVALID_ARGUMENT);
    memset(keys + FWU_PUBLIC_KEY_SIZE, 0x42, FWU_PUBLIC_KEY_SIZE); /* a key nobody signs with */

    init_argument_checks();
    download_install_reboot();
    reentrancy();
    threads();
    flash_failures();
    keys_and_policy();
    image_identity();
    corrupt_state();

    section("the library never asked for an unaligned, out-of-range or non-erased operation");
    CHECK(violations == 0);
    CHECK(reads > 0 && writes > 0 && erases > 0);
    return summary("embedded");
}
