/* Minimal check helpers for the C tests of fwu-capi (one translation unit per program). */
#ifndef FWU_CAPI_TEST_CHECK_H
#define FWU_CAPI_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "psa/update.h"

static int checks_passed;
static int checks_failed;
/* PSA_ERROR_NOT_SUPPORTED is never a valid answer from a psa_fwu_* function in fwu (every
 * function is implemented): every status they return is screened. */
static int saw_not_supported;

static const char *status_name(psa_status_t s)
{
    switch (s) {
    case PSA_SUCCESS: return "PSA_SUCCESS";
    case PSA_SUCCESS_REBOOT: return "PSA_SUCCESS_REBOOT";
    case PSA_SUCCESS_RESTART: return "PSA_SUCCESS_RESTART";
    case PSA_ERROR_NOT_PERMITTED: return "PSA_ERROR_NOT_PERMITTED";
    case PSA_ERROR_NOT_SUPPORTED: return "PSA_ERROR_NOT_SUPPORTED";
    case PSA_ERROR_INVALID_ARGUMENT: return "PSA_ERROR_INVALID_ARGUMENT";
    case PSA_ERROR_BAD_STATE: return "PSA_ERROR_BAD_STATE";
    case PSA_ERROR_DOES_NOT_EXIST: return "PSA_ERROR_DOES_NOT_EXIST";
    case PSA_ERROR_CONNECTION_BUSY: return "PSA_ERROR_CONNECTION_BUSY";
    case PSA_ERROR_BUFFER_TOO_SMALL: return "PSA_ERROR_BUFFER_TOO_SMALL";
    case PSA_ERROR_INSUFFICIENT_STORAGE: return "PSA_ERROR_INSUFFICIENT_STORAGE";
    case PSA_ERROR_STORAGE_FAILURE: return "PSA_ERROR_STORAGE_FAILURE";
    case PSA_ERROR_INVALID_SIGNATURE: return "PSA_ERROR_INVALID_SIGNATURE";
    case PSA_ERROR_DATA_CORRUPT: return "PSA_ERROR_DATA_CORRUPT";
    case PSA_ERROR_DEPENDENCY_NEEDED: return "PSA_ERROR_DEPENDENCY_NEEDED";
    default: return "(other)";
    }
}

static void check_(int ok, const char *what, const char *file, int line)
{
    if (ok) {
        checks_passed++;
    } else {
        checks_failed++;
        printf("FAIL %s:%d: %s\n", file, line, what);
    }
}

static void expect_(psa_status_t got, psa_status_t want, const char *call, const char *file,
                    int line)
{
    if (got == PSA_ERROR_NOT_SUPPORTED && strncmp(call, "psa_fwu_", 8) == 0) {
        saw_not_supported = 1;
    }
    if (got == want) {
        checks_passed++;
    } else {
        checks_failed++;
        printf("FAIL %s:%d: %s returned %s (%ld), expected %s (%ld)\n", file, line, call,
               status_name(got), (long)got, status_name(want), (long)want);
    }
}

/* CHECK(condition) */
#define CHECK(cond) check_(!!(cond), #cond, __FILE__, __LINE__)
/* EXPECT(call, expected psa_status_t) */
#define EXPECT(call, want) expect_((call), (want), #call, __FILE__, __LINE__)

static void section(const char *name)
{
    printf("-- %s\n", name);
}

/* The closing line the test script sums up. */
static int summary(const char *program)
{
    CHECK(!saw_not_supported);
    printf("%s: %d passed, %d failed\n", program, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif /* FWU_CAPI_TEST_CHECK_H */
