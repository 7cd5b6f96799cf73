# Helpers that give every runtime target the same flags. Compiler targets (MLIR/LLVM) use LLVM's
# own flags (-fno-exceptions, -fno-rtti) instead; these never reach them.

set(GRETA_SOURCE_ROOT ${CMAKE_CURRENT_LIST_DIR}/..)

# libFuzzer ships with clang only; say so at configure time rather than failing on the first
# runtime object compiled with -fsanitize=fuzzer-no-link.
if(GRETA_BUILD_FUZZERS AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "GRETA_BUILD_FUZZERS needs clang (libFuzzer); the C++ compiler is "
                      "${CMAKE_CXX_COMPILER_ID} (${CMAKE_CXX_COMPILER}). Configure with "
                      "CC=clang-14 CXX=clang++-14.")
endif()

function(greta_runtime_flags target)
  target_include_directories(${target} PUBLIC ${GRETA_SOURCE_ROOT})
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
  if(GRETA_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
  if(GRETA_BUILD_FUZZERS)
    # Coverage instrumentation for libFuzzer in every runtime object, not only the fuzz mains.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
  endif()
endfunction()

# greta_runtime_library(NAME SOURCES... [DEPS ...])
function(greta_runtime_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  greta_runtime_flags(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# greta_runtime_tool(NAME SOURCES... [DEPS ...]): an executable placed in build/bin.
function(greta_runtime_tool name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  greta_runtime_flags(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
endfunction()
