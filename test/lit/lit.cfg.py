# lit configuration of GRETA's compiler tests: every .mlir under test/lit runs its RUN lines with
# greta-opt, greta-compile and greta-synth from this build and FileCheck/not/count from LLVM on
# PATH (Inputs/ folders hold helpers, not tests). Loaded by the lit.site.cfg.py that CMake writes
# into BUILD/test/lit.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "GRETA"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.greta_obj_root, "test", "lit")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["greta-opt", "greta-compile", "greta-synth"],
                                   [config.greta_tools_dir])
