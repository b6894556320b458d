/*  sf_metrics: Prometheus text of the coordinator's counters. */
#include "coordinator/sf_metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sf_error.h"

typedef struct {
    char *text;
    size_t used, size, max;
    bool bare, failed;
} s_out_t;

static void
s_printf (s_out_t *o, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_printf (s_out_t *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (o->text + o->used, o->size - o->used, fmt, ap);
        va_end (ap);
        if (n < 0) {
            o->failed = true;
            return;
        }
        if (o->used + (size_t) n < o->size) {
            o->used += (size_t) n;
            return;
        }
        size_t grown = o->size * 2;
        if (o->used + (size_t) n + 1 > o->max || grown > o->max + 1)
            grown = o->max + 1;
        if (o->used + (size_t) n + 1 > grown) {
            o->failed = true;
            return;
        }
        char *text = realloc (o->text, grown);
        if (!text) {
            o->failed = true;
            return;
        }
        o->text = text;
        o->size = grown;
    }
}

/*  # HELP and # TYPE of a metric family. */
static void
s_family (s_out_t *o, const char *name, const char *type, const char *help)
{
    if (!o->bare)
        s_printf (o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*  A label value with \, " and newlines escaped, into buf. */
static const char *
s_label (const char *value, char *buf, size_t size)
{
    size_t n = 0;
    for (const char *p = value; *p && n + 3 < size; p++) {
        if (*p == '\\' || *p == '"') {
            buf[n++] = '\\';
            buf[n++] = *p;
        } else if (*p == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else
            buf[n++] = *p;
    }
    buf[n] = '\0';
    return buf;
}

/*  A number as Prometheus writes it (NaN as NaN). */
static void
s_value (s_out_t *o, const char *series, double v)
{
    if (isnan (v))
        s_printf (o, "%s NaN\n", series);
    else
        s_printf (o, "%s %.10g\n", series, v);
}

char *
sf_metrics_text (const sf_metrics_t *m, bool bare, size_t max_bytes)
{
    s_out_t o = { malloc (4096), 0, 4096, max_bytes, bare, false };
    if (!o.text) {
        sf_error_set (SF_ERR_NOMEM, "out of memory");
        return NULL;
    }
    o.text[0] = '\0';
    s_family (&o, "spmmfarm_up", "gauge", "1 while the coordinator answers");
    s_value (&o, "spmmfarm_up", 1);
    s_family (&o, "spmmfarm_uptime_seconds", "gauge", "seconds since the coordinator started");
    s_value (&o, "spmmfarm_uptime_seconds", m->uptime_s);

    static const char *states[SF_METRICS_STATES] = { "queued", "running", "done", "failed", "cancelled",
                                                     "done_with_failures" };
    s_family (&o, "spmmfarm_campaigns", "gauge", "campaigns in the store, by state");
    for (int i = 0; i < SF_METRICS_STATES; i++)
        s_printf (&o, "spmmfarm_campaigns{state=\"%s\"} %lld\n", states[i], (long long) m->campaigns[i]);
    s_family (&o, "spmmfarm_jobs", "gauge",
              "jobs by state: pending (queued for a worker) and leased (held by one) now; done and failed over "
              "every campaign in the store");
    s_printf (&o, "spmmfarm_jobs{state=\"pending\"} %lld\n", (long long) m->jobs_pending);
    s_printf (&o, "spmmfarm_jobs{state=\"leased\"} %lld\n", (long long) m->jobs_leased);
    s_printf (&o, "spmmfarm_jobs{state=\"done\"} %lld\n", (long long) m->jobs_done);
    s_printf (&o, "spmmfarm_jobs{state=\"failed\"} %lld\n", (long long) m->jobs_failed);
    s_family (&o, "spmmfarm_queue_depth", "gauge", "jobs waiting for a worker");
    s_printf (&o, "spmmfarm_queue_depth %lld\n", (long long) m->jobs_pending);
    s_family (&o, "spmmfarm_leases_active", "gauge", "leases held by workers now");
    s_printf (&o, "spmmfarm_leases_active %lld\n", (long long) m->jobs_leased);

    s_family (&o, "spmmfarm_leases_total", "counter", "jobs leased to workers since the start");
    s_printf (&o, "spmmfarm_leases_total %llu\n", (unsigned long long) m->leases_total);
    s_family (&o, "spmmfarm_requeued_total", "counter", "leases requeued: expired, or their worker left or was lost");
    s_printf (&o, "spmmfarm_requeued_total %llu\n", (unsigned long long) m->requeued_total);
    s_family (&o, "spmmfarm_results_total", "counter", "results accepted since the start");
    s_printf (&o, "spmmfarm_results_total %llu\n", (unsigned long long) m->results_total);
    s_family (&o, "spmmfarm_results_per_second", "gauge", "results accepted per second, averaged since the start");
    s_value (&o, "spmmfarm_results_per_second",
             m->uptime_s > 0 ? (double) m->results_total / m->uptime_s : 0.0);
    s_family (&o, "spmmfarm_stale_total", "counter", "results or failures for a lease no longer current");
    s_printf (&o, "spmmfarm_stale_total %llu\n", (unsigned long long) m->stale_total);
    s_family (&o, "spmmfarm_dropped_messages_total", "counter", "malformed messages dropped");
    s_printf (&o, "spmmfarm_dropped_messages_total %llu\n", (unsigned long long) m->dropped_total);
    s_family (&o, "spmmfarm_lease_latency_ms", "gauge",
              "milliseconds from a worker's READY (or a job's queueing) to its JOB, quantiles over the leases");
    s_value (&o, "spmmfarm_lease_latency_ms{quantile=\"0.5\"}", m->lease_p50_ms);
    s_value (&o, "spmmfarm_lease_latency_ms{quantile=\"0.99\"}", m->lease_p99_ms);

    s_family (&o, "spmmfarm_workers", "gauge", "workers the coordinator knows, by GPU type and state");
    for (size_t i = 0; i < m->worker_groups; i++) {
        char gpu[512];
        s_printf (&o, "spmmfarm_workers{gpu_type=\"%s\",state=\"%s\"} %lld\n",
                  s_label (m->workers[i].gpu_type, gpu, sizeof gpu), m->workers[i].state,
                  (long long) m->workers[i].count);
    }
    s_family (&o, "spmmfarm_store_bytes", "gauge", "bytes of the store's pages in use");
    s_printf (&o, "spmmfarm_store_bytes %lld\n", (long long) m->store_bytes);
    s_family (&o, "spmmfarm_store_map_bytes", "gauge", "the store's memory map (its largest size)");
    s_printf (&o, "spmmfarm_store_map_bytes %lld\n", (long long) m->store_map_bytes);
    if (o.failed) {
        free (o.text);
        sf_error_set (SF_ERR_RANGE, "the metrics exceed %zu bytes", max_bytes);
        return NULL;
    }
    return o.text;
}
