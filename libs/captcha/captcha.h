// Server-generated image captcha: a short code from an unambiguous alphabet drawn into a small
// grayscale PNG with rotated, jittered glyphs, a wave distortion, noise dots and lines.
//
//   dvc::captcha::Captcha c = dvc::captcha::Generate(
//       [&](uint32_t n) { return rng.Uniform(n); });   // uniform in [0, n)
//   store(c.answer);  serve(c.png, "image/png");
//   …
//   if (!dvc::captcha::AnswerMatches(stored_answer, user_input)) …
//
// Randomness: the answer's characters are drawn from `uniform` (pass a CSPRNG in production).
// The drawing noise comes from a small local generator seeded from `uniform` (two calls), so a
// CSPRNG is not called thousands of times per image.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace dvc::captcha {

// Upper-case letters and digits without the look-alikes 0/O/Q and 1/I (only capitals are drawn,
// so a lower-case "l" never appears; answers are matched case-insensitively).
inline constexpr char kAlphabet[] = "ABCDEFGHJKLMNPRSTUVWXYZ23456789";

struct Captcha {
  std::string answer;  // e.g. "K7RW3P"
  std::string png;     // image/png bytes
};

struct Options {
  int width = 160;
  int height = 50;
  int min_length = 5;
  int max_length = 6;
};

// Returns a uniformly distributed integer in [0, n) for n >= 1.
using UniformFn = std::function<uint32_t(uint32_t)>;

Captcha Generate(const UniformFn& uniform, const Options& options = {});

// Draws `text` (characters of kAlphabet; others are skipped) as a PNG. Generate() uses it; exposed
// for tests and tools.
std::string Render(absl::string_view text, const UniformFn& uniform, const Options& options = {});

// Encodes an 8-bit grayscale image (row-major, width*height bytes) as PNG. Empty on bad sizes.
std::string EncodeGrayPng(int width, int height, const std::vector<uint8_t>& pixels);

// True when `given` equals `expected` ignoring ASCII case and any whitespace. After
// normalisation, strings of equal length are compared in constant time. An empty expected
// answer never matches.
bool AnswerMatches(absl::string_view expected, absl::string_view given);

}  // namespace dvc::captcha
