/*
 * fwu-capi C test: faults at rest in the persisted state, injected through the host
 * simulation's raw flash access (fwu_sim_layout, fwu_sim_flash_read, fwu_sim_flash_poke) and
 * judged only through the public API after fwu_sim_reboot(), which runs the real bootloader:
 *
 *   - the raw access API itself: layout, argument checks, read back what was poked;
 *   - single faults (one bit flipped at several positions including the newest record, one
 *     whole copy garbage, one whole copy erased) in each boot log copy and each catalog copy,
 *     during a STAGED and during a TRIAL update: the outcome (what the bootloader did, every
 *     component's state, error, version and staged image, the slots' contents, what the next
 *     steps return) is exactly the outcome without the fault, and both stores are healthy again;
 *   - both boot log copies garbage: every component FAILED with PSA_ERROR_DATA_CORRUPT, changes
 *     refused with PSA_ERROR_STORAGE_FAILURE, the running images still boot, fwu_recover_state()
 *     makes the device updatable again and keeps the security counter floor (a lower counter is
 *     still PSA_ERROR_NOT_PERMITTED at finish, also after a reboot);
 *   - both catalog copies garbage during a trial: the corrupt mode, then fwu_recover_state()
 *     keeps the intact boot log and its transaction (the trial can still be accepted);
 *   - a backup that no longer verifies when a rollback is due: FWU_ERROR_BACKUP_INVALID, the
 *     trial image stays; a staged image replaced behind the service's back by another validly
 *     signed one of a different size: FWU_ERROR_STAGED_MISMATCH, nothing installed.
 *
 * Built and run by scripts/capi-test.sh against the host-sim static library.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fwu/fwu.h"
#include "fwu/fwu_sim.h"
#include "psa/update.h"

#include "check.h"

#define APP 0
#define RADIO 1
#define S FWU_CAPI_SECTOR_SIZE

static fwu_sim_layout_t L;
static uint32_t flash_size;
static uint8_t *snap;    /* a whole-flash snapshot */
static uint8_t *scratch; /* a whole-flash read buffer */
static uint8_t image[128 * 1024];
static size_t image_len;

/* ---- Helpers ----------------------------------------------------------------------------- */

static void make(uint8_t major, uint32_t counter, uint32_t size, uint8_t seed)
{
    fwu_sim_image_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.version.major = major;
    spec.security_counter = counter;
    spec.size = size;
    spec.seed = seed;
    EXPECT(fwu_sim_make_image(&spec, image, sizeof image, &image_len), PSA_SUCCESS);
}

static psa_status_t download(psa_fwu_component_t c)
{
    size_t off;
    EXPECT(psa_fwu_start(c, NULL, 0), PSA_SUCCESS);
    for (off = 0; off < image_len; off += PSA_FWU_MAX_WRITE_SIZE) {
        size_t n = image_len - off < PSA_FWU_MAX_WRITE_SIZE ? image_len - off
                                                            : PSA_FWU_MAX_WRITE_SIZE;
        EXPECT(psa_fwu_write(c, off, image + off, n), PSA_SUCCESS);
    }
    return psa_fwu_finish(c);
}

static psa_fwu_component_info_t query(psa_fwu_component_t c)
{
    psa_fwu_component_info_t info;
    memset(&info, 0xa5, sizeof info);
    EXPECT(psa_fwu_query(c, &info), PSA_SUCCESS);
    return info;
}

static fwu_state_health_t health(void)
{
    fwu_state_health_t h;
    memset(&h, 0xa5, sizeof h);
    EXPECT(fwu_state_health(&h), PSA_SUCCESS);
    return h;
}

static fwu_sim_boot_t last_boot(void)
{
    fwu_sim_boot_t b;
    memset(&b, 0xa5, sizeof b);
    EXPECT(fwu_sim_last_boot(&b), PSA_SUCCESS);
    return b;
}

