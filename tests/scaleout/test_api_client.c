/* test_api_client.c: the fleet API client's own checks, before any server
 * answers: where credentials come from (options, environment, a 0600 file;
 * a group- or world-readable file is refused), which server URLs it takes,
 * how queries are encoded, and that a server nobody listens on is an error
 * naming the URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_client.h"
#include "osm_fs.h"
#include "testutil.h"

static char work[OSM_TEST_DIR_MAX];

static int setup(void **state)
{
    (void)state;
    if (osm_test_mkdtemp(work, "apiclient") != 0)
        return -1;
    /* The credentials file is looked for under $HOME. */
    setenv("HOME", work, 1);
    unsetenv("OSMIG_ACCESS_KEY_ID");
    unsetenv("OSMIG_ACCESS_KEY_SECRET");
    unsetenv("OSMIG_SERVER");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return osm_remove_tree(work, NULL);
}

static char *write_creds(const char *text, mode_t mode)
{
    char *dir = osm_xasprintf("%s/.config/osmig", work);
    assert_int_equal(osm_mkdir_p(dir, 0700, NULL), 0);
    char *path = osm_xasprintf("%s/credentials", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
    free(dir);
    return path;
}

static void creds_come_from_options_then_environment_then_the_file(void **state)
{
    (void)state;
    struct osm_api_creds c;
    struct osm_err err = OSM_ERR_INIT;
    char *path = write_creds("# made by osmig key create\nkey_id = OSMFILE\nsecret=file-secret\n", 0600);

    assert_int_equal(osm_api_creds_resolve(NULL, NULL, &c, &err), 0);
    assert_string_equal(c.key_id, "OSMFILE");
    assert_string_equal(c.secret, "file-secret");
    osm_api_creds_free(&c);

    setenv("OSMIG_ACCESS_KEY_ID", "OSMENV", 1);
    setenv("OSMIG_ACCESS_KEY_SECRET", "env-secret", 1);
    assert_int_equal(osm_api_creds_resolve(NULL, NULL, &c, &err), 0);
    assert_string_equal(c.key_id, "OSMENV");
    assert_string_equal(c.secret, "env-secret");
    osm_api_creds_free(&c);

    assert_int_equal(osm_api_creds_resolve("OSMOPT", "opt-secret", &c, &err), 0);
    assert_string_equal(c.key_id, "OSMOPT");
    assert_string_equal(c.secret, "opt-secret");
    osm_api_creds_free(&c);

    /* Half of a pair never borrows the other half from elsewhere. */
    assert_int_equal(osm_api_creds_resolve("OSMOPT", NULL, &c, &err), -1);
    assert_int_equal(err.code, OSM_EUSAGE);
    assert_non_null(strstr(err.msg, "--key-secret"));
    unsetenv("OSMIG_ACCESS_KEY_SECRET");
    assert_int_equal(osm_api_creds_resolve(NULL, NULL, &c, &err), -1);
    assert_non_null(strstr(err.msg, "OSMIG_ACCESS_KEY_SECRET is not"));
    unsetenv("OSMIG_ACCESS_KEY_ID");

    /* Nothing anywhere: the message says every way to give them. */
    unlink(path);
    assert_int_equal(osm_api_creds_resolve(NULL, NULL, &c, &err), -1);
    assert_non_null(strstr(err.msg, "--key-id"));
    assert_non_null(strstr(err.msg, "OSMIG_ACCESS_KEY_ID"));
    assert_non_null(strstr(err.msg, path));
    free(path);
}

static void a_credentials_file_others_can_read_is_refused(void **state)
{
    (void)state;
    struct osm_api_creds c;
    struct osm_err err = OSM_ERR_INIT;
    static const mode_t modes[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char *path = write_creds("key_id=OSMFILE\nsecret=s\n", modes[i]);
        assert_int_equal(osm_api_creds_resolve(NULL, NULL, &c, &err), -1);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, "chmod 600"));
        free(path);
    }
    char *path = write_creds("key_id=OSMFILE\nsecret=s\n", 0400);
    assert_int_equal(osm_api_creds_resolve(NULL, NULL, &c, &err), 0);
    osm_api_creds_free(&c);
    free(path);
}

