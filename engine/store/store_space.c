/* store_space.c: whether the store's writes fail for lack of space
 * (store.h: osm_store_full_since), process-wide: the drivers say when a
 * write failed so, any write that commits says it passed. */
#include <stdatomic.h>

#include "store.h"
#include "store_sql.h"

static _Atomic int64_t full_since;

void osm_store_space_failed(void)
{
    int64_t none = 0;
    atomic_compare_exchange_strong(&full_since, &none, osm_store_now());
}

void osm_store_space_ok(void)
{
    if (atomic_load_explicit(&full_since, memory_order_relaxed))
        atomic_store(&full_since, 0);
}

int64_t osm_store_full_since(void)
{
    return atomic_load(&full_since);
}