static uint32_t fnv(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

static uint32_t region_hash(fwu_sim_range_t r)
{
    EXPECT(fwu_sim_flash_read(r.offset, scratch, r.size), PSA_SUCCESS);
    return fnv(scratch, r.size);
}

static int blank(const uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (p[i] != 0xff) {
            return 0;
        }
    }
    return 1;
}

static void take_snapshot(void)
{
    EXPECT(fwu_sim_flash_read(0, snap, flash_size), PSA_SUCCESS);
}

static void restore_snapshot(void)
{
    EXPECT(fwu_sim_flash_poke(0, snap, flash_size), PSA_SUCCESS);
}

/* The newest record of one copy: its last slot that is not blank (-1 if none). */
static int newest_slot(const fwu_sim_log_t *log, int copy)
{
    int i;
    const fwu_sim_range_t *r = &log->copies[copy];
    EXPECT(fwu_sim_flash_read(r->offset, scratch, r->size), PSA_SUCCESS);
    for (i = (int)log->slots - 1; i >= 0; i--) {
        if (!blank(scratch + (size_t)i * log->slot_size, log->record_size)) {
            return i;
        }
    }
    return -1;
}

static void flip(uint32_t addr, unsigned bit)
{
    uint8_t b = 0, back = 0;
    EXPECT(fwu_sim_flash_read(addr, &b, 1), PSA_SUCCESS);
    b ^= (uint8_t)(1u << bit);
    EXPECT(fwu_sim_flash_poke(addr, &b, 1), PSA_SUCCESS);
    EXPECT(fwu_sim_flash_read(addr, &back, 1), PSA_SUCCESS);
    CHECK(back == b); /* the fault is in place */
}

static uint32_t lcg = 12345;

static void garbage(fwu_sim_range_t r)
{
    uint32_t i;
    for (i = 0; i < r.size; i++) {
        lcg = lcg * 1664525u + 1013904223u;
        scratch[i] = (uint8_t)(lcg >> 24);
    }
    EXPECT(fwu_sim_flash_poke(r.offset, scratch, r.size), PSA_SUCCESS);
}

static void erase(fwu_sim_range_t r)
{
    EXPECT(fwu_sim_flash_read(r.offset, scratch, r.size), PSA_SUCCESS);
    CHECK(!blank(scratch, r.size)); /* the fault changes something */
    memset(scratch, 0xff, r.size);
    EXPECT(fwu_sim_flash_poke(r.offset, scratch, r.size), PSA_SUCCESS);
}

/* A fresh device with the factory images app 1.0 (counter 1) and radio 1.0 (counter 1). */
static void power_on(void)
{
    static uint8_t app[10000], radio[3000];
    fwu_sim_factory_t f[2];
    make(1, 1, sizeof app, 1);
    memcpy(app, image, image_len);
    f[0].component = APP;
    f[0].image = app;
    f[0].size = image_len;
    make(1, 1, sizeof radio, 2);
    memcpy(radio, image, image_len);
    f[1].component = RADIO;
    f[1].image = radio;
    f[1].size = image_len;
    EXPECT(fwu_sim_init(f, 2), PSA_SUCCESS);
}

/* ---- The raw access API ----------------------------------------------------------------- */

