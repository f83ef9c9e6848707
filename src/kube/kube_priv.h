/* kube_priv: helpers shared by kubeconfig.c and client.c only. */
#ifndef VX_KUBE_PRIV_H
#define VX_KUBE_PRIV_H

#include <stddef.h>

/* snprintf into a caller's error buffer; a NULL or empty buffer is fine. */
void kube_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
