/*  sf_hello: the HELLO of this process. */
#include "worker/sf_hello.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/sf_error.h"
#include "proxygen/sf_jit.h"
#include "worker/sf_measure.h"
#include "worker/sf_sim.h"

void
sf_hello_name_chars (char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || strchr ("._:@/+-", *s)))
            *s = '-';
}

/*  A random token of this process for HELLO's session: a reconnect keeps
    its leases, another process with the same id does not. */
void
sf_hello_session (char *out, size_t size)
{
    unsigned char bytes[16];
    int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && read (fd, bytes, sizeof bytes) == (ssize_t) sizeof bytes;
    if (fd >= 0)
        close (fd);
    if (!ok) {  /* no /dev/urandom: the clock and the pid, still unique enough */
        uint64_t a = (uint64_t) zclock_usecs (), b = (uint64_t) getpid () * 0x9e3779b97f4a7c15ull;
        memcpy (bytes, &a, 8);
        memcpy (bytes + 8, &b, 8);
    }
    if (size > 0)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof bytes && 2 * i + 2 < size; i++)
        snprintf (out + 2 * i, 3, "%02x", bytes[i]);
}

int
sf_hello_describe (sf_backend backend, int gpu, int compile_threads, int capacity, const char *worker_id,
                   sf_proto_hello_t *h)
{
    memset (h, 0, sizeof *h);
    sf_device_info_t info;
    if (backend == SF_BACKEND_SIM)
        sf_sim_device (&info);
    else {
        /* The measuring child opens the GPU: this process never calls cuInit
           (it forks that child, worker/sf_measure.h). */
        sf_measure_opts_t mo = { NULL, 0, 0 };
        sf_measure_t *child = sf_measure_new (gpu, &mo, false);
        if (!child)
            return sf_error_last ();
        info = *sf_measure_info (child);
        sf_measure_destroy (&child);
    }
    char host[SF_PROTO_HOST_MAX + 1] = "";
    if (gethostname (host, sizeof host - 1) != 0 || !host[0])
        snprintf (host, sizeof host, "localhost");
    for (char *p = host; *p; p++)
        if ((unsigned char) *p < 0x20 || *p == 0x7f)
            *p = '?';
    snprintf (h->hostname, sizeof h->hostname, "%s", host);
    h->pid = (int32_t) getpid ();
    h->gpu = gpu;
    snprintf (h->gpu_type, sizeof h->gpu_type, "%s", info.gpu_type);
    snprintf (h->gpu_name, sizeof h->gpu_name, "%s", info.name);
    h->sm_count = info.sm_count;
    h->cc_major = info.cc_major;
    h->cc_minor = info.cc_minor;
    snprintf (h->driver, sizeof h->driver, "%s", info.driver_version_str);
    snprintf (h->toolkit, sizeof h->toolkit, "%s", sf_jit_version ());
    snprintf (h->backend, sizeof h->backend, "%s", backend == SF_BACKEND_SIM ? "sim" : "cuda");
    long cpus = sysconf (_SC_NPROCESSORS_ONLN);
    int threads = compile_threads > 0 ? compile_threads : cpus > 0 ? (int) cpus : 1;
    h->compile_threads = threads > 4096 ? 4096 : threads;
    h->capacity = capacity;
    sf_hello_session (h->session, sizeof h->session);
    if (worker_id)
        snprintf (h->worker_id, sizeof h->worker_id, "%s", worker_id);
    else {
        char tail[48];
        snprintf (tail, sizeof tail, ":gpu%d:%d", gpu, (int) h->pid);
        host[strcspn (host, ".")] = '\0';  /* the short name */
        host[SF_PROTO_ID_MAX - strlen (tail)] = '\0';
        snprintf (h->worker_id, sizeof h->worker_id, "%s%s", host, tail);
    }
    sf_hello_name_chars (h->worker_id);
    return SF_OK;
}
