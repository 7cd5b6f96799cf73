// The two-stream schedule of a plan's launches: which run beside the others, and what each waits
// for. Checked on the prefill shape it exists for (decodes into rotating scratch buffers, each
// feeding a product) and against a brute-force oracle on random plans: every dependency between
// the streams must be covered by a wait, since a missing one is a race the GPU would show only
// sometimes.
#include "runtime/hip/stream_schedule.h"

#include <gtest/gtest.h>

#include <random>

namespace greta::hip {
namespace {

// Buffer ids of the plan below.
constexpr size_t kInput = 0, kScratch0 = 1, kScratch1 = 2, kScratch2 = 3, kOut = 4;

TEST(StreamSchedule, DecodesRunBesideTheProductBeforeThem) {
  // d0 -> s0, p0(in, s0) -> out, d1 -> s1, p1(out, s1) -> in, d2 -> s2, p2(in, s2) -> out,
  // d3 -> s0 (overwrites what p0 read), p3(out, s0) -> in.
  const std::vector<LaunchAccess> plan = {
      {{}, {kScratch0}},          {{kInput, kScratch0}, {kOut}}, {{}, {kScratch1}},
      {{kOut, kScratch1}, {kInput}}, {{}, {kScratch2}},          {{kInput, kScratch2}, {kOut}},
      {{}, {kScratch0}},          {{kOut, kScratch0}, {kInput}},
  };
  const std::vector<StreamStep> steps = scheduleTwoStreams(plan);
  ASSERT_EQ(steps.size(), plan.size());
  for (size_t i = 0; i < plan.size(); ++i)
    EXPECT_EQ(steps[i].side, i % 2 == 0) << "launch " << i;
  // Each product waits for its own decode, nothing else.
  for (size_t product : {1, 3, 5, 7})
    EXPECT_EQ(steps[product].waitFor, product - 1) << "product " << product;
  // The first three decodes wait for nothing; the fourth for the product that read s0 (p0),
  // not for p1 or p2, which it runs beside.
  for (size_t decode : {0, 2, 4})
    EXPECT_FALSE(steps[decode].waitFor) << "decode " << decode;
  EXPECT_EQ(steps[6].waitFor, 1u);
  EXPECT_TRUE(steps[1].signals);
  EXPECT_FALSE(steps[3].signals);
  for (size_t decode : {0, 2, 4, 6})
    EXPECT_TRUE(steps[decode].signals) << "decode " << decode;
}

TEST(StreamSchedule, LaunchesThatReadBuffersStayOnTheMainStream) {
  const std::vector<LaunchAccess> plan = {{{kInput}, {kOut}}, {{kOut}, {kOut}}, {{}, {}}};
  for (const StreamStep &step : scheduleTwoStreams(plan)) {
    EXPECT_FALSE(step.side);
    EXPECT_FALSE(step.waitFor);
    EXPECT_FALSE(step.signals);
  }
}

/// Whether launch `later` must follow `earlier`: they touch a buffer and one of them writes it.
bool conflicts(const LaunchAccess &earlier, const LaunchAccess &later) {
  auto touches = [](const std::vector<size_t> &a, const std::vector<size_t> &b) {
    for (size_t x : a)
      for (size_t y : b)
        if (x == y)
          return true;
    return false;
  };
  return touches(earlier.writes, later.reads) || touches(earlier.writes, later.writes) ||
         touches(earlier.reads, later.writes);
}

TEST(StreamSchedule, EveryCrossStreamConflictIsOrderedOnRandomPlans) {
  std::mt19937 random(20261129);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t launches = 1 + random() % 24, buffers = 1 + random() % 6;
    std::vector<LaunchAccess> plan(launches);
    for (LaunchAccess &access : plan) {
      const bool weightsOnly = random() % 3 == 0;
      for (size_t b = 0; b < buffers; ++b) {
        if (!weightsOnly && random() % 3 == 0)
          access.reads.push_back(b);
        if (random() % 4 == 0)
          access.writes.push_back(b);
      }
    }
    const std::vector<StreamStep> steps = scheduleTwoStreams(plan);
    // done[i][j]: launch j has finished when launch i starts (stream order, plus the event
    // chain: a wait for w covers w and everything before it on w's stream, and what w itself
    // followed).
    std::vector<std::vector<bool>> done(launches, std::vector<bool>(launches, false));
    std::vector<std::optional<size_t>> previousOnStream(launches);
    std::optional<size_t> lastOn[2];
    for (size_t i = 0; i < launches; ++i) {
      const int stream = steps[i].side ? 1 : 0;
      auto inherit = [&](size_t j) {
        done[i][j] = true;
        for (size_t k = 0; k < j; ++k)
          if (done[j][k])
            done[i][k] = true;
      };
      if (lastOn[stream])
        inherit(*lastOn[stream]); // the same stream: after its previous launch
      if (steps[i].waitFor) {
        ASSERT_LT(*steps[i].waitFor, i);
        ASSERT_NE(steps[*steps[i].waitFor].side, steps[i].side) << "waits only across streams";
        ASSERT_TRUE(steps[*steps[i].waitFor].signals) << "a waited-for launch signals";
        inherit(*steps[i].waitFor);
      }
      lastOn[stream] = i;
      for (size_t j = 0; j < i; ++j) {
        if (conflicts(plan[j], plan[i])) {
          ASSERT_TRUE(done[i][j]) << "trial " << trial << ": launch " << i
                                  << " may overlap launch " << j << ", which it conflicts with";
        }
      }
    }
  }
}

} // namespace
} // namespace greta::hip
