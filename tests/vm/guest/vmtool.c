/* vmtool — tiny static helper for the guest of tests/vm (built by setup.sh).
 *
 *   vmtool write PATH VALUE   open(PATH, O_WRONLY) + one write(VALUE); no newline added
 *   vmtool open PATH          open(PATH, O_RDWR) and close it
 *   vmtool hold PATH          open(PATH, O_RDWR), print "held", then sleep until killed
 *   vmtool vfio-hold GROUP DEV  open /dev/vfio/vfio and GROUP (/dev/vfio/N), attach the
 *                             group to the container, set the type1 IOMMU, get DEV's device
 *                             fd (VFIO_GROUP_GET_DEVICE_FD: an mdev UUID or a PCI address),
 *                             print "held", then sleep until killed -- what a VM does
 *   vmtool pty CMD [ARG...]   run CMD on a new pseudo-terminal (its stdin, stdout and
 *                             stderr; busybox has no `script`): what vmtool reads on its
 *                             stdin goes to the terminal, what CMD prints comes out on
 *                             vmtool's stdout (with the terminal's \r\n and echo); exits
 *                             with CMD's status (128+N if killed by signal N)
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
#include <poll.h>
#include <pty.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/vfio.h>

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
    if (argc == 4 && !strcmp(argv[1], "vfio-hold")) {
        int c = open("/dev/vfio/vfio", O_RDWR);
        if (c < 0) return fail("open", "/dev/vfio/vfio");
        int g = open(argv[2], O_RDWR);
        if (g < 0) return fail("open", argv[2]);
        struct vfio_group_status st = { .argsz = sizeof st };
        if (ioctl(g, VFIO_GROUP_GET_STATUS, &st) < 0) return fail("VFIO_GROUP_GET_STATUS", argv[2]);
        if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) { printf("NOTVIABLE: group %s is not viable\n", argv[2]); return 1; }
        if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0) return fail("VFIO_GROUP_SET_CONTAINER", argv[2]);
        if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0 && ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) < 0)
            return fail("VFIO_SET_IOMMU", "/dev/vfio/vfio");
        int d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, argv[3]);
        if (d < 0) return fail("VFIO_GROUP_GET_DEVICE_FD", argv[3]);
        printf("held\n"); fflush(stdout);
        for (;;) pause();
    }
    if (argc >= 3 && !strcmp(argv[1], "pty")) {
        int m;
        pid_t pid = forkpty(&m, NULL, NULL, NULL);
        if (pid < 0) return fail("forkpty", argv[2]);
        if (pid == 0) {
            execvp(argv[2], argv + 2);
            fail("exec", argv[2]);
            _exit(127);
        }
        struct pollfd p[2] = { { .fd = m, .events = POLLIN }, { .fd = 0, .events = POLLIN } };
        char buf[4096];
        for (;;) {
            if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
            if (p[0].revents) {
                ssize_t n = read(m, buf, sizeof buf);
                if (n <= 0) break;          /* EIO: the terminal's last holder has gone */
                if (write(1, buf, (size_t)n) < 0) break;
            }
            if (p[1].revents) {
                ssize_t n = read(0, buf, sizeof buf);
                if (n <= 0) p[1].fd = -1;   /* stdin at its end: stop reading it, keep the terminal */
                else if (write(m, buf, (size_t)n) < 0) break;
            }
        }
        int st;
        if (waitpid(pid, &st, 0) < 0) return fail("waitpid", argv[2]);
        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    fprintf(stderr, "usage: vmtool write PATH VALUE | open PATH | hold PATH | vfio-hold GROUP DEV | pty CMD [ARG...]\n");
    return 64;
}
