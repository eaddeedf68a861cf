# `cmake --install`: the shared and static libraries, the public headers, a CMake package
# (find_package(genrt) -> genrt::genrt, genrt::genrt_static) and genrt.pc for pkg-config.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS genrt_shared genrt genrt_cli EXPORT genrtTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# genrt-plot (where cairo was found) beside genrt, for `genrt bench report --plot`.
if(TARGET genrt_plot)
  install(TARGETS genrt_plot RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(FILES include/genrt/genrt.h include/genrt/genrt.hpp include/genrt/diffusion.hpp include/genrt/embedding.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/genrt)
install(EXPORT genrtTargets NAMESPACE genrt:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/genrt)

configure_package_config_file(cmake/genrtConfig.cmake.in ${PROJECT_BINARY_DIR}/genrtConfig.cmake
                              INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/genrt)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/genrtConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/genrtConfig.cmake ${PROJECT_BINARY_DIR}/genrtConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/genrt)

set(GENRT_PC_LIBS_PRIVATE "-lspdlog -lfmt -lpcre2-8 -lutf8proc -lcpp-httplib -lpthread")
if(OpenMP_CXX_FOUND)
  string(APPEND GENRT_PC_LIBS_PRIVATE " ${OpenMP_CXX_FLAGS}")
endif()
if(GENRT_HAVE_CUDA)
  string(APPEND GENRT_PC_LIBS_PRIVATE " -L${CUDAToolkit_LIBRARY_DIR} -lcudart_static -ldl -lrt")
endif()
configure_file(cmake/genrt.pc.in ${PROJECT_BINARY_DIR}/genrt.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/genrt.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
