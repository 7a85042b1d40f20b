# A Debian package of everything `cmake --install` installs (cpack -G DEB in
# the build directory). The package installs under the build's prefix, where
# the binary looks for its matrices: configure with
# -DCMAKE_INSTALL_PREFIX=/usr for a package of the distribution's layout.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME osmig)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "osmig maintainers <osmig@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "operating-system migration engine: assess, plan, migrate, roll back")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
# Linked libraries by dpkg-shlibdeps; the ones loaded on first use
# (engine/lib/osm_lazy.h) by name: HTTP and the fleet store, and the Windows
# backend's.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libcurl4, libpq5, libmicrohttpd12")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libhivex0, libwim15, libntfs-3g89, libfdisk1, qemu-utils")
# What an admin edits stays theirs on upgrade (dpkg takes the file by its
# name: conffiles).
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/osmig/osmig.conf\n/etc/logrotate.d/osmig\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles)
include(CPack)
