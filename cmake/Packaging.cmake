# `cpack -G DEB` from the build directory produces ssestitch_<version>_<arch>.deb.
# Runtime dependencies are computed by dpkg-shlibdeps from the linked libraries.
set(CPACK_PACKAGE_NAME ssestitch)
set(CPACK_PACKAGE_VENDOR "ssestitch maintainers")
set(CPACK_PACKAGE_CONTACT "ssestitch maintainers <maintainers@users.noreply.r-seed-28225906.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_STRIP_FILES ON)
set(CPACK_GENERATOR DEB)
include(CPack)