static void layout_and_access(void)
{
    fwu_sim_layout_t z;
    fwu_sim_boot_t b;
    psa_fwu_component_info_t info;
    uint8_t byte = 0, four[4];
    unsigned i;
    uint32_t state_end;

    section("fwu_sim_layout: the carving of the state partition and the slots");
    EXPECT(fwu_sim_layout(NULL), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_layout(&L), PSA_SUCCESS); /* needs no device */
    flash_size = fwu_sim_flash_size();
    CHECK(flash_size == FWU_SIM_SECTORS * S);
    CHECK(L.flash_size == flash_size && L.sector_size == S && L.write_size == FWU_CAPI_WRITE_SIZE);
    CHECK(L.state.offset == 0 && L.state.size == FWU_SIM_STATE_SECTORS * S);
    state_end = L.state.offset + L.state.size;
    /* [ boot log A | boot log B | catalog A | catalog B | checkpoints ], sector aligned. */
    CHECK(L.boot_log.copies[0].offset == L.state.offset);
    CHECK(L.boot_log.copies[1].offset == L.boot_log.copies[0].offset + L.boot_log.copies[0].size);
    CHECK(L.catalog.copies[0].offset == L.boot_log.copies[1].offset + L.boot_log.copies[1].size);
    CHECK(L.catalog.copies[1].offset == L.catalog.copies[0].offset + L.catalog.copies[0].size);
    CHECK(L.checkpoints.offset == L.catalog.copies[1].offset + L.catalog.copies[1].size);
    CHECK(L.checkpoints.offset + L.checkpoints.size == state_end);
    CHECK(L.checkpoints.size >= 2 * S);
    for (i = 0; i < 2; i++) {
        const fwu_sim_log_t *log = i == 0 ? &L.boot_log : &L.catalog;
        CHECK(log->copies[0].size == log->copies[1].size && log->copies[0].size % S == 0);
        CHECK(log->slots >= 4 && log->slot_size * log->slots <= log->copies[0].size);
        CHECK(log->record_size > 0 && log->record_size <= log->slot_size);
        CHECK(log->record_size % FWU_CAPI_WRITE_SIZE == 0);
    }
    CHECK(L.component_count == FWU_SIM_COMPONENTS);
    for (i = 0; i < FWU_SIM_COMPONENTS; i++) {
        const fwu_sim_component_t *c = &L.components[i];
        CHECK(c->id == i);
        CHECK(c->primary.offset >= state_end && c->primary.offset % S == 0);
        CHECK(c->secondary.size == c->primary.size + S);
        CHECK(c->staging == c->secondary.offset + S);
        CHECK(c->secondary.offset + c->secondary.size <= flash_size);
    }
    CHECK(L.components[APP].primary.size == 16 * S && L.components[RADIO].primary.size == 4 * S);

    section("raw access without a device, argument checks");
    memset(&b, 0xa5, sizeof b);
    EXPECT(fwu_sim_last_boot(&b), PSA_ERROR_BAD_STATE);
    CHECK(b.action == 0 && b.state == 0 && b.trial == 0 && b.refused == 0);
    EXPECT(fwu_sim_last_boot(NULL), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_read(0, &byte, 1), PSA_ERROR_BAD_STATE);
    EXPECT(fwu_sim_flash_poke(0, &byte, 1), PSA_ERROR_BAD_STATE);

    power_on();
    b = last_boot();
    CHECK(b.action == FWU_SIM_BOOT_NONE && b.state == FWU_SIM_STATE_FRESH);
    CHECK(b.trial == 0 && b.refused == 0);
    {
        /* The first boot of a new device wrote the first boot record, in both copies. */
        fwu_state_health_t h = health();
        CHECK(h.boot == FWU_HEALTH_OK);
        CHECK(newest_slot(&L.boot_log, 0) >= 0 && newest_slot(&L.boot_log, 1) >= 0);
    }
    info = query(APP);
    CHECK(info.location == L.components[APP].primary.offset);
    CHECK(info.max_size == L.components[APP].primary.size);

    EXPECT(fwu_sim_flash_read(0, NULL, 1), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_poke(0, NULL, 1), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_read(flash_size, &byte, 1), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_read(flash_size - 1, four, 2), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_poke(flash_size - 1, four, 2), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_read(UINT32_MAX, four, 4), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_poke(UINT32_MAX, four, 4), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_read(0, four, (size_t)-1), PSA_ERROR_INVALID_ARGUMENT);
    EXPECT(fwu_sim_flash_read(flash_size, NULL, 0), PSA_SUCCESS); /* empty: nothing to do */
    EXPECT(fwu_sim_flash_poke(flash_size, NULL, 0), PSA_SUCCESS);
    EXPECT(fwu_sim_flash_read(flash_size - 1, &byte, 1), PSA_SUCCESS);

    section("raw access: the factory image is where the layout says; a poke reads back");
    make(1, 1, 10000, 1); /* the factory app image again */
    EXPECT(fwu_sim_flash_read(L.components[APP].primary.offset, scratch, image_len), PSA_SUCCESS);
    CHECK(memcmp(scratch, image, image_len) == 0);
    /* A poke over the last (erased) word of the flash, then back to erased: writable again. */
    memcpy(four, "\x12\x34\x56\x78", 4);
    EXPECT(fwu_sim_flash_poke(flash_size - 4, four, 4), PSA_SUCCESS);
    memset(four, 0, sizeof four);
    EXPECT(fwu_sim_flash_read(flash_size - 4, four, 4), PSA_SUCCESS);
    CHECK(memcmp(four, "\x12\x34\x56\x78", 4) == 0);
    memset(four, 0xff, sizeof four);
    EXPECT(fwu_sim_flash_poke(flash_size - 4, four, 4), PSA_SUCCESS);
    EXPECT(fwu_sim_flash_read(flash_size - 4, four, 4), PSA_SUCCESS);
    CHECK(blank(four, 4));
    memset(&z, 0, sizeof z);
    EXPECT(fwu_sim_layout(&z), PSA_SUCCESS); /* constant */
    CHECK(z.state.size == L.state.size && z.boot_log.slots == L.boot_log.slots);
    CHECK(z.catalog.copies[1].offset == L.catalog.copies[1].offset);
    CHECK(z.components[RADIO].staging == L.components[RADIO].staging);
}

