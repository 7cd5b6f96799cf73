//===- route_selection.h - Pick a route alternative a bundle carries -------===//
//
// A bundle's phase may carry alternatives keyed "OP=ROUTE" (docs/bundle-format.md): the same
// computation with every OP launch on ROUTE. `--force-route lm_head=gemv` picks, per phase, the
// phase's own plan where it already runs lm_head on gemv, else its "lm_head=gemv" alternative;
// a route the bundle does not carry is an error naming the routes it has.
//
// Thread-safety: pure functions.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/bundle/manifest.h"

#include <memory>
#include <string>
#include <vector>

namespace greta::engine {

/// The plan `phase` runs under `forceRoutes` ("OP=ROUTE" each): null when the manifest's own
/// plan already satisfies every choice, else a copy of the phase with the alternative's launches
/// and audits. Throws greta::Error (naming `bundleLabel`, the phase, the routes the bundle
/// carries for OP, and how to get the route) for a choice it cannot satisfy or that is not
/// OP=ROUTE, and when two choices need different alternatives.
std::unique_ptr<bundle::PhasePlan> selectPlan(const bundle::Manifest &manifest,
                                              bundle::PhaseKind phase,
                                              const std::vector<std::string> &forceRoutes,
                                              const std::string &bundleLabel);

} // namespace greta::engine
