#include "libs/captcha/captcha.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "absl/strings/ascii.h"

namespace dvc::captcha {
namespace {

constexpr double kPi = 3.14159265358979323846;

// 5x7 bitmap font for kAlphabet; '#' = ink.
struct Glyph {
  char c;
  std::array<const char*, 7> rows;
};

constexpr Glyph kFont[] = {
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'D', {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
    {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
    {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
    {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
    {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
};

const Glyph* FindGlyph(char c) {
  for (const Glyph& g : kFont) {
    if (g.c == c) return &g;
  }
  return nullptr;
}

// Small fast generator (xorshift64*) for drawing noise, seeded from the injected source.
class NoiseRng {
 public:
  explicit NoiseRng(uint64_t seed) : state_(seed ? seed : 0x9E3779B97F4A7C15ull) {}
  uint32_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return static_cast<uint32_t>((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  }
  int Range(int lo, int hi) {  // inclusive
    return lo + static_cast<int>(Next() % static_cast<uint32_t>(hi - lo + 1));
  }
  double Real(double lo, double hi) { return lo + (hi - lo) * (Next() / 4294967296.0); }

 private:
  uint64_t state_;
};

uint32_t SafeUniform(const UniformFn& uniform, uint32_t n) {
  return n <= 1 ? 0 : uniform(n) % n;  // defensive against a misbehaving source
}

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), px_(static_cast<size_t>(w) * h, 255) {}
  int w() const { return w_; }
  int h() const { return h_; }
  // Blends `ink` into (x, y) with coverage `a` in [0, 1].
  void Blend(int x, int y, uint8_t ink, double a) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    uint8_t& p = px_[static_cast<size_t>(y) * w_ + x];
    p = static_cast<uint8_t>(std::lround(p * (1 - a) + ink * a));
  }
  uint8_t At(int x, int y) const { return px_[static_cast<size_t>(y) * w_ + x]; }
  std::vector<uint8_t>& pixels() { return px_; }

 private:
  int w_, h_;
  std::vector<uint8_t> px_;
};

// Draws one glyph centred at (cx, cy), scaled by `scale`, rotated by `angle` and sheared,
// anti-aliased by 2x2 supersampling (4x4 cost four times the CPU for no gain in legibility; a
// captcha is drawn on every login attempt).
void DrawGlyph(Canvas& canvas, const Glyph& g, double cx, double cy, double scale, double angle,
               double shear, uint8_t ink) {
  const double c = std::cos(angle), s = std::sin(angle);
  const int radius = static_cast<int>(std::ceil(scale * 4.6)) + 2;
  constexpr int kSub = 2;
  for (int y = static_cast<int>(cy) - radius; y <= static_cast<int>(cy) + radius; ++y) {
    for (int x = static_cast<int>(cx) - radius; x <= static_cast<int>(cx) + radius; ++x) {
      int hits = 0;
      for (int sy = 0; sy < kSub; ++sy) {
        for (int sx = 0; sx < kSub; ++sx) {
          double dx = x + (sx + 0.5) / kSub - cx;
          double dy = y + (sy + 0.5) / kSub - cy;
          // Inverse rotation into glyph space, then undo the shear.
          double u = c * dx + s * dy;
          double v = -s * dx + c * dy;
          u -= shear * v;
          double fc = u / scale + 2.5, fr = v / scale + 3.5;
          if (fc < 0 || fr < 0) continue;
          int col = static_cast<int>(fc), row = static_cast<int>(fr);
          if (col < 5 && row < 7 && g.rows[row][col] == '#') ++hits;
        }
      }
      if (hits > 0) canvas.Blend(x, y, ink, static_cast<double>(hits) / (kSub * kSub));
    }
  }
}

void DrawLine(Canvas& canvas, double x0, double y0, double x1, double y1, double bend,
              double thickness, uint8_t ink) {
  // A gently curved stroke: a quadratic curve through a bent midpoint, stamped as discs.
  double mx = (x0 + x1) / 2, my = (y0 + y1) / 2 + bend;
  int steps = static_cast<int>(std::hypot(x1 - x0, y1 - y0) * 2) + 1;
  double r = thickness / 2;
  for (int i = 0; i <= steps; ++i) {
    double t = static_cast<double>(i) / steps;
    double x = (1 - t) * (1 - t) * x0 + 2 * (1 - t) * t * mx + t * t * x1;
    double y = (1 - t) * (1 - t) * y0 + 2 * (1 - t) * t * my + t * t * y1;
    for (int yy = static_cast<int>(std::floor(y - r)); yy <= static_cast<int>(std::ceil(y + r));
         ++yy) {
      for (int xx = static_cast<int>(std::floor(x - r)); xx <= static_cast<int>(std::ceil(x + r));
           ++xx) {
        double d = std::hypot(xx + 0.5 - x, yy + 0.5 - y);
        if (d <= r) canvas.Blend(xx, yy, ink, 0.35);
      }
    }
  }
}

void PutU32(std::string* out, uint32_t v) {
  out->push_back(static_cast<char>(v >> 24));
  out->push_back(static_cast<char>(v >> 16));
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void PutChunk(std::string* out, const char type[4], const std::string& data) {
  PutU32(out, static_cast<uint32_t>(data.size()));
  std::string body(type, 4);
  body += data;
  out->append(body);
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(body.data()), static_cast<uInt>(body.size()));
  PutU32(out, static_cast<uint32_t>(crc));
}

}  // namespace

std::string EncodeGrayPng(int width, int height, const std::vector<uint8_t>& pixels) {
  if (width <= 0 || height <= 0 || width > 10000 || height > 10000 ||
      pixels.size() != static_cast<size_t>(width) * height) {
    return "";
  }
  // Raw scanlines, each prefixed with filter type 0 (None).
  std::string raw;
  raw.reserve(static_cast<size_t>(height) * (width + 1));
  for (int y = 0; y < height; ++y) {
    raw.push_back('\0');
    raw.append(reinterpret_cast<const char*>(&pixels[static_cast<size_t>(y) * width]), width);
  }
  uLongf zlen = compressBound(static_cast<uLong>(raw.size()));
  std::string idat(zlen, '\0');
  if (compress2(reinterpret_cast<Bytef*>(idat.data()), &zlen,
                reinterpret_cast<const Bytef*>(raw.data()), static_cast<uLong>(raw.size()),
                Z_DEFAULT_COMPRESSION) != Z_OK) {
    return "";
  }
  idat.resize(zlen);

  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string ihdr;
  PutU32(&ihdr, static_cast<uint32_t>(width));
  PutU32(&ihdr, static_cast<uint32_t>(height));
  ihdr +=
      std::string("\x08\x00\x00\x00\x00", 5);  // depth 8, grayscale, deflate, no filter/interlace
  PutChunk(&png, "IHDR", ihdr);
  PutChunk(&png, "IDAT", idat);
  PutChunk(&png, "IEND", "");
  return png;
}

std::string Render(absl::string_view text, const UniformFn& uniform, const Options& options) {
  uint64_t seed = (static_cast<uint64_t>(SafeUniform(uniform, 0xFFFFFFFFu)) << 32) |
                  SafeUniform(uniform, 0xFFFFFFFFu);
  NoiseRng rng(seed);
  Canvas canvas(options.width, options.height);
  const int w = options.width, h = options.height;

  // Background: light, slightly uneven paper.
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) canvas.Blend(x, y, static_cast<uint8_t>(rng.Range(226, 255)), 1);
  }
  // Faint background strokes under the text.
  for (int i = 0; i < 3; ++i) {
    DrawLine(canvas, rng.Range(-10, w / 2), rng.Range(0, h), rng.Range(w / 2, w + 10),
             rng.Range(0, h), rng.Range(-20, 20), 1.5, static_cast<uint8_t>(rng.Range(150, 190)));
  }

  std::vector<const Glyph*> glyphs;
  for (char ch : text) {
    if (const Glyph* g = FindGlyph(ch)) glyphs.push_back(g);
  }
  if (!glyphs.empty()) {
    const double margin = 8;
    const double slot = (w - 2 * margin) / glyphs.size();
    // Glyph height from the image height; width limited by the slot.
    const double max_scale = std::min((h - 10) / 7.0, slot / 5.6);
    for (size_t i = 0; i < glyphs.size(); ++i) {
      double scale = max_scale * rng.Real(0.82, 1.0);
      double cx = margin + slot * (i + 0.5) + rng.Real(-slot * 0.12, slot * 0.12);
      double spare_y = std::max(0.0, (h - 7 * scale) / 2 - 3);
      double cy = h / 2.0 + rng.Real(-spare_y, spare_y);
      double angle = rng.Real(-0.22, 0.22);
      double shear = rng.Real(-0.15, 0.15);
      DrawGlyph(canvas, *glyphs[i], cx, cy, scale, angle, shear,
                static_cast<uint8_t>(rng.Range(10, 70)));
    }
  }

  // Wave distortion: shift each row horizontally along a sine.
  {
    double amplitude = rng.Real(1.0, 2.0), period = rng.Real(40, 70), phase = rng.Real(0, 2 * kPi);
    std::vector<uint8_t> warped(canvas.pixels().size());
    for (int y = 0; y < h; ++y) {
      int shift = static_cast<int>(std::lround(amplitude * std::sin(2 * kPi * y / period + phase)));
      for (int x = 0; x < w; ++x) {
        int sx = std::clamp(x - shift, 0, w - 1);
        warped[static_cast<size_t>(y) * w + x] = canvas.At(sx, y);
      }
    }
    canvas.pixels() = std::move(warped);
  }

  // Strokes across the text and noise dots.
  int lines = rng.Range(2, 3);
  for (int i = 0; i < lines; ++i) {
    DrawLine(canvas, rng.Range(-5, w / 4), rng.Range(h / 5, h - h / 5), rng.Range(3 * w / 4, w + 5),
             rng.Range(h / 5, h - h / 5), rng.Range(-25, 25), rng.Real(1.2, 1.8),
             static_cast<uint8_t>(rng.Range(70, 120)));
  }
  int dots = w * h / 35;
  for (int i = 0; i < dots; ++i) {
    int x = rng.Range(0, w - 1), y = rng.Range(0, h - 1);
    uint8_t ink = static_cast<uint8_t>(rng.Range(0, 160));
    canvas.Blend(x, y, ink, 0.8);
    if (rng.Range(0, 3) == 0) canvas.Blend(x + 1, y, ink, 0.6);
  }
  return EncodeGrayPng(w, h, canvas.pixels());
}

Captcha Generate(const UniformFn& uniform, const Options& options) {
  constexpr uint32_t kAlphabetSize = sizeof(kAlphabet) - 1;
  int min_len = std::max(1, options.min_length);
  int max_len = std::max(min_len, options.max_length);
  int length = min_len + static_cast<int>(SafeUniform(uniform, max_len - min_len + 1));
  Captcha captcha;
  for (int i = 0; i < length; ++i) {
    captcha.answer.push_back(kAlphabet[SafeUniform(uniform, kAlphabetSize)]);
  }
  captcha.png = Render(captcha.answer, uniform, options);
  return captcha;
}

bool AnswerMatches(absl::string_view expected, absl::string_view given) {
  auto normalise = [](absl::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
      if (!absl::ascii_isspace(static_cast<unsigned char>(c))) {
        out.push_back(absl::ascii_toupper(static_cast<unsigned char>(c)));
      }
    }
    return out;
  };
  std::string e = normalise(expected), g = normalise(given);
  if (e.empty() || e.size() != g.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < e.size(); ++i) {
    diff = diff | static_cast<unsigned char>(e[i] ^ g[i]);
  }
  return diff == 0;
}

}  // namespace dvc::captcha
