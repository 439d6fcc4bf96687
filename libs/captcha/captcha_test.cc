#include "libs/captcha/captcha.h"

#include <zlib.h>

#include <cstring>
#include <random>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace dvc::captcha {
namespace {

UniformFn Seeded(uint32_t seed) {
  auto rng = std::make_shared<std::mt19937>(seed);
  return [rng](uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(*rng); };
}

uint32_t U32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) |
         uint32_t{static_cast<uint8_t>(s[at + 3])};
}

struct Decoded {
  bool ok = false;
  std::string error;
  uint32_t width = 0, height = 0;
  int depth = 0, color_type = 0;
  std::vector<std::string> chunk_types;
  std::vector<uint8_t> raw;  // inflated scanlines (with filter bytes)
  std::vector<uint8_t> pixels;
};

// Strict little PNG reader: checks the signature, every chunk CRC, chunk order, and inflates.
Decoded Decode(const std::string& png) {
  Decoded d;
  if (png.size() < 8 || png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) {
    d.error = "signature";
    return d;
  }
  std::string idat;
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    uint32_t len = U32(png, pos);
    if (pos + 12 + len > png.size()) {
      d.error = "truncated chunk";
      return d;
    }
    std::string type = png.substr(pos + 4, 4);
    std::string data = png.substr(pos + 8, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(png.data() + pos + 4), len + 4);
    if (crc != U32(png, pos + 8 + len)) {
      d.error = "crc of " + type;
      return d;
    }
    d.chunk_types.push_back(type);
    if (type == "IHDR") {
      d.width = U32(data, 0);
      d.height = U32(data, 4);
      d.depth = static_cast<uint8_t>(data[8]);
      d.color_type = static_cast<uint8_t>(data[9]);
    } else if (type == "IDAT") {
      idat += data;
    }
    pos += 12 + len;
  }
  if (pos != png.size()) {
    d.error = "trailing bytes";
    return d;
  }
  uLongf expected = d.height * (d.width + 1);
  d.raw.resize(expected + 16);
  uLongf got = d.raw.size();
  if (uncompress(d.raw.data(), &got, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
      Z_OK) {
    d.error = "inflate";
    return d;
  }
  d.raw.resize(got);
  if (got == expected) {
    for (uint32_t y = 0; y < d.height; ++y) {
      const uint8_t* row = &d.raw[y * (d.width + 1)];
      if (row[0] != 0) {
        d.error = "filter byte";
        return d;
      }
      d.pixels.insert(d.pixels.end(), row + 1, row + 1 + d.width);
    }
  }
  d.ok = true;
  return d;
}

TEST(CaptchaTest, PngIsWellFormed) {
  Captcha c = Generate(Seeded(1));
  ASSERT_GE(c.png.size(), 8u);
  EXPECT_EQ(c.png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR is the first chunk, 13 bytes long.
  EXPECT_EQ(U32(c.png, 8), 13u);
  EXPECT_EQ(c.png.substr(12, 4), "IHDR");
  Decoded d = Decode(c.png);
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.width, 160u);
  EXPECT_EQ(d.height, 50u);
  EXPECT_EQ(d.depth, 8);
  EXPECT_EQ(d.color_type, 0);  // grayscale
  EXPECT_EQ(d.chunk_types, (std::vector<std::string>{"IHDR", "IDAT", "IEND"}));
  EXPECT_EQ(d.raw.size(), 50u * 161u);
  EXPECT_EQ(d.pixels.size(), 160u * 50u);
  EXPECT_LT(c.png.size(), 16000u);
}

TEST(CaptchaTest, CustomSize) {
  Options o;
  o.width = 200;
  o.height = 70;
  Decoded d = Decode(Generate(Seeded(2), o).png);
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.width, 200u);
  EXPECT_EQ(d.height, 70u);
  EXPECT_EQ(d.raw.size(), 70u * 201u);
}

TEST(CaptchaTest, AnswersUseTheAlphabetAndLength) {
  UniformFn u = Seeded(3);
  std::set<char> seen;
  std::set<size_t> lengths;
  for (int i = 0; i < 300; ++i) {
    std::string a = Generate(u).answer;
    lengths.insert(a.size());
    for (char ch : a) {
      ASSERT_NE(std::strchr(kAlphabet, ch), nullptr) << a;
      seen.insert(ch);
    }
  }
  EXPECT_EQ(lengths, (std::set<size_t>{5, 6}));
  EXPECT_EQ(seen.size(), std::strlen(kAlphabet));  // every character is reachable
  for (char bad : std::string("0O1IlQ")) EXPECT_EQ(seen.count(bad), 0u) << bad;
}

