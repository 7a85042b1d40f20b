/* test_conn_limit: the API server's per-client admission (conn_limit.h).
 * Proves: an IPv4 address is one client; every address of one IPv6 /64 is
 * one client (so a host cannot spread past the limit over its prefix), two
 * /64s are two; an IPv4-mapped IPv6 address is its IPv4 client; the total
 * limit holds over all clients; a closed connection frees its place. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "conn_limit.h"

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (strchr(text, ':')) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        assert_int_equal(inet_pton(AF_INET6, text, &a->sin6_addr), 1);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        assert_int_equal(inet_pton(AF_INET, text, &a->sin_addr), 1);
    }
    return ss;
}

static int open_from(struct osm_conn_limit *cl, const char *text)
{
    struct sockaddr_storage ss = addr(text);
    return osm_conn_limit_open(cl, (const struct sockaddr *)&ss);
}

static void close_from(struct osm_conn_limit *cl, const char *text)
{
    struct sockaddr_storage ss = addr(text);
    osm_conn_limit_close(cl, (const struct sockaddr *)&ss);
}

static void ipv4_addresses_are_clients_of_their_own(void **state)
{
    (void)state;
    struct osm_conn_limit *cl = osm_conn_limit_new(100, 2);
    assert_int_equal(open_from(cl, "192.0.2.1"), 1);
    assert_int_equal(open_from(cl, "192.0.2.1"), 1);
    assert_int_equal(open_from(cl, "192.0.2.1"), 0);
    assert_int_equal(open_from(cl, "192.0.2.2"), 1);
    close_from(cl, "192.0.2.1");
    assert_int_equal(open_from(cl, "192.0.2.1"), 1);
    osm_conn_limit_free(cl);
}

static void every_address_of_one_ipv6_64_is_one_client(void **state)
{
    (void)state;
    struct osm_conn_limit *cl = osm_conn_limit_new(100, 2);
    assert_int_equal(open_from(cl, "2001:db8:1:2::1"), 1);
    assert_int_equal(open_from(cl, "2001:db8:1:2:aaaa:bbbb:cccc:dddd"), 1);
    /* a third address of the same /64 is past the limit */
    assert_int_equal(open_from(cl, "2001:db8:1:2:ffff::9"), 0);
    /* the next /64 is another client */
    assert_int_equal(open_from(cl, "2001:db8:1:3::1"), 1);
    /* closing by any address of the /64 frees the prefix's place */
    close_from(cl, "2001:db8:1:2::1");
    assert_int_equal(open_from(cl, "2001:db8:1:2::77"), 1);
    osm_conn_limit_free(cl);
}

static void an_ipv4_mapped_address_is_its_ipv4_client(void **state)
{
    (void)state;
    struct osm_conn_limit *cl = osm_conn_limit_new(100, 2);
    assert_int_equal(open_from(cl, "192.0.2.7"), 1);
    assert_int_equal(open_from(cl, "::ffff:192.0.2.7"), 1);
    assert_int_equal(open_from(cl, "192.0.2.7"), 0);
    /* its neighbour in the mapped range is not the same client */
    assert_int_equal(open_from(cl, "::ffff:192.0.2.8"), 1);
    osm_conn_limit_free(cl);
}

static void the_total_holds_over_all_clients(void **state)
{
    (void)state;
    struct osm_conn_limit *cl = osm_conn_limit_new(3, 2);
    assert_int_equal(open_from(cl, "192.0.2.1"), 1);
    assert_int_equal(open_from(cl, "2001:db8::1"), 1);
    assert_int_equal(open_from(cl, "2001:db8:0:1::1"), 1);
    assert_int_equal(open_from(cl, "192.0.2.9"), 0);
    close_from(cl, "2001:db8::1");
    assert_int_equal(open_from(cl, "192.0.2.9"), 1);
    osm_conn_limit_free(cl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ipv4_addresses_are_clients_of_their_own),
        cmocka_unit_test(every_address_of_one_ipv6_64_is_one_client),
        cmocka_unit_test(an_ipv4_mapped_address_is_its_ipv4_client),
        cmocka_unit_test(the_total_holds_over_all_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
