# Finds the Debian-packaged libraries and wraps CAF (which ships no CMake config) in imported targets.
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED CONFIG)
find_package(OpenSSL REQUIRED)
find_package(RapidJSON REQUIRED CONFIG)
find_package(prometheus-cpp REQUIRED CONFIG)

find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
foreach(comp core io openssl)
  find_library(CAF_${comp}_LIBRARY NAMES caf_${comp} REQUIRED)
  add_library(CAF::${comp} UNKNOWN IMPORTED)
  set_target_properties(CAF::${comp} PROPERTIES
    IMPORTED_LOCATION "${CAF_${comp}_LIBRARY}" INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}")
endforeach()
target_link_libraries(CAF::core INTERFACE Threads::Threads)
target_link_libraries(CAF::io INTERFACE CAF::core)
target_link_libraries(CAF::openssl INTERFACE CAF::io)

add_library(sg_rapidjson INTERFACE)
target_include_directories(sg_rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
# RapidJSON recurses by default; we parse iteratively, and SSE2 is on every x86_64.
target_compile_definitions(sg_rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
