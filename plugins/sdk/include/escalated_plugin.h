/*
 * Escalated native plugin ABI, version 1 (docs/plugins.md).
 * The Rust definition in plugins/sdk/src/abi.rs is authoritative; this header mirrors it.
 *
 * Everything crossing the boundary is UTF-8 JSON in an EscBuf. Whoever allocated a buffer
 * frees it: buffers the plugin returns are freed by the host through EscPluginEntry.free,
 * buffers a host callback returns are freed by the plugin through EscHostApi.free.
 */
#ifndef ESCALATED_PLUGIN_H
#define ESCALATED_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define ESC_ABI_VERSION 1
#define ESC_ENTRY_SYMBOL "ESCALATED_PLUGIN_ENTRY"

#define ESC_STATUS_OK 0    /* out: the result (JSON), or empty */
#define ESC_STATUS_ERROR 1 /* out: {"error": "..."} or empty */
#define ESC_STATUS_PANIC 2 /* the callee crashed but caught it; out as for ERROR */

typedef struct EscBuf {
    uint8_t *ptr; /* NULL when empty */
    size_t len;
} EscBuf;

/* Every host callback: JSON in, JSON out (host-allocated; free it with EscHostApi.free). */
typedef int32_t (*EscHostFn)(void *ctx, const uint8_t *input, size_t input_len, EscBuf *out);

typedef struct EscHostApi {
    uint32_t abi_version;
    uint32_t size; /* sizeof as the host compiled it: a field is present if it ends within size */
    void *ctx;     /* pass back as the first argument of every callback */
    void (*free)(EscBuf buf);
    EscHostFn log;                 /* {"level", "message"} -> {} */
    EscHostFn kv_get;              /* {"key"} -> {"found", "value"} */
    EscHostFn kv_set;              /* {"key", "value"} -> {} */
    EscHostFn kv_delete;           /* {"key"} -> {"deleted"} */
    EscHostFn kv_list;             /* {"prefix", "after", "limit"} -> {"entries", "next"} */
    EscHostFn ticket_get;          /* {"reference"} -> ticket */
    EscHostFn ticket_list;         /* GET /tickets query as an object -> {"data", "meta"} */
    EscHostFn ticket_add_reply;    /* {"reference", "body"} -> reply */
    EscHostFn ticket_add_note;     /* {"reference", "body"} -> note */
    EscHostFn ticket_set_status;   /* {"reference", "status"} -> ticket */
    EscHostFn ticket_set_priority; /* {"reference", "priority"} -> ticket */
    EscHostFn ticket_set_tags;     /* {"reference", "add", "remove"} -> ticket */
} EscHostApi;

typedef struct EscPluginEntry {
    uint32_t abi_version; /* ESC_ABI_VERSION */
    uint32_t size;        /* sizeof(EscPluginEntry) */
    int32_t (*manifest)(EscBuf *out);
    int32_t (*create)(const EscHostApi *host, void **instance, EscBuf *out);
    int32_t (*handle)(void *instance, const uint8_t *request, size_t len, EscBuf *out);
    int32_t (*on_event)(void *instance, const uint8_t *event, size_t len, EscBuf *out); /* may be NULL */
    void (*free)(EscBuf buf);
} EscPluginEntry;

#endif
