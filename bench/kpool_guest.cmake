# The kernel-pool workers (one per driver backend) and the statically linked
# CLI and workers that `allocmark run --vm` puts into the VM's initramfs.
# Included at the end of bench/CMakeLists.txt, after the `allocmark` target.

# `allocmark run --vm` lives in the CLI (and is harmless in the guest's copy).
target_sources(allocmark PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/vm_run.cc)

# kpool: one worker per backend, so each is an adapter of its own in the
# catalogue and the table; the backend is fixed at build time.
add_library(allocmark_kpool STATIC ${CMAKE_SOURCE_DIR}/allocators/kpool.cc)
target_include_directories(allocmark_kpool PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(allocmark_kpool PRIVATE allocmark_warnings)

set(ALLOCMARK_KPOOL_BACKENDS kmalloc kmem_cache vmalloc pages)
foreach(backend ${ALLOCMARK_KPOOL_BACKENDS})
  set(target allocmark-worker-kpool-${backend})
  add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/kpool_worker_main.cc)
  target_compile_definitions(${target} PRIVATE
    ALLOCMARK_KPOOL_BACKEND="${backend}")
  target_link_libraries(${target} PRIVATE allocmark_kpool allocmark_engine
    allocmark_warnings)
  add_dependencies(allocmark ${target})
endforeach()

# Guest binaries: bin/guest/<same names>, built only on request (target
# allocmark-guest; the VM test builds it). glibc, libstdc++ and jemalloc
# ship static archives on Debian 12; mimalloc and oneTBB do not, so their
# workers cannot run in the guest (vm_run.cc names the reason).
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
if(TARGET allocmark_reporters AND ALLOCMARK_SQLITE_STATIC)
  list(TRANSFORM cli_libs REPLACE "^allocmark_reporters$"
       "$<TARGET_FILE:allocmark_reporters>")
  list(APPEND cli_libs ${ALLOCMARK_SQLITE_STATIC} m)
endif()
allocmark_add_guest_executable(allocmark-guest-cli allocmark
  "${cli_sources}" "${cli_libs}")
if(TARGET allocmark_reporters)
  add_dependencies(allocmark-guest-cli allocmark_reporters)
endif()

# allocmark_add_guest_worker(<adapter> <header> <type> [libraries...])
function(allocmark_add_guest_worker adapter header type)
  set(target allocmark-guest-worker-${adapter})
  allocmark_add_guest_executable(${target} allocmark-worker-${adapter}
    ${CMAKE_CURRENT_SOURCE_DIR}/worker_main.cc "allocmark_engine;${ARGN}")
  target_compile_definitions(${target} PRIVATE
    ALLOCMARK_ADAPTER_HEADER=<${header}> ALLOCMARK_ADAPTER_TYPE=allocmark::${type})
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
endfunction()

allocmark_add_guest_worker(system allocators/system.h SystemAllocator)
allocmark_add_guest_worker(null allocators/null.h NullAllocator)
allocmark_add_guest_worker(lookaside allocators/lookaside.h LookasideAllocator)
find_library(ALLOCMARK_JEMALLOC_STATIC NAMES libjemalloc_pic.a libjemalloc.a)
if(ALLOCMARK_JEMALLOC_STATIC)
  allocmark_add_guest_worker(jemalloc allocators/jemalloc.h JemallocAllocator
    ${ALLOCMARK_JEMALLOC_STATIC} m)
endif()
find_library(ALLOCMARK_TCMALLOC_STATIC NAMES libtcmalloc_minimal.a)
if(ALLOCMARK_TCMALLOC_STATIC)
  allocmark_add_guest_worker(tcmalloc allocators/tcmalloc.h TcmallocAllocator
    ${ALLOCMARK_TCMALLOC_STATIC})
endif()
foreach(backend ${ALLOCMARK_KPOOL_BACKENDS})
  set(target allocmark-guest-worker-kpool-${backend})
  allocmark_add_guest_executable(${target} allocmark-worker-kpool-${backend}
    ${CMAKE_CURRENT_SOURCE_DIR}/kpool_worker_main.cc
    "allocmark_kpool;allocmark_engine")
  target_compile_definitions(${target} PRIVATE
    ALLOCMARK_KPOOL_BACKEND="${backend}")
endforeach()
