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

/* A step: open from ADDR and expect `admitted` (1 or 0), or close from ADDR. */
struct step {
    char op; /* 'o' open, 'c' close */
    const char *addr;
    int admitted;
};

struct limit_case {
    size_t total, per_client;
    const struct step *steps;
};

static struct sockaddr_storage addr(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int v6 = strchr(text, ':') != NULL;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    ss.ss_family = v6 ? AF_INET6 : AF_INET;
    assert_int_equal(inet_pton(ss.ss_family, text, v6 ? (void *)&a6->sin6_addr : (void *)&a4->sin_addr), 1);
    return ss;
}

static void run_case(void **state)
{
    const struct limit_case *c = *state;
    struct osm_conn_limit *cl = osm_conn_limit_new(c->total, c->per_client);
    for (const struct step *s = c->steps; s->op; s++) {
        struct sockaddr_storage ss = addr(s->addr);
        if (s->op == 'c')
            osm_conn_limit_close(cl, (const struct sockaddr *)&ss);
        else if (osm_conn_limit_open(cl, (const struct sockaddr *)&ss) != s->admitted)
            fail_msg("step %td: open from %s: expected %s", s - c->steps, s->addr,
                     s->admitted ? "admitted" : "refused");
    }
    osm_conn_limit_free(cl);
}

static const struct limit_case ipv4_addresses_are_clients_of_their_own = {100, 2, (const struct step[]){
    {'o', "192.0.2.1", 1}, {'o', "192.0.2.1", 1}, {'o', "192.0.2.1", 0}, {'o', "192.0.2.2", 1},
    {'c', "192.0.2.1", 0}, {'o', "192.0.2.1", 1}, {0}}};

static const struct limit_case every_address_of_one_ipv6_64_is_one_client = {100, 2, (const struct step[]){
    {'o', "2001:db8:1:2::1", 1}, {'o', "2001:db8:1:2:aaaa:bbbb:cccc:dddd", 1},
    /* a third address of the same /64 is past the limit */
    {'o', "2001:db8:1:2:ffff::9", 0},
    /* the next /64 is another client */
    {'o', "2001:db8:1:3::1", 1},
    /* closing by any address of the /64 frees the prefix's place */
    {'c', "2001:db8:1:2::1", 0}, {'o', "2001:db8:1:2::77", 1}, {0}}};

static const struct limit_case an_ipv4_mapped_address_is_its_ipv4_client = {100, 2, (const struct step[]){
    {'o', "192.0.2.7", 1}, {'o', "::ffff:192.0.2.7", 1}, {'o', "192.0.2.7", 0},
    /* its neighbour in the mapped range is not the same client */
    {'o', "::ffff:192.0.2.8", 1}, {0}}};

static const struct limit_case the_total_holds_over_all_clients = {3, 2, (const struct step[]){
    {'o', "192.0.2.1", 1}, {'o', "2001:db8::1", 1}, {'o', "2001:db8:0:1::1", 1}, {'o', "192.0.2.9", 0},
    {'c', "2001:db8::1", 0}, {'o', "192.0.2.9", 1}, {0}}};

/* One test per case, named after it. */
#define CASE(c) {#c, run_case, NULL, NULL, (void *)&c}

int main(void)
{
    const struct CMUnitTest tests[] = {
        CASE(ipv4_addresses_are_clients_of_their_own),
        CASE(every_address_of_one_ipv6_64_is_one_client),
        CASE(an_ipv4_mapped_address_is_its_ipv4_client),
        CASE(the_total_holds_over_all_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
