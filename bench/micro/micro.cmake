# allocmark_add_micro(<adapter> <header> <type> [libraries...]): the Google
# Benchmark micro suite for one adapter, called from allocmark_add_worker so
# every shipped worker has one; one allocator per executable, as for workers.
find_package(benchmark REQUIRED)
function(allocmark_add_micro adapter header type)
  if(NOT header MATCHES "^allocators/")
    return()  # test-only adapters (tests/) have no micro suite
  endif()
  if(ALLOCMARK_SANITIZE)
    # Sanitizer builds check the harness, not allocator speed: a micro suite
    # times the sanitizer's malloc interposer, and libbenchmark itself is not
    # instrumented. `allocmark micro` says none is built.
    return()
  endif()
  set(target allocmark-micro-${adapter})
  add_executable(${target} ${CMAKE_SOURCE_DIR}/bench/micro/micro_main.cc)
  target_compile_definitions(${target} PRIVATE
    ALLOCMARK_ADAPTER_HEADER=<${header}> ALLOCMARK_ADAPTER_TYPE=allocmark::${type})
  target_link_libraries(${target} PRIVATE benchmark::benchmark allocmark_adapters
    allocmark_warnings ${ARGN})
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
  set_property(GLOBAL APPEND PROPERTY ALLOCMARK_MICROS ${target})
endfunction()
