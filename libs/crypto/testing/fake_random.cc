#include "libs/crypto/testing/fake_random.h"

#include <cstdio>
#include <cstdlib>

namespace dvc::crypto::testing {

uint64_t FakeRandom::Next() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string FakeRandom::Bytes(size_t n) {
  std::string out = bytes_.substr(0, n);
  bytes_.erase(0, out.size());
  while (out.size() < n) {
    uint64_t v = Next();
    for (int i = 0; i < 8 && out.size() < n; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
  }
  return out;
}

uint64_t FakeRandom::Uniform(uint64_t n) {
  if (!uniform_.empty()) {
    uint64_t v = uniform_.front();
    uniform_.pop_front();
    if (v >= n) {
      std::fprintf(stderr, "FakeRandom: scripted Uniform value %llu is not < %llu\n",
                   static_cast<unsigned long long>(v), static_cast<unsigned long long>(n));
      std::abort();
    }
    return v;
  }
  return UniformFromBytes(*this, n);
}

void FakeRandom::PushDigits(absl::string_view digits) {
  for (char c : digits) {
    if (c < '0' || c > '9') {
      std::fputs("FakeRandom::PushDigits: not a digit\n", stderr);
      std::abort();
    }
    uniform_.push_back(static_cast<uint64_t>(c - '0'));
  }
}

}  // namespace dvc::crypto::testing