/* ---- Single faults: the outcome is the outcome without the fault ------------------------- */

struct view {
    uint8_t state;
    psa_status_t error;
    psa_fwu_image_version_t version;
    uint32_t resume_offset, staged_size;
    uint8_t staged_digest[32];
};

struct outcome {
    int32_t boot1;
    fwu_sim_boot_t report1;
    struct view v1[FWU_SIM_COMPONENTS];
    fwu_state_health_t health1;
    uint32_t slots1[2 * FWU_SIM_COMPONENTS]; /* primary, secondary of each component */
    psa_status_t accept, clean;
    int32_t boot2;
    struct view v2[FWU_SIM_COMPONENTS];
    uint32_t slots2[2 * FWU_SIM_COMPONENTS];
};

static void views(struct view *v)
{
    unsigned c;
    for (c = 0; c < FWU_SIM_COMPONENTS; c++) {
        psa_fwu_component_info_t info = query((psa_fwu_component_t)c);
        memset(&v[c], 0, sizeof v[c]);
        v[c].state = info.state;
        v[c].error = info.error;
        v[c].version = info.version;
        v[c].resume_offset = info.impl.resume_offset;
        v[c].staged_size = info.impl.staged_size;
        memcpy(v[c].staged_digest, info.impl.staged_digest, 32);
    }
}

static void slot_hashes(uint32_t *h)
{
    unsigned c;
    for (c = 0; c < FWU_SIM_COMPONENTS; c++) {
        h[2 * c] = region_hash(L.components[c].primary);
        h[2 * c + 1] = region_hash(L.components[c].secondary);
    }
}

/* Reboot over what is on flash now and take the next steps a client would. */
static void run(struct outcome *o)
{
    memset(o, 0, sizeof *o);
    o->boot1 = fwu_sim_reboot();
    o->report1 = last_boot();
    views(o->v1);
    o->health1 = health();
    slot_hashes(o->slots1);
    o->accept = psa_fwu_accept();
    o->clean = psa_fwu_clean(APP);
    o->boot2 = fwu_sim_reboot();
    views(o->v2);
    slot_hashes(o->slots2);
}

