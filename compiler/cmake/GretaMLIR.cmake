# MLIR/LLVM 19 for the compiler targets (dialects/, codegen/, compiler/, test/lit/). Included by the
# top level only when GRETA_BUILD_COMPILER is ON; nothing here reaches the runtime's targets.

# Debian installs MLIR 19 outside CMake's default search path.
find_package(MLIR REQUIRED CONFIG HINTS /usr/lib/llvm-19/lib/cmake/mlir)
if(NOT LLVM_VERSION_MAJOR EQUAL 19)
  message(FATAL_ERROR "GRETA's compiler needs MLIR/LLVM 19; ${MLIR_DIR} is ${LLVM_PACKAGE_VERSION}")
endif()
message(STATUS "Using MLIR ${LLVM_PACKAGE_VERSION} from ${MLIR_DIR}")

list(APPEND CMAKE_MODULE_PATH ${MLIR_CMAKE_DIR} ${LLVM_CMAKE_DIR})
# Where add_llvm_executable/add_mlir_library put their outputs, and where add_mlir_doc writes.
set(LLVM_RUNTIME_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/bin)
set(LLVM_LIBRARY_OUTPUT_INTDIR ${CMAKE_BINARY_DIR}/lib)
set(MLIR_BINARY_DIR ${CMAKE_BINARY_DIR})
# LLVM's tablegen() writes Ninja depfiles relative to the build root already; under CMP0116 NEW
# CMake prefixes them again and every tablegen reruns on each build. Functions keep the policies
# in effect where they are defined, so this precedes include(TableGen) (LLVM sets it OLD too).
cmake_policy(SET CMP0116 OLD)
include(TableGen)
include(AddLLVM)
include(AddMLIR)

# greta_compiler_directory(): directory-scoped settings for a folder of compiler code. MLIR/LLVM
# headers are system headers (their warnings are not ours); generated .inc files are found from
# the build root by the same relative path as their .td (dialects/graph/IR/GretaOps.h.inc).
# -fno-exceptions (and -fno-rtti where LLVM has no RTTI) come from LLVM's own
# llvm_update_compile_flags, which add_mlir_*_library and add_llvm_executable apply per target.
macro(greta_compiler_directory)
  include_directories(SYSTEM ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
  include_directories(${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
  separate_arguments(_greta_llvm_definitions NATIVE_COMMAND "${LLVM_DEFINITIONS}")
  add_definitions(${_greta_llvm_definitions})
  add_compile_options(-Wall -Wextra -Wno-unused-parameter)
endmacro()