TEST(CaptchaTest, DifferentCallsGiveDifferentCaptchas) {
  UniformFn u = Seeded(4);
  std::set<std::string> answers, images;
  for (int i = 0; i < 50; ++i) {
    Captcha c = Generate(u);
    answers.insert(c.answer);
    images.insert(c.png);
  }
  EXPECT_GE(answers.size(), 49u);
  EXPECT_EQ(images.size(), 50u);
}

TEST(CaptchaTest, DeterministicForTheSameRandomness) {
  Captcha a = Generate(Seeded(5)), b = Generate(Seeded(5));
  EXPECT_EQ(a.answer, b.answer);
  EXPECT_EQ(a.png, b.png);
}

// Fraction of clearly dark pixels in the middle band where glyphs are drawn.
double DarkFraction(const Decoded& d) {
  int dark = 0, total = 0;
  for (uint32_t y = 5; y + 5 < d.height; ++y) {
    for (uint32_t x = 8; x + 8 < d.width; ++x) {
      ++total;
      if (d.pixels[y * d.width + x] < 100) ++dark;
    }
  }
  return static_cast<double>(dark) / total;
}

TEST(CaptchaTest, EveryGlyphLeavesInk) {
  Decoded empty = Decode(Render("", Seeded(6)));
  ASSERT_TRUE(empty.ok);
  double noise_only = DarkFraction(empty);
  for (const char* p = kAlphabet; *p; ++p) {
    Decoded d = Decode(Render(std::string(5, *p), Seeded(6)));
    ASSERT_TRUE(d.ok) << d.error;
    EXPECT_GT(DarkFraction(d), noise_only + 0.05) << *p;
  }
  // Characters outside the alphabet draw nothing.
  Decoded unknown = Decode(Render("0O1I@", Seeded(6)));
  EXPECT_EQ(unknown.pixels, empty.pixels);
}

TEST(CaptchaTest, InkIsNotTooDenseForHumans) {
  Decoded d = Decode(Generate(Seeded(7)).png);
  ASSERT_TRUE(d.ok);
  double f = DarkFraction(d);
  EXPECT_GT(f, 0.08);
  EXPECT_LT(f, 0.45);
}

TEST(CaptchaTest, MisbehavingRandomSourceStaysInAlphabet) {
  // A source returning out-of-range values must not index outside the alphabet.
  Captcha c = Generate([](uint32_t n) { return n + 7; });
  EXPECT_GE(c.answer.size(), 5u);
  EXPECT_LE(c.answer.size(), 6u);
  for (char ch : c.answer) EXPECT_NE(std::strchr(kAlphabet, ch), nullptr);
  EXPECT_TRUE(Decode(c.png).ok);
  Captcha zero = Generate([](uint32_t) { return 0u; });
  EXPECT_EQ(zero.answer, "AAAAA");
}

TEST(CaptchaTest, EncodeRejectsBadSizes) {
  EXPECT_EQ(EncodeGrayPng(0, 10, {}), "");
  EXPECT_EQ(EncodeGrayPng(2, 2, {1, 2, 3}), "");
  Decoded d = Decode(EncodeGrayPng(2, 2, {0, 64, 128, 255}));
  ASSERT_TRUE(d.ok) << d.error;
  EXPECT_EQ(d.pixels, (std::vector<uint8_t>{0, 64, 128, 255}));
}

TEST(CaptchaTest, AnswerMatches) {
  EXPECT_TRUE(AnswerMatches("K7RW3P", "K7RW3P"));
  EXPECT_TRUE(AnswerMatches("K7RW3P", "k7rw3p"));
  EXPECT_TRUE(AnswerMatches("K7RW3P", "  k7rw3p\t\n"));
  EXPECT_TRUE(AnswerMatches("K7RW3P", "K7R W3P"));
  EXPECT_FALSE(AnswerMatches("K7RW3P", "K7RW3"));
  EXPECT_FALSE(AnswerMatches("K7RW3P", "K7RW3PP"));
  EXPECT_FALSE(AnswerMatches("K7RW3P", "K7RW3Q"));
  EXPECT_FALSE(AnswerMatches("K7RW3P", "L7RW3P"));
  EXPECT_FALSE(AnswerMatches("K7RW3P", ""));
  EXPECT_FALSE(AnswerMatches("", ""));
  EXPECT_FALSE(AnswerMatches("   ", "   "));
  EXPECT_FALSE(AnswerMatches("K7RW3P", std::string("K7RW3P\0", 7)));
}

}  // namespace
}  // namespace dvc::captcha
