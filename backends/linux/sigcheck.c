/* sigcheck.c: see sigcheck.h. */
#include "sigcheck.h"

#include <rpm/header.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmcli.h>
#include <rpm/rpmts.h>
#include <stdlib.h>
#include <string.h>

#include "osm_buf.h"
#include "rpmutil.h"

struct osm_keyring {
    rpmKeyring kr;
    rpmts ts;
    size_t n_keys;
};

int osm_keyring_load(const char *const *key_files, size_t n, struct osm_keyring **out, struct osm_err *err)
{
    *out = NULL;
    if (osm_rpm_init(err) < 0)
        return -1;
    struct osm_keyring *k = osm_xcalloc(1, sizeof *k);
    k->kr = rpmKeyringNew();
    for (size_t i = 0; i < n; i++) {
        uint8_t *pkt = NULL;
        size_t pktlen = 0;
        if (pgpReadPkts(key_files[i], &pkt, &pktlen) != PGPARMOR_PUBKEY) {
            free(pkt);
            osm_keyring_free(k);
            return osm_err_set(err, OSM_EINPUT, "%s: not an ASCII-armored OpenPGP public key", key_files[i]);
        }
        rpmPubkey key = rpmPubkeyNew(pkt, pktlen);
        free(pkt);
        if (!key) {
            osm_keyring_free(k);
            return osm_err_set(err, OSM_EINPUT, "%s: rpm cannot use this public key", key_files[i]);
        }
        if (rpmKeyringAddKey(k->kr, key) == 0)
            k->n_keys++;
        int nsub = 0;
        rpmPubkey *subs = rpmGetSubkeys(key, &nsub);
        for (int s = 0; s < nsub; s++) {
            rpmKeyringAddKey(k->kr, subs[s]);
            rpmPubkeyFree(subs[s]);
        }
        free(subs);
        rpmPubkeyFree(key);
    }
    k->ts = rpmtsCreate();
    /* Setting a keyring stops rpm from loading the rpmdb's or the host's keys. */
    rpmtsSetKeyring(k->ts, k->kr);
    rpmtsSetVSFlags(k->ts, 0);
    rpmtsSetVfyLevel(k->ts, RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE);
    *out = k;
    return 0;
}

size_t osm_keyring_count(const struct osm_keyring *kr)
{
    return kr ? kr->n_keys : 0;
}

void osm_keyring_free(struct osm_keyring *k)
{
    if (!k)
        return;
    if (k->ts)
        rpmtsFree(k->ts);
    rpmKeyringFree(k->kr);
    free(k);
}

static int has_signature(Header h)
{
    static const rpmTagVal tags[] = {RPMTAG_RSAHEADER, RPMTAG_DSAHEADER, RPMTAG_SIGPGP, RPMTAG_SIGGPG};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++)
        if (headerIsEntry(h, tags[i]))
            return 1;
    return 0;
}

int osm_sigcheck_package(struct osm_keyring *k, const char *path, const char *label, struct osm_err *err)
{
    const char *who = label ? label : path;
    FD_t fd = Fopen(path, "r.ufdio");
    if (!fd || Ferror(fd)) {
        if (fd)
            Fclose(fd);
        return osm_err_set(err, OSM_EIO, "%s: cannot open %s", who, path);
    }
    struct osm_buf msgs;
    osm_buf_init(&msgs);
    Header h = NULL;
    osm_rpmlog_capture_begin(&msgs);
    rpmRC rc = rpmReadPackageFile(k->ts, fd, path, &h);
    osm_rpmlog_capture_end();
    Fclose(fd);
    int ret = 0;
    if (rc == RPMRC_NOTFOUND) {
        ret = osm_err_set(err, OSM_EINPUT, "%s: %s is not an rpm package", who, path);
    } else if (h && !has_signature(h)) {
        ret = osm_err_set(err, OSM_EINPUT, "%s: package is not signed (%s)", who, path);
    } else if (rc == RPMRC_NOKEY) {
        ret = osm_err_set(err, OSM_EINPUT, "%s: signed with a key that is not among the target's keys: %s", who,
                          msgs.s);
    } else if (rc == RPMRC_NOTTRUSTED) {
        ret = osm_err_set(err, OSM_EINPUT, "%s: signing key is not trusted: %s", who, msgs.s);
    } else if (rc != RPMRC_OK) {
        ret = osm_err_set(err, OSM_EINPUT, "%s: bad signature or digest: %s", who,
                          msgs.len ? msgs.s : "rpm refused the package");
    } else {
        /* The header is good; now the whole package as `rpmkeys -K` checks
         * it: the payload's digests too, so a damaged payload is refused
         * here, before anything changes, not half way into the transaction. */
        char *argv[] = {(char *)path, NULL};
        /* A signed header that carries the payload's digest binds the
         * payload already; the legacy checks over header and payload (MD5,
         * the v3 signatures) would read it twice more for nothing. Without
         * that digest (packages of rpm < 4.14) every check stays on. */
        rpmtsSetVfyFlags(k->ts, headerIsEntry(h, RPMTAG_PAYLOADDIGEST) ? RPMVSF_NOMD5 | RPMVSF_NODSA | RPMVSF_NORSA : 0);
        osm_buf_reset(&msgs);
        osm_rpmlog_capture_begin(&msgs);
        int bad = rpmcliVerifySignatures(k->ts, argv);
        osm_rpmlog_capture_end();
        rpmtsSetVfyFlags(k->ts, 0);
        if (bad)
            ret = osm_err_set(err, OSM_EINPUT, "%s: the package does not verify (payload digest or signature): %s",
                              who, msgs.len ? msgs.s : path);
    }
    headerFree(h);
    osm_buf_free(&msgs);
    return ret;
}