static int same_view(const struct view *a, const struct view *b)
{
    return a->state == b->state && a->error == b->error && a->version.major == b->version.major &&
           a->version.minor == b->version.minor && a->version.patch == b->version.patch &&
           a->version.build == b->version.build && a->resume_offset == b->resume_offset &&
           a->staged_size == b->staged_size &&
           memcmp(a->staged_digest, b->staged_digest, 32) == 0;
}

static char what[160];
#define SAME(cond) check_(!!(cond), what, __FILE__, __LINE__)

/* `got` (with a fault) against `want` (without): the same outcome, and a healed state. */
static void compare(const struct outcome *got, const struct outcome *want)
{
    unsigned c;
    SAME(got->boot1 == want->boot1);
    SAME(got->report1.action == want->report1.action);
    SAME(got->report1.trial == want->report1.trial);
    SAME(got->report1.refused == 0 && want->report1.refused == 0);
    SAME(got->report1.state == FWU_SIM_STATE_OK || got->report1.state == FWU_SIM_STATE_REPAIRED);
    SAME(got->health1.boot == FWU_HEALTH_OK && got->health1.catalog == FWU_HEALTH_OK);
    for (c = 0; c < FWU_SIM_COMPONENTS; c++) {
        SAME(same_view(&got->v1[c], &want->v1[c]));
        SAME(same_view(&got->v2[c], &want->v2[c]));
    }
    SAME(memcmp(got->slots1, want->slots1, sizeof got->slots1) == 0);
    SAME(memcmp(got->slots2, want->slots2, sizeof got->slots2) == 0);
    SAME(got->accept == want->accept && got->clean == want->clean);
    SAME(got->boot2 == want->boot2);
}

static int faults_run;

/* Restore the snapshot, inject one fault with `inject`, run, compare with the reference. */
#define WITH_FAULT(desc, inject)                                                               \
    do {                                                                                       \
        struct outcome got_;                                                                   \
        restore_snapshot();                                                                    \
        inject;                                                                                \
        snprintf(what, sizeof what, "%s: %s", scenario, desc);                                 \
        run(&got_);                                                                            \
        compare(&got_, &ref);                                                                  \
        faults_run++;                                                                          \
    } while (0)

static void faults_in(const char *scenario, const struct outcome *want_ref)
{
    static const char *const copy_name[2] = {"copy A", "copy B"};
    struct outcome ref;
    unsigned log_i, k;

    /* The reference: the same flash, no fault. */
    restore_snapshot();
    run(&ref);
    snprintf(what, sizeof what, "%s: reference", scenario);
    compare(&ref, want_ref);

    for (log_i = 0; log_i < 2; log_i++) {
        const fwu_sim_log_t *log = log_i == 0 ? &L.boot_log : &L.catalog;
        const char *log_name = log_i == 0 ? "boot log" : "catalog";
        for (k = 0; k < 2; k++) {
            const fwu_sim_range_t copy = log->copies[k];
            int newest;
            uint32_t slot_n, rec = log->record_size;
            char desc[96];
            restore_snapshot();
            newest = newest_slot(log, (int)k);
            snprintf(desc, sizeof desc, "%s %s has a record", log_name, copy_name[k]);
            snprintf(what, sizeof what, "%s: %s", scenario, desc);
            SAME(newest >= 0);
            if (newest < 0) {
                continue;
            }
            slot_n = copy.offset + (uint32_t)newest * log->slot_size;

#define FAULT(fmt, inject)                                                                     \
    do {                                                                                       \
        snprintf(desc, sizeof desc, "%s %s: " fmt, log_name, copy_name[k]);                    \
        WITH_FAULT(desc, inject);                                                              \
    } while (0)

            FAULT("bit 0 of the newest record's first byte", flip(slot_n, 0));
            FAULT("bit 3 in the middle of the newest record", flip(slot_n + rec / 2, 3));
            FAULT("bit 7 of the newest record's last byte", flip(slot_n + rec - 1, 7));
            if (newest > 0) {
                FAULT("bit 5 of the oldest record", flip(copy.offset + 4, 5));
            }
            if (log_i == 0) {
                FAULT("bit 1 of the newest record's first flag word", flip(slot_n + rec, 1));
            }
            if ((uint32_t)newest + 1 < log->slots) {
                FAULT("bit 2 of the blank slot after the newest", flip(slot_n + log->slot_size, 2));
            }
            FAULT("the whole copy garbage", garbage(copy));
            FAULT("the whole copy erased", erase(copy));
#undef FAULT
        }
    }
}

