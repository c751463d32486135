/* A minimal update client in C for a device running fwu: no Rust needed. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fwu/fwu.h"
#include "psa/update.h"

/* From the board support package. */
int board_flash_read(void *ctx, uint32_t offset, void *data, size_t size);
int board_flash_write(void *ctx, uint32_t offset, const void *data, size_t size);
int board_flash_erase(void *ctx, uint32_t offset);
void board_reset(void *ctx);
bool board_self_test(void);
const uint8_t *board_trusted_key(void); /* FWU_PUBLIC_KEY_SIZE bytes, provisioned */
/* From the transport: up to `size` bytes of the new image from `offset` (full blocks until
 * the last), 0 at the end, negative on error. */
long transport_read(size_t offset, void *buf, size_t size);

#define APP ((psa_fwu_component_t)0)

/* The layout the fwu bootloader was built with (4 KiB sectors). */
static const fwu_slot_t slots[] = {
    {APP, 112, 0x00010000u, 0x00080000u}, /* 448 KiB images */
};

psa_status_t update_init(void)
{
    fwu_config_t cfg = {0};
    cfg.flash.read = board_flash_read;
    cfg.flash.write = board_flash_write;
    cfg.flash.erase = board_flash_erase;
    cfg.flash.capacity = 1024u * 1024u;
    cfg.sector_size = FWU_CAPI_SECTOR_SIZE;
    cfg.log2_write_align = PSA_FWU_LOG2_WRITE_ALIGN;
    cfg.slots = slots;
    cfg.slot_count = sizeof slots / sizeof slots[0];
    cfg.state_offset = 0x00000000u; /* 64 KiB before the primary slot: at least */
    cfg.state_size = 0x00010000u;   /* fwu_state_sectors_needed() (8 sectors here) */
    cfg.keys = board_trusted_key();
    cfg.key_count = 1;
    cfg.reset = board_reset;
    return fwu_init(&cfg);
}

/* At start-up: finish what the last reboot began. */
psa_status_t update_after_boot(void)
{
    psa_fwu_component_info_t info;
    psa_status_t status = psa_fwu_query(APP, &info);
    if (status != PSA_SUCCESS) {
        return status;
    }
    switch (info.state) {
    case PSA_FWU_TRIAL: /* the new image runs: keep it, or roll back */
        if (board_self_test()) {
            return psa_fwu_accept();
        }
        status = psa_fwu_reject(PSA_ERROR_GENERIC_ERROR);
        return status == PSA_SUCCESS_REBOOT ? psa_fwu_request_reboot() : status;
    case PSA_FWU_UPDATED: /* erase the previous image */
    case PSA_FWU_FAILED:  /* erase the failed one (info.error says why) */
        return psa_fwu_clean(APP);
    default:
        return PSA_SUCCESS;
    }
}

/* Download (resuming an interrupted download), verify, install and reboot. */
psa_status_t update_run(void)
{
    static uint8_t block[PSA_FWU_MAX_WRITE_SIZE];
    psa_fwu_component_info_t info;
    size_t offset = 0;
    psa_status_t status = psa_fwu_query(APP, &info);
    if (status != PSA_SUCCESS) {
        return status;
    }
    if (info.state == PSA_FWU_READY) {
        status = psa_fwu_start(APP, NULL, 0); /* the manifest is inside the image */
    } else if (info.state == PSA_FWU_WRITING) {
        offset = info.impl.resume_offset;
    } else if (info.state != PSA_FWU_CANDIDATE) {
        return PSA_ERROR_BAD_STATE;
    }
    while (status == PSA_SUCCESS && info.state != PSA_FWU_CANDIDATE) {
        long n = transport_read(offset, block, sizeof block);
        if (n < 0) {
            return PSA_ERROR_COMMUNICATION_FAILURE; /* try again later: the download resumes */
        }
        if (n == 0) {
            status = psa_fwu_finish(APP); /* authenticates the image */
            break;
        }
        status = psa_fwu_write(APP, offset, block, (size_t)n);
        offset += (size_t)n;
    }
    if (status != PSA_SUCCESS) {
        if (psa_fwu_query(APP, &info) == PSA_SUCCESS && info.state == PSA_FWU_FAILED) {
            (void)psa_fwu_clean(APP); /* refused image: erase it */
        }
        return status;
    }
    status = psa_fwu_install();
    return status == PSA_SUCCESS_REBOOT ? psa_fwu_request_reboot() : status;
}
