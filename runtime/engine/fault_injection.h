//===- fault_injection.h - Corrupt one route on purpose (TESTS ONLY) -------===//
//
// The audit tools must be shown to find the faults they exist for. `--inject-fault NAME` (a
// hidden greta-run flag) hands one launch of the backend a corrupted copy of its weight, while
// the bundle's own bytes — which the CPU probe reads — stay intact:
//
//   lm_head.prefill.scales   the prefill LM head's weight with its block scales mis-unpacked,
//                            as a kernel reading them wrongly would: Q6_K, the int8 scales of
//                            odd sub-blocks negated; Q4_K/Q5_K, bytes 0–3 and 4–7 of the packed
//                            scales swapped (sub-block scales read as mins); Q8_0/Q4_0, d
//                            multiplied by 1, −1, 4, 0.25 by (row + block) mod 4. A weight
//                            without block scales (F32, F16, BF16) is refused
//   lm_head.prefill.layout   the prefill LM head reads its rows in the wrong order: row r takes
//                            row r' with r' mirrored inside each tile of kLayoutFaultTile rows, as
//                            a kernel with a wrong repack permutation would
//   rms_norm.weights         the final RMSNorm's weight (both phases) with every value v at
//                            index i replaced by v·(−2) for odd i and v·3 for even i
//
// The decode LM head and every other launch keep the bundle's weights. The LM head and final
// RMSNorm launches are the ones the phase's lm_head and final_rmsnorm audit points name. An LM
// head fault lives in the prefill plan's own route, as a kernel bug would: when --force-route
// moves the prefill LM head to another route, that launch reads intact weights.
//
// Thread-safety: build before the program; the substitute may then be called from one thread.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/bundle.h"
#include "runtime/cpu/cpu_program.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace greta::engine {

enum class Fault { LmHeadPrefillScales, LmHeadPrefillLayout, RmsNormWeights };

/// Rows of a layout-fault tile: a GPU GEMV tile of 8 rows is a common repack unit.
inline constexpr uint64_t kLayoutFaultTile = 8;

/// "lm_head.prefill.scales", …; the names below, "|"-separated, for messages.
std::string_view nameOf(Fault fault);
std::optional<Fault> parseFault(std::string_view name);
std::string faultNames();

class FaultInjector {
public:
  /// Prepares the corrupted copy for `fault` from the weight the targeted launch reads in
  /// `prefill` / `decode` (the plans the program will run). Throws greta::Error naming the
  /// weight when the fault does not apply (no scales, no audit point to find the launch).
  FaultInjector(const bundle::Bundle &bundle, Fault fault, const bundle::PhasePlan &prefill,
                const bundle::PhasePlan &decode);
  FaultInjector(const FaultInjector &) = delete;
  FaultInjector &operator=(const FaultInjector &) = delete;

  /// The hook for CpuProgramOptions::substitute; valid while the injector lives.
  cpu::WeightSubstitute substitute() const;

private:
  struct Target {
    bundle::PhaseKind phase;
    size_t launchIndex;
    std::string arg;
    cpu::WeightView view; // over `bytes`
  };

  void addTarget(const bundle::PhasePlan &plan, bundle::PhaseKind phase, std::string_view point);

  const bundle::Bundle &bundle_;
  Fault fault_;
  std::vector<Target> targets_;
  std::vector<std::unique_ptr<std::vector<uint8_t>>> storage_;
};

} // namespace greta::engine
