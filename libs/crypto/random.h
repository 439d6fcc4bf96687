// Randomness as an injected dependency. Production code takes a `Random&` (OsRandom, the OpenSSL
// CSPRNG); tests pass dvc::crypto::testing::FakeRandom for reproducible output. Helpers build OTP
// digits, opaque tokens and UUIDv4 values on top of any Random.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dvc::crypto {

class Random {
 public:
  virtual ~Random() = default;
  // `n` random bytes.
  virtual std::string Bytes(size_t n) = 0;
  // A uniformly distributed integer in [0, n) without modulo bias. Requires n > 0 (returns 0
  // for n == 0).
  virtual uint64_t Uniform(uint64_t n) = 0;
};

// The OpenSSL DRBG (RAND_bytes). If the DRBG ever fails the process aborts: returning anything
// predictable would be worse than stopping.
class OsRandom final : public Random {
 public:
  std::string Bytes(size_t n) override;
  uint64_t Uniform(uint64_t n) override;
};

// Unbiased reduction used by Random implementations: draws 64-bit words from `r.Bytes(8)` and
// rejects those below 2^64 mod n.
uint64_t UniformFromBytes(Random& r, uint64_t n);

// `n` decimal digits, each from r.Uniform(10) (in order), e.g. a 6-digit OTP "048213".
std::string RandomDigits(Random& r, int n);
// `bytes` random bytes, base64url without padding (e.g. 32 bytes → 43 characters).
std::string RandomToken(Random& r, size_t bytes);
// RFC 9562 version-4 UUID, lower-case "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx".
std::string NewUuidV4(Random& r);

}  // namespace dvc::crypto
