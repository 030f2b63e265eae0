/* MD5 and SHA-256 through OpenSSL's EVP interface (libcrypto). */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "download_internal.h"

const char *simclr_digest_name(simclr_digest_kind kind) { return kind == SIMCLR_DIGEST_MD5 ? "md5" : "sha256"; }

int simclr_digest_begin(simclr_digest *digest, simclr_digest_kind kind, simclr_error *err)
{
    digest->kind = kind;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    const EVP_MD *algorithm = kind == SIMCLR_DIGEST_MD5 ? EVP_md5() : EVP_sha256();
    if (!context || !algorithm || EVP_DigestInit_ex(context, algorithm, NULL) != 1) {
        EVP_MD_CTX_free(context);
        digest->context = NULL;
        return simclr_error_set(err, SIMCLR_ERROR_KIND_RESOURCE, "OpenSSL cannot start a %s digest",
                                simclr_digest_name(kind));
    }
    digest->context = context;
    return 0;
}

void simclr_digest_update(simclr_digest *digest, const void *bytes, size_t size)
{
    if (size > 0) EVP_DigestUpdate((EVP_MD_CTX *)digest->context, bytes, size);
}

void simclr_digest_end(simclr_digest *digest, char *hex)
{
    unsigned char value[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex((EVP_MD_CTX *)digest->context, value, &length);
    for (unsigned int i = 0; i < length; i++) snprintf(hex + 2 * i, 3, "%02x", value[i]);
    hex[2 * length] = '\0';
    simclr_digest_abort(digest);
}

void simclr_digest_abort(simclr_digest *digest)
{
    EVP_MD_CTX_free((EVP_MD_CTX *)digest->context);
    digest->context = NULL;
}

int simclr_digest_file(const char *path, simclr_digest_kind kind, char *hex, simclr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (!file) return simclr_error_system(err, "cannot open %s to check its %s", path, simclr_digest_name(kind));
    simclr_digest digest;
    if (simclr_digest_begin(&digest, kind, err) != 0) {
        fclose(file);
        return -1;
    }
    unsigned char buffer[1 << 16];
    size_t got;
    while ((got = fread(buffer, 1, sizeof buffer, file)) > 0) simclr_digest_update(&digest, buffer, got);
    if (ferror(file)) {
        int saved = errno;
        simclr_digest_abort(&digest);
        fclose(file);
        errno = saved;
        return simclr_error_system(err, "cannot read %s to check its %s", path, simclr_digest_name(kind));
    }
    fclose(file);
    simclr_digest_end(&digest, hex);
    return 0;
}
