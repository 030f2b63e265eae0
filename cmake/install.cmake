# `cmake --install build --prefix DIR` (or `make install PREFIX=DIR`): the simclr binary,
# libsimclr.so.0 / libsimclr.a, the public headers under include/simclr/ (simclr/simclr.h includes
# them all), and simclr.pc for pkg-config. The .pc file locates the prefix from its own place
# (${pcfiledir}), so a tree installed with any --prefix, or moved afterwards, still works.
# plot.h, embedding_plot.h, contact_sheet.h and download.h (and their libraries, simclr_plot and simclr_download: PLplot, cairo,
# libcurl, libarchive) are the command line's own and are not installed.
include(GNUInstallDirs)

install(TARGETS simclr RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS simclr_shared simclr_lib
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY include/simclr DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h" PATTERN "plot.h" EXCLUDE PATTERN "embedding_plot.h" EXCLUDE
  PATTERN "contact_sheet.h" EXCLUDE
  PATTERN "download.h" EXCLUDE)

file(RELATIVE_PATH SIMCLR_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" SIMCLR_PC_TO_PREFIX "${SIMCLR_PC_TO_PREFIX}")
set(SIMCLR_PC_OPENMP_FLAGS "${OpenMP_C_FLAGS}")
configure_file(cmake/simclr.pc.in ${CMAKE_BINARY_DIR}/simclr.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/simclr.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
