//===- route_selection.cpp - Pick a route alternative a bundle carries -----===//
#include "runtime/engine/route_selection.h"

#include "runtime/support/error.h"

#include <fmt/ranges.h>

namespace greta::engine {

std::unique_ptr<bundle::PhasePlan> selectPlan(const bundle::Manifest &manifest,
                                              bundle::PhaseKind phase,
                                              const std::vector<std::string> &forceRoutes,
                                              const std::string &bundleLabel) {
  const bundle::PhasePlan &plan = manifest.phase(phase);
  const std::string *chosen = nullptr; // the alternative's key
  for (const std::string &choice : forceRoutes) {
    auto parsed = bundle::parseRouteChoice(choice);
    if (!parsed)
      fail("--force-route '{}': expected OP=ROUTE, e.g. lm_head=gemv", choice);
    const auto &[op, route] = *parsed;
    const std::set<std::string> own = bundle::routesOf(manifest, plan.launches, op);
    if (own.empty())
      fail("{}: --force-route {}: phase {} has no {} launch", bundleLabel, choice, nameOf(phase),
           op);
    if (own == std::set<std::string>{route})
      continue; // the phase's own plan already takes this route
    auto alternative = plan.alternatives.find(choice);
    if (alternative == plan.alternatives.end()) {
      std::vector<std::string> carried(own.begin(), own.end());
      for (auto &entry : carried)
        entry += " (the phase's own plan)";
      for (const auto &[key, ignored] : plan.alternatives)
        if (auto other = bundle::parseRouteChoice(key); other && other->first == op)
          carried.push_back(other->second + " (alternative '" + key + "')");
      fail("{}: --force-route {}: phase {} runs {} on route {}, and the bundle carries no "
           "alternative '{}'; it has: {}. Recompile with greta-compile --force-route {} (or with "
           "route alternatives) to run that route",
           bundleLabel, choice, nameOf(phase), op, fmt::join(own, "/"), choice,
           fmt::join(carried, ", "), choice);
    }
    if (chosen && *chosen != choice)
      fail("{}: --force-route {} and {} need two different alternatives of phase {}; a bundle "
           "alternative changes one op's route",
           bundleLabel, *chosen, choice, nameOf(phase));
    chosen = &alternative->first;
  }
  if (!chosen)
    return nullptr;
  auto selected = std::make_unique<bundle::PhasePlan>();
  selected->seq = plan.seq;
  selected->logits = plan.logits;
  const bundle::PhaseAlternative &alternative = plan.alternatives.at(*chosen);
  selected->launches = alternative.launches;
  selected->audits = alternative.audits;
  return selected;
}

} // namespace greta::engine
