/* CHECK(condition): print the failing line and count it; the programs exit with the count. */
#ifndef WSEMU_TEST_CHECK_H
#define WSEMU_TEST_CHECK_H
#include <stdio.h>

static int failures;
#define CHECK(cond) do {                                                            \
        if (!(cond)) {                                                              \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                  \
            failures++;                                                             \
        }                                                                           \
    } while (0)
/* an SPI call that must fail with `code` in its lpErrno */
#define CHECK_FAILS(call, failure, code) do {                                       \
        err = 0;                                                                    \
        CHECK((call) == (failure));                                                 \
        if (err != (code))                                                          \
            printf("FAIL %s:%d: %s: lpErrno %d, not %d\n", __FILE__, __LINE__, #call, \
                   err, (code)), failures++;                                        \
    } while (0)
#endif
