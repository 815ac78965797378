/* vmtool — tiny static helper for the guest of tests/vm (built by setup.sh).
 *
 *   vmtool write PATH VALUE   open(PATH, O_WRONLY) + one write(VALUE); no newline added
 *   vmtool open PATH          open(PATH, O_RDWR) and close it
 *   vmtool hold PATH          open(PATH, O_RDWR), print "held", then sleep until killed
 *
 * On success prints nothing (hold prints "held") and exits 0. On failure prints
 * "ERRNO_NAME: strerror" (e.g. "ENOSPC: No space left on device") and the failing
 * syscall to stdout and exits 1. Unlike a shell redirect, the errno is reported
 * exactly, which is what the cases pin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, const char *path) {
    int e = errno;
    const char *n = strerrorname_np(e);
    printf("%s: %s (%s %s)\n", n ? n : "E?", strerror(e), what, path);
    return 1;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "write")) {
        int fd = open(argv[2], O_WRONLY);
        if (fd < 0) return fail("open", argv[2]);
        size_t len = strlen(argv[3]);
        ssize_t n = write(fd, argv[3], len);
        if (n < 0) { fail("write", argv[2]); close(fd); return 1; }
        if ((size_t)n != len) { printf("SHORT: wrote %zd of %zu bytes (write %s)\n", n, len, argv[2]); close(fd); return 1; }
        if (close(fd) < 0) return fail("close", argv[2]);
        return 0;
    }
    if (argc == 3 && (!strcmp(argv[1], "open") || !strcmp(argv[1], "hold"))) {
        int fd = open(argv[2], O_RDWR);
        if (fd < 0) return fail("open", argv[2]);
        if (!strcmp(argv[1], "open")) { close(fd); return 0; }
        printf("held\n"); fflush(stdout);
        for (;;) pause();
    }
    fprintf(stderr, "usage: vmtool write PATH VALUE | open PATH | hold PATH\n");
    return 64;
}