static void a_malformed_credentials_file_names_the_line(void **state)
{
    (void)state;
    struct osm_api_creds c;
    struct osm_err err = OSM_ERR_INIT;
    char *path = write_creds("key_id=OSMFILE\nsecret: s\n", 0600);
    assert_int_equal(osm_api_creds_read_file(path, &c, &err), -1);
    assert_non_null(strstr(err.msg, "line 2"));
    free(path);
    path = write_creds("key_id=OSMFILE\npassword=s\n", 0600);
    assert_int_equal(osm_api_creds_read_file(path, &c, &err), -1);
    assert_non_null(strstr(err.msg, "unknown name 'password'"));
    free(path);
    path = write_creds("key_id=OSMFILE\n", 0600);
    assert_int_equal(osm_api_creds_read_file(path, &c, &err), -1);
    assert_non_null(strstr(err.msg, "secret="));
    free(path);
}

static void server_urls_must_be_http_without_query_or_user(void **state)
{
    (void)state;
    struct osm_api_creds creds = {"OSMX", "s"};
    struct osm_api_client *c;
    struct osm_err err = OSM_ERR_INIT;
    static const char *bad[] = {"ftp://127.0.0.1:21", "127.0.0.1:8470", "http://127.0.0.1:8470/?a=b",
                                "http://u:p@127.0.0.1:8470", "http://"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.code = 0;
        assert_int_equal(osm_api_client_open(bad[i], &creds, &c, &err), -1);
        assert_int_equal(err.code, OSM_EINPUT);
        assert_non_null(strstr(err.msg, "server URL"));
    }
    assert_int_equal(osm_api_client_open("https://fleet.example:8443/osmig/", &creds, &c, &err), 0);
    assert_string_equal(osm_api_client_url(c), "https://fleet.example:8443/osmig/");
    osm_api_client_close(c);
}

static void queries_are_rfc3986_encoded(void **state)
{
    (void)state;
    char *q = NULL;
    osm_api_query_add(&q, "instance", "dir:/srv/a b?c=d&e");
    osm_api_query_add(&q, "state", "failed,rolled_back");
    assert_string_equal(q, "instance=dir%3A%2Fsrv%2Fa%20b%3Fc%3Dd%26e&state=failed%2Crolled_back");
    free(q);
    char *e = osm_api_escape("t-1~x.y_z");
    assert_string_equal(e, "t-1~x.y_z");
    free(e);
}

static void a_server_nobody_listens_on_is_an_error_naming_the_url(void **state)
{
    (void)state;
    /* A port that was just free: bind, read it, close. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    char *url = osm_xasprintf("http://127.0.0.1:%d", ntohs(a.sin_port));
    struct osm_api_creds creds = {"OSMX", "secret"};
    struct osm_api_client *c;
    struct osm_err err = OSM_ERR_INIT;
    assert_int_equal(osm_api_client_open(url, &creds, &c, &err), 0);
    int status = -1;
    json_t *resp = NULL;
    assert_int_equal(osm_api_request(c, "GET", "/v1/tasks", NULL, NULL, &status, &resp, &err), -1);
    assert_int_equal(err.code, OSM_ENET);
    assert_int_equal(status, 0);
    assert_null(resp);
    char *full = osm_xasprintf("GET %s/v1/tasks", url);
    assert_non_null(strstr(err.msg, full));
    free(full);
    osm_api_client_close(c);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        OSM_TEST(creds_come_from_options_then_environment_then_the_file),
        OSM_TEST(a_credentials_file_others_can_read_is_refused),
        OSM_TEST(a_malformed_credentials_file_names_the_line),
        OSM_TEST(server_urls_must_be_http_without_query_or_user),
        OSM_TEST(queries_are_rfc3986_encoded),
        OSM_TEST(a_server_nobody_listens_on_is_an_error_naming_the_url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