static void single_faults(void)
{
    struct outcome want;
    psa_fwu_component_info_t info;

    section("single faults at rest during a STAGED update: as if there were none");
    power_on();
    make(2, 2, 12000, 3);
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    info = query(APP);
    CHECK(info.state == PSA_FWU_STAGED);
    take_snapshot();
    /* What must happen without a fault: installed, TRIAL 2.0, accepted, cleaned, kept. */
    memset(&want, 0, sizeof want);
    restore_snapshot();
    run(&want);
    CHECK(want.boot1 == FWU_SIM_BOOT_INSTALLED);
    CHECK(want.report1.trial == 1 && want.report1.refused == 0);
    CHECK(want.report1.state == FWU_SIM_STATE_OK);
    CHECK(want.v1[APP].state == PSA_FWU_TRIAL && want.v1[APP].version.major == 2);
    CHECK(want.v1[APP].staged_size == image_len);
    CHECK(want.v1[RADIO].state == PSA_FWU_READY && want.v1[RADIO].version.major == 1);
    CHECK(want.accept == PSA_SUCCESS && want.clean == PSA_SUCCESS);
    CHECK(want.boot2 == FWU_SIM_BOOT_NONE);
    CHECK(want.v2[APP].state == PSA_FWU_READY && want.v2[APP].version.major == 2);
    faults_in("STAGED", &want);

    section("single faults at rest during a TRIAL update (booted, not accepted): as if there "
            "were none");
    power_on();
    make(2, 2, 12000, 3);
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    CHECK(query(APP).state == PSA_FWU_TRIAL);
    take_snapshot();
    restore_snapshot();
    run(&want);
    CHECK(want.boot1 == FWU_SIM_BOOT_REVERTED);
    CHECK(want.report1.trial == 0 && want.report1.refused == 0);
    CHECK(want.v1[APP].state == PSA_FWU_FAILED);
    CHECK(want.v1[APP].error == FWU_ERROR_TRIAL_NOT_ACCEPTED);
    CHECK(want.v1[APP].version.major == 1);
    CHECK(want.accept == PSA_ERROR_BAD_STATE && want.clean == PSA_SUCCESS);
    CHECK(want.boot2 == FWU_SIM_BOOT_NONE);
    CHECK(want.v2[APP].state == PSA_FWU_READY && want.v2[APP].version.major == 1);
    faults_in("TRIAL", &want);
    printf("   (%d single faults injected)\n", faults_run);
    CHECK(faults_run >= 2 * (2 * 6 + 2 * 5)); /* every position of every copy ran */
}

/* ---- Both copies of a store bad: the corrupt mode, and the recovery --------------------- */

static void every_component_corrupt(void)
{
    unsigned c;
    for (c = 0; c < FWU_SIM_COMPONENTS; c++) {
        psa_fwu_component_info_t info = query((psa_fwu_component_t)c);
        CHECK(info.state == PSA_FWU_FAILED && info.error == PSA_ERROR_DATA_CORRUPT);
    }
}

