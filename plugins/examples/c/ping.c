/*
 * A plugin in C: GET /plugins/c-ping/ping answers {"data": {"pong": true}}.
 *
 *   cc -shared -fPIC -I plugins/sdk/include -o libc_ping.so plugins/examples/c/ping.c
 *
 * A real plugin would parse the request JSON with a JSON library; this one needs nothing of it.
 */
#include <stdlib.h>
#include <string.h>

#include "escalated_plugin.h"

static const char MANIFEST[] =
    "{\"slug\": \"c-ping\", \"name\": \"C ping\", \"version\": \"1.0.0\","
    " \"host_versions\": \">=0.1, <1\","
    " \"endpoints\": [{\"method\": \"GET\", \"path\": \"/ping\", \"summary\": \"Ping\","
    " \"ability\": \"tickets:read\"}]}";

/* Buffers handed to the host are malloc'ed here and freed by esc_free below. */
static int32_t answer(EscBuf *out, const char *json, int32_t status) {
    size_t len = strlen(json);
    out->ptr = malloc(len);
    if (out->ptr == NULL) {
        out->len = 0;
        return ESC_STATUS_ERROR;
    }
    memcpy(out->ptr, json, len);
    out->len = len;
    return status;
}

static int32_t esc_manifest(EscBuf *out) { return answer(out, MANIFEST, ESC_STATUS_OK); }

static int32_t esc_create(const EscHostApi *host, void **instance, EscBuf *out) {
    if (host == NULL || host->abi_version != ESC_ABI_VERSION) {
        return answer(out, "{\"error\": \"unsupported host ABI\"}", ESC_STATUS_ERROR);
    }
    *instance = (void *)host; /* this plugin keeps no state of its own */
    out->ptr = NULL;
    out->len = 0;
    return ESC_STATUS_OK;
}

static int32_t esc_handle(void *instance, const uint8_t *request, size_t len, EscBuf *out) {
    (void)instance;
    (void)request;
    (void)len;
    return answer(out, "{\"status\": 200, \"body\": {\"pong\": true}}", ESC_STATUS_OK);
}

static void esc_free(EscBuf buf) { free(buf.ptr); }

const EscPluginEntry ESCALATED_PLUGIN_ENTRY = {
    ESC_ABI_VERSION, sizeof(EscPluginEntry), esc_manifest, esc_create, esc_handle, NULL, esc_free,
};
