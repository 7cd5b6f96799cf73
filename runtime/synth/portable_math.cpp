#include "runtime/synth/portable_math.h"

#include "runtime/support/error.h"

#include <cmath>

namespace greta::synth {
namespace {

// ln 2 split into a high part with trailing zero bits (so k * kLn2High is exact for |k| < 2^11)
// and the remainder, for an accurate range reduction x - k ln 2.
constexpr double kLn2 = 0.693147180559945309417;
constexpr double kLn2High = 0.693147180369123816490;
constexpr double kLn2Low = 1.90821492927058770002e-10;
constexpr double kInvLn2 = 1.44269504088896340736;
constexpr double kSqrtHalf = 0.707106781186547524401;
// exp overflows above ~709.78 and underflows (to 0) below ~-745.13.
constexpr double kExpMax = 709.78;
constexpr double kExpMin = -745.2;
// After reduction |r| <= ln2/2 < 0.35: 0.35^20/20! < 1e-30, far below double precision.
constexpr int kExpTerms = 20;
// After reduction |s| <= (sqrt2-1)/(sqrt2+1) < 0.172: s^(2*18) < 1e-27.
constexpr int kLogTerms = 18;

} // namespace

double portableExp(double x) {
  if (x > kExpMax)
    return HUGE_VAL;
  if (x < kExpMin)
    return 0.0;
  const double k = std::floor(x * kInvLn2 + 0.5);
  const double r = (x - k * kLn2High) - k * kLn2Low;
  // Horner form of the Taylor series, highest term first.
  double sum = 1.0;
  for (int n = kExpTerms; n >= 1; --n)
    sum = 1.0 + sum * r / n;
  return std::ldexp(sum, static_cast<int>(k));
}

double portableLog(double x) {
  if (!(x > 0.0) || std::isinf(x))
    fail("portableLog: argument {} is not a positive finite number", x);
  int exponent = 0;
  double mantissa = std::frexp(x, &exponent); // [0.5, 1)
  if (mantissa < kSqrtHalf) {
    mantissa *= 2.0;
    exponent -= 1;
  }
  // ln m = 2 atanh(s) with s = (m - 1) / (m + 1) = 2 (s + s^3/3 + s^5/5 + ...).
  const double s = (mantissa - 1.0) / (mantissa + 1.0);
  const double s2 = s * s;
  double series = 0.0;
  for (int n = kLogTerms; n >= 0; --n)
    series = 1.0 / (2 * n + 1) + s2 * series;
  return 2.0 * s * series + exponent * kLn2;
}

double portablePow(double base, double exponent) {
  return portableExp(exponent * portableLog(base));
}

} // namespace greta::synth
