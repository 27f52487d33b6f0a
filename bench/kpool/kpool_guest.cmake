# The statically linked CLI and workers that `allocmark run --vm` puts into
# the VM's initramfs, built only on request (target allocmark-guest; the VM
# test builds it). Workers come from the adapter registry's GUEST column:
# glibc, libstdc++, jemalloc and tcmalloc ship static archives on Debian 12;
# mimalloc and oneTBB do not, so their workers cannot run in the guest
# (vm_run.cc names the reason).
set(ALLOCMARK_GUEST_DIR ${CMAKE_BINARY_DIR}/bin/guest)
add_custom_target(allocmark-guest)

# allocmark_add_guest_executable(<target> <output name> <sources> <libs>)
function(allocmark_add_guest_executable target name sources libs)
  add_executable(${target} EXCLUDE_FROM_ALL ${sources})
  set_target_properties(${target} PROPERTIES OUTPUT_NAME ${name}
    RUNTIME_OUTPUT_DIRECTORY ${ALLOCMARK_GUEST_DIR})
  target_link_libraries(${target} PRIVATE ${libs} allocmark_warnings)
  # -static: the initramfs holds no shared libraries. The linker's notes
  # about dlopen/getaddrinfo in static glibc concern calls these never make.
  target_link_options(${target} PRIVATE -static)
  add_dependencies(allocmark-guest ${target})
endfunction()

get_target_property(cli_sources allocmark SOURCES)
get_target_property(cli_libs allocmark LINK_LIBRARIES)
# The reporters link SQLite's shared library; the guest CLI takes their
# archive as a file (no transitive .so) plus Debian's libsqlite3.a.
find_library(ALLOCMARK_SQLITE_STATIC NAMES libsqlite3.a)
if(ALLOCMARK_SQLITE_STATIC)
  list(TRANSFORM cli_libs REPLACE "^allocmark_report$"
       "$<TARGET_FILE:allocmark_report>;$<TARGET_FILE:allocmark_results>")
  list(APPEND cli_libs nlohmann_json::nlohmann_json ${ALLOCMARK_SQLITE_STATIC} m)
endif()
allocmark_add_guest_executable(allocmark-guest-cli allocmark
  "${cli_sources}" "${cli_libs}")
add_dependencies(allocmark-guest-cli allocmark_report allocmark_results)
target_compile_definitions(allocmark-guest-cli PRIVATE
  ALLOCMARK_REPORT_SCRIPT="${CMAKE_SOURCE_DIR}/scripts/report.py")

get_property(adapters GLOBAL PROPERTY ALLOCMARK_ADAPTERS)
foreach(name ${adapters})
  set(p ALLOCMARK_ADAPTER_${name})
  if(NOT ${p}_GUEST)
    continue()
  endif()
  set(libs allocmark_worker)
  set(have TRUE)
  foreach(archive ${${p}_GUEST})
    if(archive STREQUAL "libc")
      continue()
    endif()
    string(MAKE_C_IDENTIFIER "ALLOCMARK_STATIC_${archive}" var)
    find_library(${var} NAMES ${archive})
    if(${var})
      list(APPEND libs ${${var}})
    else()
      set(have FALSE)
    endif()
  endforeach()
  if(NOT have)
    continue()
  endif()
  set(target allocmark-guest-worker-${name})
  allocmark_add_guest_executable(${target} allocmark-worker-${name}
    ${CMAKE_SOURCE_DIR}/bench/worker/worker_main.cc "${libs}")
  target_compile_definitions(${target} PRIVATE
    ALLOCMARK_ADAPTER_HEADER=<${${p}_HEADER}>
    ALLOCMARK_ADAPTER_TYPE=allocmark::${${p}_TYPE})
endforeach()
foreach(backend ${ALLOCMARK_KPOOL_BACKENDS})
  set(target allocmark-guest-worker-kpool-${backend})
  allocmark_add_guest_executable(${target} allocmark-worker-kpool-${backend}
    ${CMAKE_SOURCE_DIR}/bench/kpool/kpool_worker_main.cc
    "allocmark_kpool;allocmark_worker")
  target_compile_definitions(${target} PRIVATE
    ALLOCMARK_KPOOL_BACKEND="${backend}")
endforeach()
