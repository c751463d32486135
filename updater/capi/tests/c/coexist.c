/*
 * psa/update.h next to a platform psa/error.h: compiled by scripts/capi-test.sh with
 * -DERROR_H_FIRST in C99 (the documented order) and without it in C11 (update.h first: the
 * repeated typedef is legal C11, and every macro must be an identical redefinition). Also
 * compiled as C++ to check the extern "C" blocks.
 */
#ifdef ERROR_H_FIRST
#include "psa_error_like.h"
#include "psa/update.h"
#else
#include "psa/update.h"
#include "psa_error_like.h"
#endif
#include "fwu/fwu.h"
#include "fwu/fwu_sim.h"

int main(void)
{
    return (PSA_ERROR_BAD_STATE == -137 && PSA_ERROR_DEPENDENCY_NEEDED == -156 &&
            sizeof(psa_fwu_component_info_t) == 68)
               ? 0
               : 1;
}
