/* osm_lazy: libraries that only some commands use (libcurl, libpq,
 * libmicrohttpd, and the Windows backend's hivex, wimlib, ntfs-3g, fdisk)
 * are loaded with dlopen on their first call instead of at start. Linked,
 * they doubled the start of every run (about 20 ms and 8 MiB of resident
 * pages for 40-odd libraries a plan never calls).
 *
 * A module includes the library's header through its lazy_*.h header, which
 * defines each function it calls as a macro: OSM_LAZY(lib, fn) is a pointer
 * of fn's own declared type, resolved once (dlsym) and cached, so calls,
 * variadic ones included, are checked against the library's header as
 * before. A library or symbol that cannot be loaded ends the process with
 * exit status 1 and a message naming the library and the symbol. */
#ifndef OSM_LAZY_H
#define OSM_LAZY_H

struct osm_lazy_lib {
    const char *soname; /* e.g. "libcurl.so.4" (the build finds it: OSM_SONAME_*) */
    void *handle;
};

/* The address of `name` in `lib`, loading the library on first use; never
 * returns NULL (see above). Thread-safe. */
void *osm_lazy_sym(struct osm_lazy_lib *lib, const char *name);

/* A pointer to the library function `fn` (as declared by its header). */
#define OSM_LAZY(lib, fn)                                                                      \
    (*__extension__({                                                                          \
        static void *osm_lazy_p_;                                                              \
        void *osm_lazy_v_ = __atomic_load_n(&osm_lazy_p_, __ATOMIC_ACQUIRE);                   \
        if (!osm_lazy_v_) {                                                                    \
            osm_lazy_v_ = osm_lazy_sym(&(lib), #fn);                                           \
            __atomic_store_n(&osm_lazy_p_, osm_lazy_v_, __ATOMIC_RELEASE);                     \
        }                                                                                      \
        (__typeof__(&fn))osm_lazy_v_;                                                          \
    }))

#endif
