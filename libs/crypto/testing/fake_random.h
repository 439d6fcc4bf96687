// Deterministic Random for tests. Output comes from a seeded SplitMix64 stream, so the same seed
// gives the same bytes on every run. Tests can also script exact values: PushBytes() queues
// data returned by Bytes() (a request longer than the queue is topped up from the stream) and
// PushUniform() queues results for Uniform() (each must be < the n it is used with). Since
// RandomDigits() draws Uniform(10) once per digit, `PushDigits("123456")` fixes the next OTP.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

#include "absl/strings/string_view.h"
#include "libs/crypto/random.h"

namespace dvc::crypto::testing {

class FakeRandom final : public Random {
 public:
  explicit FakeRandom(uint64_t seed = 42) : state_(seed) {}

  std::string Bytes(size_t n) override;
  uint64_t Uniform(uint64_t n) override;

  void PushBytes(absl::string_view bytes) { bytes_.append(bytes.data(), bytes.size()); }
  void PushUniform(uint64_t v) { uniform_.push_back(v); }
  // Queues one Uniform(10) result per character of `digits` (which must be '0'..'9').
  void PushDigits(absl::string_view digits);

 private:
  uint64_t Next();

  uint64_t state_;
  std::string bytes_;
  std::deque<uint64_t> uniform_;
};

}  // namespace dvc::crypto::testing
