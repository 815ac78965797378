/*
 * A test-only stand-in for the kernel's reaction to mdev writes on a fixture copy.
 *
 * The fixtures are plain files: writing a UUID into .../mdev_supported_types/<type>/create
 * creates nothing, so `hostdev apply` (which re-reads the host after its writes and verifies
 * it) would always report the plan as not done. Preloaded into hostdev (LD_PRELOAD), this
 * shim runs `$HOSTDEV_FAKE_KERNEL <path>` synchronously whenever hostdev closes a file named
 * `create`, `remove`, `unbind` or `drivers_probe` under `$HOSTDEV_FAKE_KERNEL_ROOT/sys/`,
 * before close() returns; that program (tests/ansible/fake_kernel.py) makes the tree look as
 * the kernel would: the mdev appears (or disappears), the PCI device leaves its driver or
 * binds to its driver_override. Used only by tests/ansible/run.sh.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int close(int fd)
{
    static int (*real_close)(int);
    if (!real_close)
        real_close = (int (*)(int))dlsym(RTLD_NEXT, "close");

    const char *root = getenv("HOSTDEV_FAKE_KERNEL_ROOT");
    const char *prog = getenv("HOSTDEV_FAKE_KERNEL");
    char path[PATH_MAX] = "";
    if (root && prog && fd >= 0) {
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, path, sizeof path - 1);
        path[n > 0 ? n : 0] = '\0';
    }
    int rc = real_close(fd);
    if (path[0] == '\0')
        return rc;

    char sys[PATH_MAX];
    size_t len = strlen(root);
    while (len > 0 && root[len - 1] == '/')
        len--; /* "/" (a chroot's own root) or "/tmp/x/" */
    snprintf(sys, sizeof sys, "%.*s/sys/", (int)len, root);
    if (strncmp(path, sys, strlen(sys)) != 0 ||
        !(ends_with(path, "/create") || ends_with(path, "/remove") || ends_with(path, "/unbind") ||
          ends_with(path, "/drivers_probe")))
        return rc;

    /* The child gets hostdev's environment without LD_PRELOAD. */
    size_t count = 0;
    while (environ[count])
        count++;
    char **env = calloc(count + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0)
            env[k++] = environ[i];
    char *argv[] = {(char *)prog, path, NULL};
    pid_t pid;
    if (posix_spawn(&pid, prog, NULL, NULL, argv, env) == 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
            ;
    } else {
        fprintf(stderr, "fake-kernel: cannot run %s\n", prog);
    }
    free(env);
    return rc;
}
