/*
 * Runs the documentation's example client (examples/client.c, linked as is) on the host: this
 * file is its board support package and transport, over a 1 MiB RAM flash with the example's
 * layout. Covers update_init, update_after_boot and update_run: a download interrupted by the
 * transport, resumed after a power cycle, installed, and the reboot requested; an abandoned
 * install cleaned at start-up; a tampered image and a downgrade refused at finish and erased.
 * No bootloader runs here: the reboot transitions are cycle.c's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fwu/fwu.h"
#include "fwu/fwu_sim.h"
#include "psa/update.h"

#include "check.h"

psa_status_t update_init(void);
psa_status_t update_after_boot(void);
psa_status_t update_run(void);

#define CAPACITY (1024u * 1024u)
static uint8_t cells[CAPACITY];
static uint8_t key[FWU_PUBLIC_KEY_SIZE];
static int resets;
static bool self_test_passes = true;

int board_flash_read(void *ctx, uint32_t offset, void *data, size_t size)
{
    (void)ctx;
    memcpy(data, cells + offset, size);
    return 0;
}

int board_flash_write(void *ctx, uint32_t offset, const void *data, size_t size)
{
    const uint8_t *src = data;
    size_t i;
    (void)ctx;
    for (i = 0; i < size; i++) {
        cells[offset + i] &= src[i];
    }
    return 0;
}

int board_flash_erase(void *ctx, uint32_t offset)
{
    (void)ctx;
    memset(cells + offset, 0xff, FWU_CAPI_SECTOR_SIZE);
    return 0;
}

void board_reset(void *ctx)
{
    (void)ctx;
    resets++;
}

bool board_self_test(void)
{
    return self_test_passes;
}

const uint8_t *board_trusted_key(void)
{
    return key;
}

/* The transport: serves `image`, failing once when `fail_at` is reached. */
static uint8_t image[200000];
static size_t image_len;
static size_t fail_at = (size_t)-1;

long transport_read(size_t offset, void *buf, size_t size)
{
    size_t n;
    if (offset >= fail_at) {
        fail_at = (size_t)-1;
        return -1;
    }
    if (offset >= image_len) {
        return 0;
    }
    n = image_len - offset < size ? image_len - offset : size;
    memcpy(buf, image + offset, n);
    return (long)n;
}

static void make(uint8_t major, uint32_t size, uint8_t seed)
{
    fwu_sim_image_spec_t spec;
    memset(&spec, 0, sizeof spec);
    spec.version.major = major;
    spec.security_counter = major;
    spec.size = size;
    spec.seed = seed;
    EXPECT(fwu_sim_make_image(&spec, image, sizeof image, &image_len), PSA_SUCCESS);
}

static unsigned state(void)
{
    psa_fwu_component_info_t info;
    EXPECT(psa_fwu_query(0, &info), PSA_SUCCESS);
    return info.state;
}

int main(void)
{
    psa_fwu_component_info_t info;
    memset(cells, 0xff, sizeof cells);
    EXPECT(fwu_sim_dev_public_key(key), PSA_SUCCESS);
    make(1, 50000, 1);
    memcpy(cells + 0x10000, image, image_len); /* factory image */

    section("example client: start-up");
    EXPECT(update_init(), PSA_SUCCESS);
    EXPECT(update_after_boot(), PSA_SUCCESS);
    CHECK(state() == PSA_FWU_READY);

    section("example client: interrupted download, resumed, installed, reboot requested");
    make(2, 150000, 2);
    fail_at = 40000;
    EXPECT(update_run(), PSA_ERROR_COMMUNICATION_FAILURE);
    EXPECT(psa_fwu_query(0, &info), PSA_SUCCESS);
    CHECK(info.state == PSA_FWU_WRITING && info.impl.resume_offset > 0);
    EXPECT(update_init(), PSA_SUCCESS); /* a power cycle in between */
    EXPECT(update_run(), PSA_SUCCESS);
    CHECK(resets == 1);
    CHECK(state() == PSA_FWU_STAGED);
    /* Without a bootloader here, abandon the staged install as a client may. */
    EXPECT(psa_fwu_reject(0), PSA_SUCCESS);
    EXPECT(update_after_boot(), PSA_SUCCESS); /* FAILED: cleaned */
    CHECK(state() == PSA_FWU_READY);

    section("example client: a tampered image is refused at finish and erased");
    make(3, 20000, 3);
    image[1000] ^= 1;
    EXPECT(update_run(), PSA_ERROR_INVALID_SIGNATURE);
    CHECK(state() == PSA_FWU_READY);
    CHECK(resets == 1);

    section("example client: a downgrade is refused");
    make(0, 20000, 4); /* 0.0.0 below the active 1.0.0 */
    EXPECT(update_run(), PSA_ERROR_NOT_PERMITTED);
    CHECK(state() == PSA_FWU_READY);
    return summary("example-client");
}