static void corrupt_boot_log(void)
{
    uint32_t primaries[2 * FWU_SIM_COMPONENTS], after[2 * FWU_SIM_COMPONENTS];
    fwu_sim_boot_t b;
    fwu_state_health_t h;
    psa_fwu_component_info_t info;
    int round;

    section("both boot log copies garbage: corrupt mode, the running images still boot");
    power_on();
    make(2, 5, 12000, 4); /* app 2.0 with security counter 5, accepted: the floor is 5 */
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    EXPECT(psa_fwu_accept(), PSA_SUCCESS);
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    make(3, 4, 12000, 5); /* counter 4 < 5: refused before the fault */
    EXPECT(download(APP), PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    slot_hashes(primaries);

    garbage(L.boot_log.copies[0]);
    garbage(L.boot_log.copies[1]);
    for (round = 0; round < 2; round++) { /* nothing heals by itself */
        EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
        b = last_boot();
        CHECK(b.state == FWU_SIM_STATE_CORRUPT);
        CHECK(b.refused == 0 && b.trial == 0); /* every active image may run */
        h = health();
        CHECK(h.boot == FWU_HEALTH_CORRUPT && h.catalog == FWU_HEALTH_OK);
        every_component_corrupt();
        info = query(APP);
        CHECK(info.version.major == 2); /* still the running image's header */
        CHECK(query(RADIO).version.major == 1);
        EXPECT(psa_fwu_start(APP, NULL, 0), PSA_ERROR_STORAGE_FAILURE);
        EXPECT(psa_fwu_start(RADIO, NULL, 0), PSA_ERROR_STORAGE_FAILURE);
        EXPECT(psa_fwu_install(), PSA_ERROR_STORAGE_FAILURE);
        EXPECT(psa_fwu_clean(APP), PSA_ERROR_STORAGE_FAILURE);
        EXPECT(psa_fwu_accept(), PSA_ERROR_STORAGE_FAILURE);
        EXPECT(psa_fwu_reject(0), PSA_ERROR_STORAGE_FAILURE);
        every_component_corrupt(); /* unchanged */
        slot_hashes(after);
        CHECK(memcmp(primaries, after, sizeof after) == 0); /* no slot was touched */
    }

    section("fwu_recover_state: updatable again, the security counter floor kept");
    EXPECT(fwu_recover_state(), PSA_SUCCESS);
    EXPECT(fwu_recover_state(), PSA_ERROR_BAD_STATE); /* nothing corrupt any more */
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_OK);
    info = query(APP);
    CHECK(info.state == PSA_FWU_READY && info.error == 0 && info.version.major == 2);
    CHECK(query(RADIO).state == PSA_FWU_READY);
    slot_hashes(after);
    CHECK(after[0] == primaries[0] && after[2] == primaries[2]); /* primaries untouched */
    /* The floor (5, from the verified running image) survives the recovery... */
    EXPECT(download(APP), PSA_ERROR_NOT_PERMITTED); /* 3.0, counter 4 */
    info = query(APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    /* ... and a reboot: the bootloader reads the rebuilt boot log. */
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    b = last_boot();
    CHECK(b.state == FWU_SIM_STATE_OK && b.refused == 0);
    EXPECT(download(APP), PSA_ERROR_NOT_PERMITTED);
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    /* An image at or above the floor installs. */
    make(3, 6, 12000, 6);
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    CHECK(query(APP).state == PSA_FWU_TRIAL);
    EXPECT(psa_fwu_accept(), PSA_SUCCESS);
    info = query(APP);
    CHECK(info.state == PSA_FWU_UPDATED && info.version.major == 3);
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    CHECK(query(APP).version.major == 3);
}

static void corrupt_catalog(void)
{
    fwu_state_health_t h;
    fwu_sim_boot_t b;

    section("both catalog copies garbage during a trial: fwu_recover_state keeps the boot log");
    power_on();
    make(2, 2, 12000, 7);
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    garbage(L.catalog.copies[0]);
    garbage(L.catalog.copies[1]);
    /* The bootloader needs only the boot log: it installs. */
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    b = last_boot();
    CHECK(b.state == FWU_SIM_STATE_OK && b.trial == 1 && b.refused == 0);
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_CORRUPT);
    every_component_corrupt();
    CHECK(query(APP).version.major == 2); /* the trial image runs */
    EXPECT(psa_fwu_accept(), PSA_ERROR_STORAGE_FAILURE);
    EXPECT(fwu_recover_state(), PSA_SUCCESS);
    h = health();
    /* The catalog starts empty (every component READY): nothing written yet. */
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_FRESH);
    CHECK(query(APP).state == PSA_FWU_TRIAL); /* the transaction is intact */
    CHECK(query(RADIO).state == PSA_FWU_READY);
    EXPECT(psa_fwu_accept(), PSA_SUCCESS);
    CHECK(query(APP).state == PSA_FWU_UPDATED);
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    h = health();
    CHECK(h.boot == FWU_HEALTH_OK && h.catalog == FWU_HEALTH_OK);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    CHECK(query(APP).state == PSA_FWU_READY && query(APP).version.major == 2);
}

