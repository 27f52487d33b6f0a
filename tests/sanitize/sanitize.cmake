# The sanitizer configuration shared by the main build (ALLOCMARK_SANITIZE)
# and the fuzz project (tests/fuzz), so a finding means the same in both.
#
# ALLOCMARK_ASAN_UBSAN_FLAGS: ASan + UBSan, every finding fatal
# (-fno-sanitize-recover), so the process that hit it fails and with it the
# test or the fuzz run.
set(ALLOCMARK_ASAN_UBSAN_FLAGS -fsanitize=address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
set(ALLOCMARK_TSAN_FLAGS -fsanitize=thread -fno-omit-frame-pointer)

# allocmark_sanitizer_defaults(<out-var>): generates, in the current binary
# dir, the source holding the runtimes' default options and the checked-in
# LSan suppressions (lsan.supp), and returns its path. Linked into every
# executable, so ctest, fuzzers and a hand-run worker need no environment.
function(allocmark_sanitizer_defaults out)
  set(dir ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
    ${dir}/lsan.supp ${dir}/sanitizer_defaults.cc.in)
  file(READ ${dir}/lsan.supp ALLOCMARK_LSAN_SUPPRESSIONS)
  set(gen ${CMAKE_CURRENT_BINARY_DIR}/generated/sanitizer_defaults.cc)
  configure_file(${dir}/sanitizer_defaults.cc.in ${gen} @ONLY)
  set(${out} ${gen} PARENT_SCOPE)
endfunction()
