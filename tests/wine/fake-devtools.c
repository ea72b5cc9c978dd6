/* A stand-in for Edge's DevTools pipe, for the agent's Windows unit tests under Wine
 * (src/render/chromium/browser.rs): finds --remote-debugging-io-pipes=READ,WRITE among
 * its arguments, and answers every NUL-terminated message it reads there whose text
 * holds "id":N with {"id":N,"result":{"product":"fake-devtools"}} and a NUL, until the
 * pipe closes. Built by tests/wine/prefix.sh. */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    HANDLE in = NULL, out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *prefix = "--remote-debugging-io-pipes=";
        if (strncmp(argv[i], prefix, strlen(prefix)) == 0) {
            unsigned long long r = 0, w = 0;
            if (sscanf(argv[i] + strlen(prefix), "%llu,%llu", &r, &w) == 2) {
                in = (HANDLE)(ULONG_PTR)r;
                out = (HANDLE)(ULONG_PTR)w;
            }
        }
    }
    if (in == NULL || out == NULL) {
        fprintf(stderr, "no --remote-debugging-io-pipes\n");
        return 2;
    }
    char message[65536];
    size_t used = 0;
    for (;;) {
        char c;
        DWORD got = 0;
        if (!ReadFile(in, &c, 1, &got, NULL) || got == 0) {
            return 0;
        }
        if (c != '\0') {
            if (used < sizeof(message) - 1) {
                message[used++] = c;
            }
            continue;
        }
        message[used] = '\0';
        used = 0;
        const char *id = strstr(message, "\"id\":");
        if (id == NULL) {
            continue;
        }
        char answer[128];
        int n = snprintf(answer, sizeof(answer),
                         "{\"id\":%lld,\"result\":{\"product\":\"fake-devtools\"}}",
                         atoll(id + 5));
        DWORD wrote = 0;
        if (!WriteFile(out, answer, (DWORD)n + 1, &wrote, NULL)) {
            return 1;
        }
    }
}
