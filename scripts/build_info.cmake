# Writes allocmark_build_info.h with the git revision; rewrites it only when
# the content changes so unchanged builds stay incremental.
execute_process(COMMAND git -C ${SOURCE_DIR} rev-parse --short=12 HEAD
                OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
execute_process(COMMAND git -C ${SOURCE_DIR} status --porcelain --untracked-files=no
                OUTPUT_VARIABLE dirty OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(rev STREQUAL "")
  set(rev "unknown")
elseif(NOT dirty STREQUAL "")
  set(rev "${rev}-dirty")
endif()
set(content "#pragma once\n#define ALLOCMARK_GIT_REVISION \"${rev}\"\n#define ALLOCMARK_BUILD_TYPE \"${BUILD_TYPE}\"\n#define ALLOCMARK_SOURCE_DIR \"${SOURCE_DIR}\"\n")
if(EXISTS ${OUT})
  file(READ ${OUT} old)
endif()
if(NOT old STREQUAL content)
  file(WRITE ${OUT} "${content}")
endif()