/* ---- Slots changed behind the service's back --------------------------------------------- */

static void backup_invalid(void)
{
    psa_fwu_component_info_t info;
    fwu_sim_boot_t b;
    fwu_sim_range_t backup;

    section("a rollback is due but the backup does not verify: FWU_ERROR_BACKUP_INVALID");
    power_on();
    make(2, 2, 12000, 8);
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALLED);
    CHECK(query(APP).state == PSA_FWU_TRIAL);
    /* After the install the previous image (1.0) is at the start of the secondary slot. */
    make(1, 1, 10000, 1);
    EXPECT(fwu_sim_flash_read(L.components[APP].secondary.offset, scratch, image_len),
           PSA_SUCCESS);
    CHECK(memcmp(scratch, image, image_len) == 0);
    backup.offset = L.components[APP].secondary.offset;
    backup.size = S;
    garbage(backup); /* its header and first payload bytes */
    /* Reboot without accept: the rollback cannot run. */
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_REVERT_REFUSED);
    b = last_boot();
    CHECK(b.trial == 0 && b.refused == 0);
    info = query(APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_BACKUP_INVALID);
    CHECK(info.version.major == 2); /* the trial image stays and runs */
    EXPECT(psa_fwu_accept(), PSA_ERROR_BAD_STATE); /* no longer on trial */
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_NONE);
    info = query(APP);
    CHECK(info.state == PSA_FWU_READY && info.version.major == 2);
    CHECK(last_boot().refused == 0);
}

static void staged_mismatch(void)
{
    psa_fwu_component_info_t info;
    static uint8_t other[64 * 1024];
    size_t other_len;

    section("a staged image replaced behind the service's back: FWU_ERROR_STAGED_MISMATCH");
    power_on();
    /* A validly signed image of another size (so another swap plan) than the one installed. */
    make(2, 2, 40000, 9);
    memcpy(other, image, image_len);
    other_len = image_len;
    make(2, 2, 12000, 10);
    EXPECT(download(APP), PSA_SUCCESS);
    EXPECT(psa_fwu_install(), PSA_SUCCESS_REBOOT);
    EXPECT(fwu_sim_flash_poke(L.components[APP].staging, other, other_len), PSA_SUCCESS);
    EXPECT(fwu_sim_reboot(), FWU_SIM_BOOT_INSTALL_REFUSED);
    info = query(APP);
    CHECK(info.state == PSA_FWU_FAILED && info.error == FWU_ERROR_STAGED_MISMATCH);
    CHECK(info.version.major == 1); /* nothing moved */
    EXPECT(psa_fwu_clean(APP), PSA_SUCCESS);
    CHECK(query(APP).state == PSA_FWU_READY);
}

int main(void)
{
    flash_size = fwu_sim_flash_size();
    snap = malloc(flash_size);
    scratch = malloc(flash_size);
    if (snap == NULL || scratch == NULL) {
        printf("out of memory\n");
        return 1;
    }
    layout_and_access();
    single_faults();
    corrupt_boot_log();
    corrupt_catalog();
    backup_invalid();
    staged_mismatch();
    free(snap);
    free(scratch);
    return summary("faults");
}
