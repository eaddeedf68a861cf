# Third-party dependencies: Debian packages by default, or a carried copy of their headers
# (GENRT_DEPS_DIR, made by `tools/gpu-check.sh prepare`) on machines without the packages,
# such as the GPU machine. Either way the same imported target names exist.

set(GENRT_DEPS_DIR "" CACHE PATH "Carried dependency headers (tools/gpu-check.sh prepare); empty: use system packages")

if(GENRT_DEPS_DIR)
  message(STATUS "genrt: dependencies from ${GENRT_DEPS_DIR}")
  # spdlog and fmt header-only: nothing to link.
  add_library(genrt_carried_headers INTERFACE)
  target_include_directories(genrt_carried_headers SYSTEM INTERFACE ${GENRT_DEPS_DIR}/include)
  add_library(spdlog::spdlog ALIAS genrt_carried_headers)
  add_library(nlohmann_json::nlohmann_json ALIAS genrt_carried_headers)
  add_library(CLI11::CLI11 ALIAS genrt_carried_headers)
  target_compile_definitions(genrt_carried_headers INTERFACE SPDLOG_HEADER_ONLY FMT_HEADER_ONLY)
  if(GENRT_BUILD_TESTS)
    set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
    # GoogleTest's own CMakeLists defines the GTest::gtest, GTest::gtest_main and
    # GTest::gmock aliases.
    add_subdirectory(${GENRT_DEPS_DIR}/googletest ${PROJECT_BINARY_DIR}/googletest EXCLUDE_FROM_ALL)
  endif()
else()
  find_package(spdlog CONFIG REQUIRED)
  find_package(nlohmann_json CONFIG REQUIRED)
  find_package(CLI11 CONFIG REQUIRED)
  if(GENRT_BUILD_TESTS)
    find_package(GTest REQUIRED)
  endif()
endif()
find_package(OpenMP)
find_package(Threads REQUIRED)

# Compiled libraries found through pkg-config: PCRE2 (tokenizer pre-split regexes),
# utf8proc (Unicode normalization), cpp-httplib, libpng (generated images) and cairo
# (genrt-plot's benchmark plots). With carried dependencies their headers and shared
# libraries are in GENRT_DEPS_DIR too, except cairo's: a GPU machine's build makes reports
# without plots (no genrt-plot).
if(GENRT_DEPS_DIR)
  foreach(lib PCRE2 UTF8PROC HTTPLIB PNG)
    add_library(PkgConfig::${lib} INTERFACE IMPORTED)
    target_include_directories(PkgConfig::${lib} INTERFACE ${GENRT_DEPS_DIR}/include)
  endforeach()
  target_link_libraries(PkgConfig::PCRE2 INTERFACE ${GENRT_DEPS_DIR}/lib/libpcre2-8.so)
  target_link_libraries(PkgConfig::UTF8PROC INTERFACE ${GENRT_DEPS_DIR}/lib/libutf8proc.so)
  target_link_libraries(PkgConfig::PNG INTERFACE ${GENRT_DEPS_DIR}/lib/libpng16.so ${GENRT_DEPS_DIR}/lib/libz.so)
  # Debian builds cpp-httplib as a library with TLS and compression; the header must be
  # read with the same options for the classes to match.
  target_link_libraries(PkgConfig::HTTPLIB INTERFACE ${GENRT_DEPS_DIR}/lib/libcpp-httplib.so
                        ${GENRT_DEPS_DIR}/lib/libssl.so ${GENRT_DEPS_DIR}/lib/libcrypto.so ${GENRT_DEPS_DIR}/lib/libz.so
                        ${GENRT_DEPS_DIR}/lib/libbrotlidec.so ${GENRT_DEPS_DIR}/lib/libbrotlienc.so
                        ${GENRT_DEPS_DIR}/lib/libbrotlicommon.so)
  target_compile_definitions(PkgConfig::HTTPLIB INTERFACE CPPHTTPLIB_OPENSSL_SUPPORT CPPHTTPLIB_ZLIB_SUPPORT
                             CPPHTTPLIB_BROTLI_SUPPORT)
else()
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
  pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
  pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
  pkg_check_modules(PNG REQUIRED IMPORTED_TARGET libpng)  # generated images
  # genrt-plot's plots, and only those: without cairo genrt builds and runs, minus genrt-plot.
  pkg_check_modules(CAIRO IMPORTED_TARGET cairo)
  if(NOT CAIRO_FOUND)
    message(STATUS "genrt: cairo not found, so no genrt-plot (install libcairo2-dev for benchmark plots)")
  endif()
endif()
