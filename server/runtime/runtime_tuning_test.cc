#include "runtime/runtime_tuning.h"

#include <malloc.h>

#include <vector>

#include "gtest/gtest.h"

namespace loan_gateway {
namespace {

// What glibc could give back from the top of the main heap right now.
size_t ReleasableTop() { return mallinfo2().keepcost; }

// Frees `count` blocks just below the mmap threshold (so they come from the
// heap, not mmap), last first, leaving their space free at the heap's top.
void AllocateAndFree(int count) {
  std::vector<void*> blocks;
  blocks.reserve(count);  // Nothing else allocated between the blocks.
  for (int i = 0; i < count; ++i) blocks.push_back(malloc(size_t{100} << 10));
  for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) free(*it);
}

TEST(TuneRuntimeTest, KeepsTheFreedTopOfTheHeapUpToTheThreshold) {
  ASSERT_TRUE(TuneRuntime());
  // 2 MiB freed at the top: above glibc's default 128 KiB, below ours.
  AllocateAndFree(20);
  EXPECT_GE(ReleasableTop(), size_t{3} << 19)  // 1.5 MiB.
      << "glibc gave the freed top back to the kernel";
  EXPECT_LT(ReleasableTop(), kHeapTrimThresholdBytes + (size_t{1} << 20));
}

TEST(TuneRuntimeTest, GivesBackWhatPassesTheThreshold) {
  ASSERT_TRUE(TuneRuntime());
  AllocateAndFree(80);  // 8 MiB: twice the threshold.
  EXPECT_LT(ReleasableTop(), kHeapTrimThresholdBytes + (size_t{1} << 20));
}

}  // namespace
}  // namespace loan_gateway
