//===- portable_math.h - exp/log/pow from IEEE basic arithmetic only ------===//
//
// libm's transcendental functions are not required to be correctly rounded, and their last bit
// differs between libm versions; greta-synth's output must not. These versions use only +, -, *,
// /, floor, frexp and ldexp (all exact or correctly rounded by IEEE 754), in a fixed order, so
// they give the same bits everywhere when compiled without FMA contraction (-ffp-contract=off,
// set for every synth source). Accuracy is a few ulp in double, ample for data rounded to float.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

namespace greta::synth {

inline constexpr double kPi = 3.14159265358979323846;

/// e^x for finite x; 0 below the double range, +inf above it.
double portableExp(double x);
/// Natural logarithm of x > 0 (finite); Error otherwise.
double portableLog(double x);
/// base^exponent for base > 0.
double portablePow(double base, double exponent);

} // namespace greta::synth
