// Writes sample captchas for a human to look at: /tmp/captcha_sample.png by default, or the path
// given as the first argument; with a count N as the second argument, writes N files
// (<path>.<i>.png). Prints each answer on stdout.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>

#include "libs/captcha/captcha.h"

int main(int argc, char** argv) {
  std::string path = argc > 1 ? argv[1] : "/tmp/captcha_sample.png";
  int count = argc > 2 ? std::atoi(argv[2]) : 1;
  std::random_device rd;
  std::mt19937 rng(rd());
  auto uniform = [&](uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng); };
  for (int i = 0; i < count; ++i) {
    dvc::captcha::Captcha c = dvc::captcha::Generate(uniform);
    std::string out = count == 1 ? path : path + "." + std::to_string(i) + ".png";
    std::ofstream f(out, std::ios::binary);
    f.write(c.png.data(), static_cast<std::streamsize>(c.png.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", out.c_str());
      return 1;
    }
    std::printf("%s %s (%zu bytes)\n", out.c_str(), c.answer.c_str(), c.png.size());
  }
  return 0;
}
