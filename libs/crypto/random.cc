#include "libs/crypto/random.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "libs/crypto/encoding.h"

namespace dvc::crypto {

std::string OsRandom::Bytes(size_t n) {
  std::string out(n, '\0');
  size_t done = 0;
  while (done < n) {
    // RAND_bytes takes an int length: fill in chunks.
    size_t chunk = std::min<size_t>(n - done, 1u << 30);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + done),
                   static_cast<int>(chunk)) != 1) {
      std::fputs("FATAL: OpenSSL RAND_bytes failed; aborting\n", stderr);
      std::abort();
    }
    done += chunk;
  }
  return out;
}

uint64_t OsRandom::Uniform(uint64_t n) { return UniformFromBytes(*this, n); }

uint64_t UniformFromBytes(Random& r, uint64_t n) {
  if (n <= 1) return 0;
  // Values below `threshold` (= 2^64 mod n) would make the low residues more likely.
  const uint64_t threshold = (0 - n) % n;
  while (true) {
    std::string b = r.Bytes(8);
    uint64_t v = 0;
    for (unsigned char c : b) v = (v << 8) | c;
    if (v >= threshold) return v % n;
  }
}

std::string RandomDigits(Random& r, int n) {
  std::string out;
  if (n <= 0) return out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>('0' + r.Uniform(10)));
  return out;
}

std::string RandomToken(Random& r, size_t bytes) { return Base64UrlEncode(r.Bytes(bytes)); }

std::string NewUuidV4(Random& r) {
  std::string b = r.Bytes(16);
  b[6] = static_cast<char>((static_cast<unsigned char>(b[6]) & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<char>((static_cast<unsigned char>(b[8]) & 0x3F) | 0x80);  // RFC variant
  std::string hex = HexEncode(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

}  // namespace dvc::crypto
