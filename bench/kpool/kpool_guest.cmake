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
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
  # -static: the initramfs holds no shared libraries. The linker's notes
  # about dlopen/getaddrinfo in static glibc concern calls these never make.
  target_link_options(${target} PRIVATE -static)
  add_dependencies(allocmark-guest ${target})
endfunction()

# The CLI's libraries link SQLite's shared library; the guest takes each
# layer's archive as a file (no transitive .so) plus Debian's libsqlite3.a.
find_library(ALLOCMARK_SQLITE_STATIC NAMES libsqlite3.a)
if(ALLOCMARK_SQLITE_STATIC)
  set(cli_libs)
  foreach(layer cli kpool_vm runner report results probes stream trace spec
      adapters)
    list(APPEND cli_libs $<TARGET_FILE:allocmark_${layer}>)
  endforeach()
  list(APPEND cli_libs nlohmann_json::nlohmann_json CLI11::CLI11
    ${ALLOCMARK_SQLITE_STATIC} ${CMAKE_DL_LIBS} Threads::Threads m)
  allocmark_add_guest_executable(allocmark-guest-cli allocmark
    ${CMAKE_SOURCE_DIR}/bench/cli/cli_main.cc "${cli_libs}")
  # cli_main.cc prints the build's revision (--version).
  target_include_directories(allocmark-guest-cli PRIVATE
    ${CMAKE_BINARY_DIR}/generated)
  add_dependencies(allocmark-guest-cli allocmark_git_revision)
  target_compile_definitions(allocmark-guest-cli PRIVATE
    ALLOCMARK_VERSION="${PROJECT_VERSION}")
  add_dependencies(allocmark-guest-cli allocmark_cli allocmark_kpool_vm
    allocmark_runner allocmark_report allocmark_results allocmark_probes
    allocmark_stream allocmark_trace allocmark_spec allocmark_adapters)
endif()

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
