// Without libFuzzer (the default gcc build), each fuzz target becomes a test
// that replays its seed corpus plus deterministic mutations of it, so the
// targets stay compiled and their invariants checked on every ./scripts/test.
// `scripts/fuzz` builds the same targets with clang's libFuzzer to explore.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    for (const auto& entry : std::filesystem::directory_iterator(argv[i])) {
      std::ifstream in(entry.path(), std::ios::binary);
      seeds.emplace_back(std::istreambuf_iterator<char>(in),
                         std::istreambuf_iterator<char>());
    }
  }
  if (seeds.empty()) seeds.emplace_back();
  std::mt19937 rng(12345);
  size_t runs = 0;
  for (const std::string& seed : seeds) {
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(seed.data()),
                           seed.size());
    ++runs;
    for (int m = 0; m < 2000; ++m) {
      std::string input = seed;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t pos = input.empty() ? 0 : rng() % input.size();
        switch (rng() % 4) {
          case 0:
            if (!input.empty()) input[pos] = static_cast<char>(rng());
            break;
          case 1:
            input.insert(pos, 1, "{}[]\":,.-+e0123456789 \\"[rng() % 24]);
            break;
          case 2:
            if (!input.empty()) input.erase(pos, 1 + rng() % 3);
            break;
          default:
            input = input.substr(0, pos);
        }
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                             input.size());
      ++runs;
    }
  }
  std::printf("%zu inputs replayed, no invariant broken\n", runs);
  return 0;
}
